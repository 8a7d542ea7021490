#pragma once
// Mail addresses as Depesche handles them: a pragmatic subset of RFC 5321
// addr-specs that every mail server accepts, and the split of a
// "Name <addr@host>" mailbox into its parts.

#include <string>
#include <string_view>

namespace depesche::mail {

/// True when `address` looks deliverable: at most 254 bytes of printable
/// ASCII with exactly one '@', a local part of 1 to 64 bytes, a domain with a
/// dot, neither with a leading, trailing or doubled dot, and none of: space,
/// '<', '>', '"', '(', ')', ',', ';', '\\', '[', ']'. Stricter than RFC 5322
/// (no quoted local parts, no IP literals) because the account service wants
/// addresses every server takes; ASCII only because the mail layer speaks
/// neither SMTPUTF8 nor IDNA (an internationalised domain must be given in
/// its xn-- form). Only a delivered mail proves an address.
bool is_valid_address(std::string_view address);

/// A mailbox split into its display name (unquoted, may be empty) and its
/// addr-spec. Nothing is validated.
struct Mailbox {
  std::string name;
  std::string address;
};

/// Splits "Name <addr@host>", "\"Quoted, Name\" <addr@host>", "<addr@host>"
/// or a bare "addr@host"; surrounding whitespace is trimmed.
Mailbox split_mailbox(std::string_view mailbox);

/// The part after the last '@' of `address`; empty when there is none.
std::string_view domain_of(std::string_view address);

}  // namespace depesche::mail
