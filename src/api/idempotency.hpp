#pragma once
// Idempotency-Key on the API's POSTs: a client that retries a POST after
// losing the answer (a timeout, a dropped connection) sends the same key
// and gets the first answer back, and nothing is created twice.
//
// The POST runs inside one unit of work with the remembered answer: either
// both commit or neither does, so a retry finds the answer exactly when the
// first attempt's change was stored. Keys belong to their caller (a bearer
// token, or a session's account), are kept for `ttl`, and are refused for a
// different request (422) or while the first one is still running (409).
// Anonymous POSTs (registration, login) ignore the header: their answers
// are for one browser and must never be handed to another.

#include <chrono>

#include "api/caller.hpp"
#include "net/router.hpp"
#include "store/store.hpp"

namespace depesche::api {

struct IdempotencyLimits {
  std::chrono::milliseconds ttl = std::chrono::hours(24);
  std::size_t max_key_length = 255;
};

class IdempotentPosts {
 public:
  IdempotentPosts(store::Store& store, const CallerAuth& callers, IdempotencyLimits limits = {})
      : store_(store), callers_(callers), limits_(limits) {}

  /// Makes every POST route under /api/ registered so far idempotent.
  void cover(net::Router& router);
  /// Answers `req` through `inner`, or with the remembered answer.
  net::Response handle(net::Request& req, const net::Handler& inner);

 private:
  store::Store& store_;
  const CallerAuth& callers_;
  IdempotencyLimits limits_;
};

}  // namespace depesche::api
