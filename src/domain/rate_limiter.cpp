#include "domain/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/log.hpp"
#include "domain/secrets.hpp"

namespace depesche::domain {
namespace {

/// How long until a bucket holding `tokens` has a whole one again.
Millis wait_for(double tokens, int limit, Millis window_ms) {
  if (tokens >= 1.0) return 0;
  double per_ms = static_cast<double>(limit) / static_cast<double>(window_ms);
  return static_cast<Millis>(std::ceil((1.0 - tokens) / per_ms));
}

}  // namespace

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

void RateLimiter::share(SharedBudgets& budgets, std::string name) {
  shared_ = &budgets;
  name_ = std::move(name);
}

std::string RateLimiter::shared_key(const std::string& key) const {
  return name_ + ":" + sha256_hex(key);
}

void RateLimiter::note_shared(bool up, const Error* error) const {
  if (up) {
    if (shared_down_.exchange(false)) log::info("rate limits shared again", {{"limiter", name_}});
    return;
  }
  if (!shared_down_.exchange(true))
    log::warn("rate limits not shared: each node counts on its own until the engine is back",
              {{"limiter", name_}, {"error", error != nullptr ? error->message : ""}});
}

Millis RateLimiter::hit(const std::string& key) {
  Millis now = clock_();
  if (shared_ != nullptr) {
    auto wait = shared_->hit(shared_key(key), limit_, window_ms_, now, true);
    note_shared(wait.has_value(), wait ? nullptr : &wait.error());
    if (wait) return *wait;
  }
  return hit_here(key, now);
}

Millis RateLimiter::hit_here(const std::string& key, Millis now) {
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
  return wait_for(b.tokens, limit_, window_ms_);
}

Millis RateLimiter::peek(const std::string& key) const {
  Millis now = clock_();
  if (shared_ != nullptr) {
    auto wait = shared_->hit(shared_key(key), limit_, window_ms_, now, false);
    note_shared(wait.has_value(), wait ? nullptr : &wait.error());
    if (wait) return *wait;
  }
  return peek_here(key, now);
}

Millis RateLimiter::peek_here(const std::string& key, Millis now) const {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return 0;
  return wait_for(refilled(it->second, now), limit_, window_ms_);
}

void RateLimiter::reset(const std::string& key) {
  if (shared_ != nullptr) {
    auto r = shared_->reset(shared_key(key));
    note_shared(r.has_value(), r ? nullptr : &r.error());
  }
  std::lock_guard lock(mutex_);
  buckets_.erase(key);
}

}  // namespace depesche::domain
