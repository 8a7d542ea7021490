#pragma once
// A remembered answer to a POST that carried an Idempotency-Key: a client
// that retries after losing the answer gets this one back, and nothing is
// created twice.

#include <string>

#include "base/time.hpp"

namespace depesche::domain {

struct RememberedResponse {
  std::string scope;        // whose key: "token:<id>" or "account:<id>"
  std::string key;          // as the client sent it
  std::string fingerprint;  // hex SHA-256 of method, path and body
  int status = 0;
  std::string headers;  // the response's headers, as a JSON array of pairs
  std::string body;
  Millis created_at = 0;
};

}  // namespace depesche::domain
