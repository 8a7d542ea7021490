#include "mail/header_encoding.hpp"

#include <sodium.h>

#include <vector>

namespace depesche::mail {
namespace {
// RFC 5322 allows 78 characters before the CRLF; staying under leaves room
// for relays that count differently.
constexpr std::size_t kMaxLine = 76;
constexpr std::string_view kWordStart = "=?UTF-8?B?";
constexpr std::string_view kWordEnd = "?=";
// A quoted display name is not folded, so a longer one is encoded instead.
constexpr std::size_t kMaxQuoted = 60;

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// RFC 5322 atext plus the space between atoms.
bool is_phrase_char(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ')
    return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

std::vector<std::string> split_on_spaces(std::string_view s) {
  std::vector<std::string> words;
  for (;;) {
    std::size_t space = s.find(' ');
    words.emplace_back(s.substr(0, space));
    if (space == std::string_view::npos) return words;
    s.remove_prefix(space + 1);
  }
}

bool has_word_longer_than(std::string_view s, std::size_t limit) {
  for (const std::string& w : split_on_spaces(s))
    if (w.size() > limit) return true;
  return false;
}

std::string base64(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL
  return out;
}

// Encoded-words of at most `first_room` characters for the first and `room`
// for the rest. Each word holds whole UTF-8 characters, as RFC 2047 (section
// 5) requires, so a decoder that handles words one by one still shows text.
std::vector<std::string> encoded_words(std::string_view text, std::size_t first_room,
                                       std::size_t room) {
  std::vector<std::string> words;
  const std::size_t overhead = kWordStart.size() + kWordEnd.size();
  std::size_t available = first_room;
  while (!text.empty()) {
    std::size_t max_bytes = (available - overhead) / 4 * 3;
    std::size_t end = std::min(text.size(), max_bytes);
    while (end > 0 && end < text.size() && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80)
      --end;
    if (end == 0) end = std::min(text.size(), max_bytes);  // not UTF-8; any cut will do
    std::string word(kWordStart);
    word += base64(text.substr(0, end));
    word += kWordEnd;
    words.push_back(std::move(word));
    text.remove_prefix(end);
    available = room;
  }
  return words;
}

// Joins tokens with single spaces, breaking the line before a token that
// would pass kMaxLine. Unfolding (removing the CRLFs) gives the joined text.
std::string fold(std::string_view name, const std::vector<std::string>& tokens) {
  std::string out(name);
  out += ':';
  std::size_t column = out.size();
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i == 0 || column + 1 + tokens[i].size() <= kMaxLine) {
      out += ' ';
      column += 1 + tokens[i].size();
    } else {
      out += "\r\n ";
      column = 1 + tokens[i].size();
    }
    out += tokens[i];
  }
  return out;
}

std::vector<std::string> text_tokens(std::string_view name, std::string_view value) {
  std::size_t first_room = kMaxLine - name.size() - 2;
  if (is_ascii(value) && value.find("=?") == std::string_view::npos &&
      !has_word_longer_than(value, first_room))
    return split_on_spaces(value);
  return encoded_words(value, first_room, kMaxLine - 1);
}

std::vector<std::string> phrase_tokens(std::string_view name, std::string_view phrase) {
  bool atoms = true;
  for (unsigned char c : phrase) atoms = atoms && is_phrase_char(c);
  if (atoms) return text_tokens(name, phrase);
  if (is_ascii(phrase) && phrase.size() <= kMaxQuoted) {
    std::string quoted = "\"";
    for (char c : phrase) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    quoted += '"';
    return {quoted};
  }
  return encoded_words(phrase, kMaxLine - name.size() - 2, kMaxLine - 1);
}
}  // namespace

std::string sanitize_header_value(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  std::size_t first = out.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  return out.substr(first, out.find_last_not_of(' ') - first + 1);
}

std::string sanitize_address(std::string_view address) {
  std::string out;
  for (char c : address) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || std::string_view("<>\",;").find(c) != std::string_view::npos)
      continue;
    out += c;
  }
  return out;
}

std::string unstructured_header(std::string_view name, std::string_view value) {
  std::string clean = sanitize_header_value(value);
  if (clean.empty()) return std::string(name) + ":";
  return fold(name, text_tokens(name, clean));
}

std::string mailbox_header(std::string_view name, const Mailbox& mailbox) {
  std::string address = sanitize_address(mailbox.address);
  std::string display = sanitize_header_value(mailbox.name);
  if (display.empty()) return fold(name, {address});
  std::vector<std::string> tokens = phrase_tokens(name, display);
  tokens.push_back("<" + address + ">");
  return fold(name, tokens);
}

}  // namespace depesche::mail
