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
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message, std::string field = {}) {
  return std::unexpected(Error{code, std::move(message), std::move(field)});
}

inline std::unexpected<Error> rate_limited(std::string message, long long retry_after_ms) {
  return std::unexpected(Error{ErrorCode::rate_limited, std::move(message), {}, retry_after_ms});
}

const char* to_string(ErrorCode code);

}  // namespace depesche
