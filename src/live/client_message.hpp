#pragma once
// A reader's text message on the live connection, read into its parts
// (docs/live.md: subscribe, unsubscribe, and the types a domain service
// handles). Only the shape is checked here; whether a topic exists or a
// type has a handler is the hub's business. Kept apart from the loop so
// that the fuzz targets (tests/fuzz) run exactly this code.

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace depesche::live {

struct ClientMessage {
  std::string type;
  std::string topic;                          // empty when the message has none
  std::string id;                             // the client's id for the ack; empty when none
  std::optional<std::uint64_t> since, epoch;  // subscribe only
};

/// What is wrong with a message: either the connection is closed with
/// 1007 (not UTF-8, not a JSON object with a string type, wrongly typed
/// fields), or, for a well-formed message with a bad `id`, an `error`
/// answer goes back and the connection stays.
struct MessageFault {
  bool close = true;
  std::string topic;  // for the error answer
  std::string reason;
};

/// Ids longer than this are refused (they are echoed in every answer).
inline constexpr std::size_t kMaxMessageIdChars = 64;

std::expected<ClientMessage, MessageFault> parse_client_message(std::string_view text);

}  // namespace depesche::live
