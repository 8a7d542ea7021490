#include "bus/redis/redis_frame.hpp"

#include <charconv>
#include <cstdint>

namespace depesche::bus::redis {

namespace {

// Reads a decimal number up to `end` and skips the delimiter.
template <class T>
bool read_number(std::string_view& in, char end, T& out) {
  auto [p, ec] = std::from_chars(in.data(), in.data() + in.size(), out);
  if (ec != std::errc() || p == in.data() || p == in.data() + in.size() || *p != end) return false;
  in.remove_prefix(static_cast<std::size_t>(p - in.data()) + 1);
  return true;
}

bool read_field(std::string_view& in, std::string& out) {
  std::size_t len = 0;
  if (!read_number(in, ':', len) || len > in.size()) return false;
  out.assign(in.substr(0, len));
  in.remove_prefix(len);
  return true;
}

}  // namespace

std::string encode_event(const Event& e) {
  std::string out;
  out.reserve(e.topic.size() + e.name.size() + e.data.size() + 32);
  out += "1 ";
  out += std::to_string(e.seq);
  out += ' ';
  out += std::to_string(e.topic.size());
  out += ':';
  out += e.topic;
  out += std::to_string(e.name.size());
  out += ':';
  out += e.name;
  out += e.data;
  return out;
}

std::optional<Event> decode_event(std::string_view in) {
  if (!in.starts_with("1 ")) return std::nullopt;
  in.remove_prefix(2);
  Event e;
  if (!read_number(in, ' ', e.seq) || e.seq == 0) return std::nullopt;
  if (!read_field(in, e.topic) || e.topic.empty() || !read_field(in, e.name)) return std::nullopt;
  e.data.assign(in);
  return e;
}

}  // namespace depesche::bus::redis
