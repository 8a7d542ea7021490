#pragma once
// The one mapping from error codes to HTTP statuses, for the API's JSON
// errors and the pages' error pages alike: a code means the same status
// wherever it is answered.

#include "base/error.hpp"

namespace depesche::net {

/// invalid 400, unauthorized 401, forbidden 403, not_found 404, conflict
/// 409, rate_limited 429, internal 500, unavailable 503.
int status_for(ErrorCode code);

/// True for the codes that say the server, not the request, is at fault
/// (internal, unavailable): answered as such and logged, never shown to the
/// reader as a problem with what they typed.
inline bool is_server_fault(ErrorCode code) {
  return code == ErrorCode::internal || code == ErrorCode::unavailable;
}

}  // namespace depesche::net
