#include "live/client_message.hpp"

#include <nlohmann/json.hpp>
#include <utility>

#include "live/websocket_protocol.hpp"

namespace depesche::live {

std::expected<ClientMessage, MessageFault> parse_client_message(std::string_view text) {
  auto closing = [](std::string reason) {
    return std::unexpected(MessageFault{true, "", std::move(reason)});
  };
  if (!is_utf8(text)) return closing("text must be UTF-8");
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string())
    return closing("malformed message: expected a JSON object with a type");
  ClientMessage m;
  m.type = j["type"].get<std::string>();
  if (j.contains("topic") && !j["topic"].is_string())
    return closing("malformed message: topic must be a string");
  m.topic = j.value("topic", std::string());
  if (m.type == "subscribe" || m.type == "unsubscribe") {
    if (!j.contains("topic")) return closing("malformed message: topic must be a string");
    if (m.type == "unsubscribe") return m;
    for (auto [key, out] : {std::pair{"since", &m.since}, std::pair{"epoch", &m.epoch}}) {
      if (!j.contains(key) || j[key].is_null()) continue;
      if (!j[key].is_number_unsigned())
        return closing(std::string("malformed message: ") + key + " must be a number >= 0");
      *out = j[key].get<std::uint64_t>();
    }
    return m;
  }
  if (j.contains("id")) {
    const auto& id = j["id"];
    if (!id.is_string() || id.get_ref<const std::string&>().empty() ||
        id.get_ref<const std::string&>().size() > kMaxMessageIdChars)
      return std::unexpected(
          MessageFault{false, m.topic, "id must be a string of 1 to 64 characters"});
    m.id = id.get<std::string>();
  }
  return m;
}

}  // namespace depesche::live
