#include "domain/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace depesche::domain {

RateLimiter::RateLimiter(int limit, Millis window_ms, std::size_t max_keys, Clock clock)
    : limit_(std::max(1, limit)),
      window_ms_(std::max<Millis>(1, window_ms)),
      max_keys_(std::max<std::size_t>(1, max_keys)),
      clock_(std::move(clock)) {}

double RateLimiter::refilled(const Bucket& b, Millis now) const {
  double per_ms = static_cast<double>(limit_) / static_cast<double>(window_ms_);
  return std::min<double>(limit_, b.tokens + static_cast<double>(now - b.updated) * per_ms);
}

void RateLimiter::evict(Millis now) {
  // Full buckets carry no information; drop them first.
  std::erase_if(buckets_, [&](const auto& kv) { return refilled(kv.second, now) >= limit_; });
  if (buckets_.size() < max_keys_) return;
  // Still full: forget the half used longest ago, never everything, so that
  // flooding the table with new keys cannot wipe a recent key's record.
  std::vector<Millis> times;
  times.reserve(buckets_.size());
  for (const auto& [k, b] : buckets_) times.push_back(b.updated);
  auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
  std::nth_element(times.begin(), mid, times.end());
  Millis cutoff = *mid;
  std::erase_if(buckets_, [&](const auto& kv) { return kv.second.updated < cutoff; });
  if (buckets_.size() >= max_keys_) buckets_.clear();  // all equally recent
}

Millis RateLimiter::hit(const std::string& key) {
  Millis now = clock_();
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) evict(now);
    it = buckets_.emplace(key, Bucket{static_cast<double>(limit_), now}).first;
  }
  Bucket& b = it->second;
  b.tokens = refilled(b, now);
  b.updated = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  double per_ms = static_cast<double>(limit_) / static_cast<double>(window_ms_);
  return static_cast<Millis>(std::ceil((1.0 - b.tokens) / per_ms));
}

Millis RateLimiter::peek(const std::string& key) const {
  Millis now = clock_();
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return 0;
  double tokens = refilled(it->second, now);
  if (tokens >= 1.0) return 0;
  double per_ms = static_cast<double>(limit_) / static_cast<double>(window_ms_);
  return static_cast<Millis>(std::ceil((1.0 - tokens) / per_ms));
}

void RateLimiter::reset(const std::string& key) {
  std::lock_guard lock(mutex_);
  buckets_.erase(key);
}

}  // namespace depesche::domain
