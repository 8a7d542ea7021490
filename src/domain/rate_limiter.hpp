#pragma once
// Per-key request budgets (login attempts per account and per address,
// registrations per address, ...), as token buckets: `limit` requests,
// refilled evenly over `window`. In memory on one node; with several nodes
// the buckets live in a shared engine (SharedBudgets, Redis), so that an
// attacker gets one budget, not one per node. While that engine cannot be
// reached each node falls back to its own buckets: the limit is then per
// node for a while, never off.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/error.hpp"
#include "base/time.hpp"

namespace depesche::domain {

/// Token buckets that several nodes share (bus/redis/redis_budgets.hpp).
class SharedBudgets {
 public:
  virtual ~SharedBudgets() = default;
  /// The bucket `key` (holding `limit` tokens, refilled evenly over
  /// `window_ms`) at `now`; takes a token when `take` and one is there.
  /// 0 when a hit is allowed, else the milliseconds until one would be;
  /// unavailable when the engine cannot be reached.
  virtual Result<Millis> hit(const std::string& key, int limit, Millis window_ms, Millis now,
                             bool take) = 0;
  virtual Result<void> reset(const std::string& key) = 0;
};

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
  /// From now on keeps the buckets in `budgets`, under `name` (which must
  /// differ between the limiters sharing them). Call before first use.
  void share(SharedBudgets& budgets, std::string name);

  int limit() const { return limit_; }

 private:
  struct Bucket {
    double tokens;
    Millis updated;
  };
  double refilled(const Bucket& b, Millis now) const;
  void evict(Millis now);
  Millis hit_here(const std::string& key, Millis now);
  Millis peek_here(const std::string& key, Millis now) const;
  /// The key as the shared engine stores it: hashed, so that it holds no
  /// addresses.
  std::string shared_key(const std::string& key) const;
  /// Logs when the shared engine is first found down, and when it is back.
  void note_shared(bool up, const Error* error) const;

  int limit_;
  Millis window_ms_;
  std::size_t max_keys_;
  Clock clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  SharedBudgets* shared_ = nullptr;
  std::string name_;
  mutable std::atomic<bool> shared_down_{false};
};

}  // namespace depesche::domain
