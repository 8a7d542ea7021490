#pragma once

#include <string>
#include <string_view>

namespace depesche::text {

inline constexpr std::size_t kMaxSlugLength = 80;

/// True for lower-case ASCII words joined by single hyphens, at most 80 bytes.
bool is_valid_slug(std::string_view slug);

/// Derives a slug from a headline in any edition's language: German umlauts
/// and ß, Cyrillic (transliterated) and Latin accents become ASCII; anything
/// else becomes a hyphen. Cut at a word boundary within 80 characters.
std::string slugify(std::string_view text);

}  // namespace depesche::text
