#pragma once
// Password rules and hashing. Hashes are argon2id (libsodium), with at least
// OWASP's minimum cost (19 MiB, 2 passes); verifying costs the same as
// hashing, which is why login runs on the blocking pool and is throttled.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

#include "base/error.hpp"

namespace depesche::domain {

struct PasswordSettings {
  std::size_t min_chars = 12;
  std::size_t max_chars = 128;
  std::uint64_t argon2_memory_kib = 19 * 1024;
  std::uint64_t argon2_passes = 2;
};

class Passwords {
 public:
  /// `common` holds lower-case passwords too common to allow.
  Passwords(PasswordSettings settings, std::unordered_set<std::string> common);

  /// invalid (field "password") with a reason the user can act on, when the
  /// password is too short, too long, not UTF-8, on the common list, one
  /// repeated character, or built from the user's e-mail or name.
  Result<void> check(std::string_view password, std::string_view email,
                     std::string_view display_name) const;
  /// The argon2id hash in libsodium's self-describing string form.
  Result<std::string> hash(std::string_view password) const;
  /// True when `password` matches `stored`; false for any malformed hash.
  bool verify(std::string_view stored, std::string_view password) const;
  /// A hash of a random password, for verifying against when the account is
  /// unknown, so that answers take as long as for a known one.
  const std::string& decoy_hash() const { return decoy_; }

  /// Reads one lower-cased password per line; '#' starts a comment.
  static Result<std::unordered_set<std::string>> load_list(const std::string& path);

 private:
  PasswordSettings settings_;
  std::unordered_set<std::string> common_;
  std::string decoy_;
};

}  // namespace depesche::domain
