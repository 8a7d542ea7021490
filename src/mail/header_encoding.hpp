#pragma once
// Header lines for outgoing mail: values made safe (no CR/LF, so no header
// injection), non-ASCII text as RFC 2047 encoded-words, and every line folded
// to at most 76 characters so the 78-character limit of RFC 5322 holds.

#include <string>
#include <string_view>

#include "mail/address.hpp"

namespace depesche::mail {

/// `value` with every CR, LF and other control character (tab and DEL
/// included) replaced by a space, and leading and trailing spaces trimmed.
/// This is what stops a subject such as "Hi\r\nBcc: x" from adding a header:
/// it becomes the harmless text "Hi  Bcc: x".
std::string sanitize_header_value(std::string_view value);

/// `address` without the characters that could end the addr-spec or the
/// header early: controls, spaces, '<', '>', '"', ',', ';'. Meant for
/// addresses already checked by is_valid_address, which it leaves unchanged.
std::string sanitize_address(std::string_view address);

/// "Name: value" for an unstructured header such as Subject, without the
/// final CRLF. The value is sanitized, then written as it is when it is
/// printable ASCII that folds at its spaces, and as UTF-8 B encoded-words
/// otherwise (non-ASCII, a word too long to fold, or a literal "=?" that a
/// reader would take for an encoded-word). Continuation lines start with one
/// space; unfolding and decoding give back the sanitized value.
std::string unstructured_header(std::string_view name, std::string_view value);

/// "Name: addr@host" or "Name: Display Name <addr@host>", without the final
/// CRLF. The display name is sanitized and written as atoms, a quoted string
/// or encoded-words, whichever it needs; the address goes through
/// sanitize_address.
std::string mailbox_header(std::string_view name, const Mailbox& mailbox);

}  // namespace depesche::mail
