#pragma once
// Errors as values: every domain and store call returns Result<T>. The code
// decides the HTTP status (one mapping, in api/ and web/); the message is
// written for the person who sent the request and never carries internals.

#include <expected>
#include <string>
#include <utility>

namespace depesche {

enum class ErrorCode {
  invalid,       // the input breaks a rule; message says which
  not_found,     // no such thing (or not visible to the caller)
  conflict,      // would violate uniqueness or a version check
  unauthorized,  // no or bad credentials
  forbidden,     // credentials fine, permission missing
  rate_limited,  // too many requests; retry later
  unavailable,   // a dependency is down; retry later
  internal,      // a bug or an unexpected failure; details only in the log
};

struct Error {
  ErrorCode code;
  std::string message;
  std::string field = {};        // the offending input field, when there is one
  long long retry_after_ms = 0;  // rate_limited: when trying again may succeed
  /// A stable snake_case token telling apart errors that share a code and
  /// field ("same_address", "wrong_password", "too_long"), for pages and API
  /// clients to choose their own words; empty when code and field say it all.
  /// Never match on `message`: it is English prose and may change.
  std::string reason = {};
};

/// The reasons in use, named once so that a page and the code that fails
/// cannot drift apart by a typo.
namespace reason {
inline constexpr const char* empty = "empty";
inline constexpr const char* too_long = "too_long";
inline constexpr const char* not_utf8 = "not_utf8";
inline constexpr const char* control_characters = "control_characters";
inline constexpr const char* bad_url = "bad_url";
inline constexpr const char* same_address = "same_address";
inline constexpr const char* wrong_password = "wrong_password";
}  // namespace reason

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message, std::string field = {},
                                   std::string reason = {}) {
  return std::unexpected(Error{code, std::move(message), std::move(field), 0, std::move(reason)});
}

inline std::unexpected<Error> rate_limited(std::string message, long long retry_after_ms) {
  return std::unexpected(Error{ErrorCode::rate_limited, std::move(message), {}, retry_after_ms});
}

const char* to_string(ErrorCode code);

}  // namespace depesche
