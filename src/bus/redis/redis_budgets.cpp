#include "bus/redis/redis_budgets.hpp"

#include <hiredis/hiredis.h>

namespace depesche::bus::redis {

namespace {

// KEYS[1] the bucket; ARGV limit, window (ms), now (ms), take (1/0).
// Returns the milliseconds until a hit is allowed (0: now). The caller's
// clock is used, not Redis's TIME, so that every node of one deployment
// and the test clocks agree with what the single-node limiter does.
constexpr std::string_view kScript = R"lua(
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local take = ARGV[4] == '1'
local b = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = tonumber(b[1])
local updated = tonumber(b[2])
if tokens == nil or updated == nil then
  tokens = limit
  updated = now
end
local per_ms = limit / window
tokens = math.min(limit, tokens + math.max(0, now - updated) * per_ms)
local wait = 0
if tokens >= 1 then
  if take then tokens = tokens - 1 end
else
  wait = math.ceil((1 - tokens) / per_ms)
end
if take then
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(now))
  redis.call('PEXPIRE', KEYS[1], window)
end
return wait
)lua";

}  // namespace

RedisBudgets::RedisBudgets(RedisOptions options) : opts_(std::move(options)) {}

RedisBudgets::~RedisBudgets() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

Result<Reply> RedisBudgets::run(const std::vector<std::string_view>& args) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = ctx_ == nullptr;
    if (fresh) {
      std::string error;
      ctx_ = connect(opts_, error);
      if (ctx_ == nullptr) return fail(ErrorCode::unavailable, "redis: cannot connect: " + error);
    }
    Reply r = command(ctx_, args);
    if (r) {
      if (r->type == REDIS_REPLY_ERROR)
        return fail(ErrorCode::unavailable, "redis: " + std::string(text_of(r.get())));
      return r;
    }
    std::string error = ctx_->errstr;
    redisFree(ctx_);
    ctx_ = nullptr;
    if (fresh) return fail(ErrorCode::unavailable, "redis: " + error);
  }
  return fail(ErrorCode::unavailable, "redis: the connection broke twice");
}

Result<Millis> RedisBudgets::hit(const std::string& key, int limit, Millis window_ms, Millis now,
                                 bool take) {
  std::string name = opts_.channel_prefix + "budget:" + key;
  std::string l = std::to_string(limit), w = std::to_string(window_ms), n = std::to_string(now);
  std::lock_guard lock(mutex_);
  // EVAL, not EVALSHA: the script is small, and a restarted Redis has no
  // script cache to miss.
  auto r = run({"EVAL", kScript, "1", name, l, w, n, take ? "1" : "0"});
  if (!r) return std::unexpected(r.error());
  if ((*r)->type != REDIS_REPLY_INTEGER)
    return fail(ErrorCode::unavailable, "redis: the budget script answered no number");
  return static_cast<Millis>((*r)->integer);
}

Result<void> RedisBudgets::reset(const std::string& key) {
  std::string name = opts_.channel_prefix + "budget:" + key;
  std::lock_guard lock(mutex_);
  auto r = run({"DEL", name});
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace depesche::bus::redis
