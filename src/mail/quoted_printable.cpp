#include "mail/quoted_printable.hpp"

namespace depesche::mail {
namespace {
constexpr std::size_t kMaxLine = 76;  // RFC 2045's limit, not counting CRLF
constexpr char kHex[] = "0123456789ABCDEF";

void encode_line(std::string& out, std::string_view line) {
  std::size_t column = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    bool last = i + 1 == line.size();
    char token[3];
    std::size_t length = 1;
    bool blank = c == ' ' || c == '\t';
    // Trailing blanks are encoded because relays may strip them.
    if ((blank && !last) || (c >= 33 && c <= 126 && c != '=')) {
      token[0] = static_cast<char>(c);
    } else {
      token[0] = '=';
      token[1] = kHex[c >> 4];
      token[2] = kHex[c & 0xf];
      length = 3;
    }
    // A line that goes on needs one column left for the soft break's '='.
    std::size_t limit = last ? kMaxLine : kMaxLine - 1;
    if (column + length > limit) {
      out += "=\r\n";
      column = 0;
    }
    out.append(token, length);
    column += length;
  }
}
}  // namespace

std::string encode_quoted_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t pos = 0;
  for (;;) {
    std::size_t eol = text.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) {
      encode_line(out, text.substr(pos));
      return out;
    }
    encode_line(out, text.substr(pos, eol - pos));
    out += "\r\n";
    pos = eol + (text[eol] == '\r' && eol + 1 < text.size() && text[eol + 1] == '\n' ? 2 : 1);
  }
}

}  // namespace depesche::mail
