#pragma once
// Per-key request budgets (login attempts per account and per address,
// registrations per address, ...), as token buckets in memory: `limit`
// requests, refilled evenly over `window`. Per node: with several nodes an
// attacker gets a budget per node, which the Redis bus can tighten later.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/time.hpp"

namespace depesche::domain {

class RateLimiter {
 public:
  using Clock = std::function<Millis()>;
  /// At most `limit` hits per `window_ms` and key; `max_keys` bounds memory
  /// (when it is reached, keys with a full budget go first, then the half
  /// used longest ago).
  RateLimiter(int limit, Millis window_ms, std::size_t max_keys = 100'000,
              Clock clock = now_millis);

  /// Counts a hit for `key`. 0 when allowed; otherwise the milliseconds
  /// until the next hit would be allowed, and the hit is not counted.
  Millis hit(const std::string& key);
  /// Like hit(), but counts nothing: would a hit be allowed now?
  Millis peek(const std::string& key) const;
  /// Forgets a key (a successful login clears its failures).
  void reset(const std::string& key);

  int limit() const { return limit_; }

 private:
  struct Bucket {
    double tokens;
    Millis updated;
  };
  double refilled(const Bucket& b, Millis now) const;
  void evict(Millis now);

  int limit_;
  Millis window_ms_;
  std::size_t max_keys_;
  Clock clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace depesche::domain
