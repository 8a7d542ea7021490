#include "domain/paging.hpp"

#include <charconv>
#include <system_error>

namespace depesche::domain {
namespace {

// One decimal number as std::to_string writes it: digits without leading
// zeros, '-' only in front of a number other than zero, within 64 bits.
bool parse_canonical(std::string_view digits, std::int64_t& out) {
  std::string_view magnitude = digits.starts_with('-') ? digits.substr(1) : digits;
  if (magnitude.empty() || (magnitude.size() > 1 && magnitude.front() == '0')) return false;
  if (magnitude.front() < '0' || magnitude.front() > '9') return false;  // "+1", "--1"
  if (digits.front() == '-' && magnitude == "0") return false;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return ec == std::errc() && end == digits.data() + digits.size();
}

}  // namespace

std::string encode_cursor(const Cursor& c) {
  return std::to_string(c.at) + "." + std::to_string(c.id);
}

std::optional<Cursor> decode_cursor(std::string_view text) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  Cursor c;
  // Times before 1970 are negative (archives reach back that far); ids never are.
  if (!parse_canonical(text.substr(0, dot), c.at) || !parse_canonical(text.substr(dot + 1), c.id) ||
      c.id < 0)
    return std::nullopt;
  return c;
}

}  // namespace depesche::domain
