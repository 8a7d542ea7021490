#pragma once
// Checks shared by the services that take text from editors (images:
// domain/image.hpp).

#include <cstddef>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace depesche::domain {

/// Leading and trailing whitespace removed.
std::string trim(std::string_view s);

/// The trimmed text, or invalid (naming `field`) when it is not UTF-8, empty
/// though `required`, longer than `max_chars` characters, or holds control
/// characters other than tab and line breaks.
Result<std::string> checked_text(const std::string& value, std::size_t max_chars, const char* field,
                                 bool required);

}  // namespace depesche::domain
