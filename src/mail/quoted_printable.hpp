#pragma once
// Quoted-printable (RFC 2045, section 6.7) for text bodies: keeps a UTF-8
// body readable in the raw message while making it 7-bit with short lines,
// so no relay rewraps or re-encodes it.

#include <string>
#include <string_view>

namespace depesche::mail {

/// Encodes `text` as quoted-printable. Line breaks (CRLF, LF or a lone CR)
/// become CRLF hard breaks; '=', control characters, bytes >= 0x80 and a space
/// or tab at the end of a line are written as =XX; lines longer than 76
/// characters are split with soft breaks ("=" CRLF), never inside an =XX.
/// The output holds only printable ASCII, spaces, tabs and CRLF.
std::string encode_quoted_printable(std::string_view text);

}  // namespace depesche::mail
