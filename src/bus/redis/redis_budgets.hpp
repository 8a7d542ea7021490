#pragma once
// Rate-limit buckets that every node shares, in the Redis of the bus
// (selected with it, by bus.url): each is a hash under
// <prefix>budget:<limiter>:<hashed key>, read, refilled and charged by one
// Lua script, so that two nodes taking the last token at once cannot both
// get it. Each key expires after its window, when a full bucket would be
// back anyway: Redis holds only recent attempts, and nothing that must
// survive a restart (a restart refills every bucket, as restarting a single
// node does).
//
// One blocking connection, one command at a time; callers are on the
// blocking pool. A broken connection is reopened on the next call; a call
// that fails is `unavailable` and the limiter counts on this node meanwhile.

#include <mutex>
#include <string>

#include "bus/redis/redis_client.hpp"
#include "domain/rate_limiter.hpp"

struct redisContext;

namespace depesche::bus::redis {

class RedisBudgets final : public domain::SharedBudgets {
 public:
  explicit RedisBudgets(RedisOptions options);
  ~RedisBudgets() override;
  RedisBudgets(const RedisBudgets&) = delete;
  RedisBudgets& operator=(const RedisBudgets&) = delete;

  Result<Millis> hit(const std::string& key, int limit, Millis window_ms, Millis now,
                     bool take) override;
  Result<void> reset(const std::string& key) override;

 private:
  /// Runs one command, connecting first when needed and once more on a
  /// connection found broken (a Redis restart since the last call).
  Result<Reply> run(const std::vector<std::string_view>& args);

  RedisOptions opts_;
  std::mutex mutex_;
  redisContext* ctx_ = nullptr;
};

}  // namespace depesche::bus::redis
