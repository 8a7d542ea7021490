#pragma once
// How an event travels on a Redis channel. One message per event:
//
//   "1" SP seq SP len(topic) ":" topic len(name) ":" name data
//
// (seq and the lengths in decimal, data the rest of the message, so no
// byte of any field needs escaping). The channel is the prefix followed by
// the topic; a receiver checks that the two agree, so a message can never
// claim a topic other than the channel it came on, and a topic, whatever
// its bytes, names exactly one channel (hiredis sends arguments
// length-prefixed, never as text to parse).

#include <optional>
#include <string>
#include <string_view>

#include "bus/bus.hpp"

namespace depesche::bus::redis {

/// The message body of `event`.
std::string encode_event(const Event& event);
/// The event a message body holds; nullopt when it is not one (another
/// version, a truncated or stray message): such messages are dropped.
std::optional<Event> decode_event(std::string_view message);

}  // namespace depesche::bus::redis
