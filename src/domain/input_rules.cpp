#include "domain/input_rules.hpp"

#include "text/html.hpp"

namespace depesche::domain {

std::string trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

Result<std::string> checked_text(const std::string& value, std::size_t max_chars, const char* field,
                                 bool required) {
  // Browsers send a textarea's line breaks as CR LF; stored and counted as
  // one LF each, so a text that fit the form's maxlength fits here too.
  std::string v;
  v.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\r') {
      v += value[i];
    } else if (i + 1 == value.size() || value[i + 1] != '\n') {
      v += '\n';
    }
  }
  v = trim(v);
  long len = text::utf8_length(v);
  if (len < 0)
    return fail(ErrorCode::invalid, std::string(field) + " is not valid UTF-8", field,
                reason::not_utf8);
  if (required && len == 0)
    return fail(ErrorCode::invalid, std::string(field) + " must not be empty", field,
                reason::empty);
  if (static_cast<std::size_t>(len) > max_chars)
    return fail(ErrorCode::invalid,
                std::string(field) + " is longer than " + std::to_string(max_chars) + " characters",
                field, reason::too_long);
  // Control characters have no place in a headline or caption.
  for (unsigned char c : v)
    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
      return fail(ErrorCode::invalid, std::string(field) + " contains control characters", field,
                  reason::control_characters);
  return v;
}

}  // namespace depesche::domain
