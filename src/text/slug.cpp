#include "text/slug.hpp"

#include <cstdint>

namespace depesche::text {
namespace {

// Decodes one UTF-8 code point; returns 0xFFFD for malformed input.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
  if (i + static_cast<std::size_t>(len) > s.size()) len = 1;
  char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
  i += static_cast<std::size_t>(len);
  return (len == 1 && c >= 0x80) ? 0xFFFD : cp;
}

const char* transliterate(char32_t cp) {
  // German
  switch (cp) {
    case U'ä':
    case U'Ä': return "ae";
    case U'ö':
    case U'Ö': return "oe";
    case U'ü':
    case U'Ü': return "ue";
    case U'ß': return "ss";
    case U'é':
    case U'è':
    case U'ê':
    case U'ë':
    case U'É': return "e";
    case U'á':
    case U'à':
    case U'â':
    case U'Á': return "a";
    case U'í':
    case U'ì':
    case U'î':
    case U'ï': return "i";
    case U'ó':
    case U'ò':
    case U'ô': return "o";
    case U'ú':
    case U'ù':
    case U'û': return "u";
    case U'ç': return "c";
    case U'ñ': return "n";
    default: break;
  }
  // Russian (a readable, BGN/PCGN-like scheme)
  static const char* const kCyrillic[] = {
      "a", "b", "v", "g", "d", "e",  "zh", "z",  "i",  "y",    "k", "l", "m", "n", "o",  "p",
      "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "",  "y", "",  "e", "yu", "ya"};
  if (cp >= U'а' && cp <= U'я') return kCyrillic[cp - U'а'];
  if (cp >= U'А' && cp <= U'Я') return kCyrillic[cp - U'А'];
  if (cp == U'ё' || cp == U'Ё') return "e";
  return nullptr;
}

}  // namespace

bool is_valid_slug(std::string_view slug) {
  if (slug.empty() || slug.size() > kMaxSlugLength) return false;
  if (slug.front() == '-' || slug.back() == '-') return false;
  char prev = 0;
  for (char c : slug) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || (c == '-' && prev == '-')) return false;
    prev = c;
  }
  return true;
}

std::string slugify(std::string_view text) {
  std::string out;
  bool pending_hyphen = false;
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = next_code_point(text, i);
    std::string piece;
    if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
      piece = static_cast<char>(cp);
    else if (cp >= 'A' && cp <= 'Z')
      piece = static_cast<char>(cp - 'A' + 'a');
    else if (const char* t = transliterate(cp))
      piece = t;
    if (piece.empty()) {
      // Soft and hard signs transliterate to nothing and must not split words.
      if (cp != U'ь' && cp != U'ъ' && cp != U'Ь' && cp != U'Ъ') pending_hyphen = !out.empty();
      continue;
    }
    if (pending_hyphen) out += '-';
    pending_hyphen = false;
    out += piece;
  }
  if (out.size() > kMaxSlugLength) {
    out.resize(kMaxSlugLength);
    auto cut = out.rfind('-');
    if (cut != std::string::npos && cut > kMaxSlugLength / 2) out.resize(cut);
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

}  // namespace depesche::text
