#pragma once
// Helpers for the mail tests: a temporary directory and a small MIME reader
// (RFC 2047 words, quoted-printable, multipart) independent of the code under
// test, so a round trip proves the encoders against a separate decoder.
// Kept in their own namespace: the unit tests link into one executable.

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace mail_test {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("depesche-mail-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The files in `dir`, sorted; empty when it does not exist.
inline std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

/// Splits on LF and drops a CR before it, so text from a file written with
/// LF (Python's mailbox does) reads like the CRLF original. "a\r\n" gives
/// "a" and "", so joining with CRLF restores the text.
inline std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  for (;;) {
    std::size_t lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.emplace_back(line);
    if (lf == std::string_view::npos) break;
    text.remove_prefix(lf + 1);
  }
  return lines;
}

inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/// Quoted-printable to bytes; hard line breaks come out as CRLF.
inline std::string decode_quoted_printable(std::string_view encoded) {
  std::string out;
  std::vector<std::string> lines = split_lines(encoded);
  for (std::size_t n = 0; n < lines.size(); ++n) {
    std::string_view line = lines[n];
    // RFC 2045: trailing whitespace was added in transit and is removed.
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    bool soft = !line.empty() && line.back() == '=';
    if (soft) line.remove_suffix(1);
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '=' && i + 2 < line.size() && hex_digit(line[i + 1]) >= 0 &&
          hex_digit(line[i + 2]) >= 0) {
        out += static_cast<char>(hex_digit(line[i + 1]) * 16 + hex_digit(line[i + 2]));
        i += 2;
      } else {
        out += line[i];
      }
    }
    if (!soft && n + 1 < lines.size()) out += "\r\n";
  }
  return out;
}

inline std::string decode_base64(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    std::size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) continue;  // '=' padding
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

/// Unfolds a header value and decodes its RFC 2047 encoded-words (B and Q,
/// any charset taken as UTF-8); blanks between two encoded-words vanish.
inline std::string decode_header_value(std::string_view folded) {
  std::string value;
  for (std::size_t i = 0; i < folded.size(); ++i) {
    if (folded[i] == '\r' || folded[i] == '\n') continue;
    value += folded[i];
  }
  std::string out;
  std::string pending_blank;
  bool after_word = false;
  std::size_t i = 0;
  while (i < value.size()) {
    if (value.compare(i, 2, "=?") == 0) {
      std::size_t q1 = value.find('?', i + 2);
      std::size_t q2 = q1 == std::string::npos ? q1 : value.find('?', q1 + 1);
      std::size_t end = q2 == std::string::npos ? q2 : value.find("?=", q2 + 1);
      if (end != std::string::npos) {
        char encoding = value[q1 + 1];
        std::string_view text(value.data() + q2 + 1, end - q2 - 1);
        if (!after_word) out += pending_blank;
        pending_blank.clear();
        if (encoding == 'B' || encoding == 'b') {
          out += decode_base64(text);
        } else {
          std::string q;
          for (char c : text) q += c == '_' ? ' ' : c;
          out += decode_quoted_printable(q);
        }
        after_word = true;
        i = end + 2;
        continue;
      }
    }
    if (value[i] == ' ' || value[i] == '\t') {
      pending_blank += value[i];
    } else {
      out += pending_blank;
      pending_blank.clear();
      out += value[i];
      after_word = false;
    }
    ++i;
  }
  if (!after_word) out += pending_blank;
  return out;
}

struct Message {
  std::vector<std::pair<std::string, std::string>> headers;  // name, raw folded value
  std::string body;

  /// The raw value of the first header called `name` (case-insensitive).
  std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (n.size() == name.size() &&
          std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          }))
        return v;
    return {};
  }
  int count(std::string_view name) const {
    int n = 0;
    for (const auto& h : headers) n += h.first == name;
    return n;
  }
};

/// Header section and body of a message with CRLF or LF line ends.
inline Message parse_message(std::string_view raw) {
  Message m;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    std::size_t lf = raw.find('\n', pos);
    if (lf == std::string_view::npos) lf = raw.size();
    std::string_view line = raw.substr(pos, lf - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = lf + 1;
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !m.headers.empty()) {
      m.headers.back().second += "\r\n";
      m.headers.back().second += line;
      continue;
    }
    std::size_t colon = line.find(':');
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    m.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  if (pos < raw.size()) m.body = std::string(raw.substr(pos));
  return m;
}

/// The boundary parameter of a multipart Content-Type value.
inline std::string boundary_of(std::string_view content_type) {
  std::size_t at = content_type.find("boundary=");
  if (at == std::string_view::npos) return {};
  std::string_view rest = content_type.substr(at + 9);
  if (!rest.empty() && rest.front() == '"') {
    rest.remove_prefix(1);
    return std::string(rest.substr(0, rest.find('"')));
  }
  return std::string(rest.substr(0, rest.find_first_of("; \r\n")));
}

/// The parts of a multipart body, each parsed as a message (headers, body);
/// the CRLF before each delimiter is not part of the body.
inline std::vector<Message> split_parts(std::string_view body, std::string_view boundary) {
  std::vector<Message> parts;
  std::vector<std::string> lines = split_lines(body);
  std::string delimiter = "--" + std::string(boundary);
  std::string current;
  bool inside = false;
  for (const std::string& line : lines) {
    if (line == delimiter || line == delimiter + "--") {
      if (inside) {
        if (current.size() >= 2) current.resize(current.size() - 2);  // the delimiter's CRLF
        parts.push_back(parse_message(current));
      }
      current.clear();
      inside = line == delimiter;
      continue;
    }
    if (inside) current += line + "\r\n";
  }
  return parts;
}

}  // namespace mail_test
