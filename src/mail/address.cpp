#include "mail/address.hpp"

namespace depesche::mail {
namespace {
constexpr std::size_t kMaxAddress = 254;  // RFC 5321's path limit less the angle brackets

bool forbidden(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return true;
  switch (c) {
    case '<':
    case '>':
    case '"':
    case '(':
    case ')':
    case ',':
    case ';':
    case '\\':
    case '[':
    case ']': return true;
    default: return false;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

bool is_valid_address(std::string_view address) {
  if (address.empty() || address.size() > kMaxAddress) return false;
  std::size_t at = address.find('@');
  if (at == std::string_view::npos || address.find('@', at + 1) != std::string_view::npos)
    return false;
  for (unsigned char c : address)
    if (forbidden(c)) return false;
  std::string_view local = address.substr(0, at);
  std::string_view domain = address.substr(at + 1);
  if (local.empty() || local.size() > 64 || domain.empty()) return false;
  if (domain.find('.') == std::string_view::npos) return false;
  if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string_view::npos)
    return false;
  // Servers reject these local parts without quoting, which we do not offer.
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return false;
  return true;
}

Mailbox split_mailbox(std::string_view mailbox) {
  std::string_view s = trim(mailbox);
  std::size_t open = s.rfind('<');
  if (open == std::string_view::npos || s.empty() || s.back() != '>')
    return Mailbox{{}, std::string(s)};
  Mailbox out;
  out.address = std::string(trim(s.substr(open + 1, s.size() - open - 2)));
  std::string_view name = trim(s.substr(0, open));
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
    name = name.substr(1, name.size() - 2);
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (name[i] == '\\' && i + 1 < name.size()) ++i;
      out.name += name[i];
    }
  } else {
    out.name = std::string(name);
  }
  return out;
}

std::string_view domain_of(std::string_view address) {
  std::size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

}  // namespace depesche::mail
