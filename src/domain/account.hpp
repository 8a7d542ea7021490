#pragma once
// Reader and staff accounts, their sessions and the single-use tokens mailed
// to them. Secrets (passwords, session ids, mailed tokens) never appear here
// in clear: only their hashes are stored.

#include <cstdint>
#include <optional>
#include <string>

#include "base/time.hpp"
#include "domain/token.hpp"

namespace depesche::domain {

struct Account {
  std::int64_t id = 0;
  std::string email;  // normalised (trimmed, lower-case); empty once deleted
  std::string display_name;
  std::string password_hash;  // argon2id, libsodium's encoded string
  Role role = Role::reader;
  std::string edition;  // the edition mails and account pages use
  Millis created_at = 0;
  std::optional<Millis> confirmed_at;
  std::optional<Millis> deleted_at;

  bool confirmed() const { return confirmed_at.has_value(); }
  bool deleted() const { return deleted_at.has_value(); }
};

/// A logged-in browser. The cookie holds a random secret; the store keeps
/// its SHA-256 (`id_hash`), so a copy of the database opens no session.
struct Session {
  std::string id_hash;
  std::int64_t account_id = 0;
  Millis created_at = 0;
  Millis last_seen_at = 0;
  std::string user_agent;  // shortened, for the account's session list
};

enum class TokenPurpose { confirm, reset, email_change };

inline const char* to_string(TokenPurpose p) {
  switch (p) {
    case TokenPurpose::confirm: return "confirm";
    case TokenPurpose::reset: return "reset";
    case TokenPurpose::email_change: return "email_change";
  }
  return "confirm";
}

/// A single-use token sent by mail (confirmation, password reset, new
/// address). Stored as the SHA-256 of the secret in the link.
struct AccountToken {
  std::string hash;
  std::int64_t account_id = 0;
  TokenPurpose purpose = TokenPurpose::confirm;
  std::string new_email;  // email_change only
  // confirm only: the password given with the registration that asked for
  // this link. Confirming sets it, so whoever proves the address also owns
  // the password, whatever an earlier registrant chose.
  std::string password_hash;
  // confirm only, likewise: that registration's display name and edition
  // (empty for links issued before these were kept).
  std::string display_name;
  std::string edition;
  Millis created_at = 0;
  Millis expires_at = 0;
  std::optional<Millis> used_at;
};

}  // namespace depesche::domain
