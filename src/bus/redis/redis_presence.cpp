#include "bus/redis/redis_presence.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <utility>

#include "base/log.hpp"

namespace depesche::bus::redis {

namespace {

// Keys are built from ARGV (the prefix), not passed in KEYS, because the
// topics are: fine for one Redis, not for Redis Cluster (docs/decisions.md).
// Times are Redis's own (TIME), so the nodes' clocks never disagree.

// KEYS[1] the nodes; ARGV node, ttl (ms), hash prefix, notice channel, then
// topic and count pairs (count 0: none here any more). Returns how many
// nodes it found gone.
constexpr std::string_view kWrite = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local node, ttl, prefix, channel = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
redis.call('ZADD', KEYS[1], now, node)
redis.call('PEXPIRE', KEYS[1], 86400000)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - ttl))
for _, n in ipairs(gone) do redis.call('ZREM', KEYS[1], n) end
local changed = {}
for i = 5, #ARGV - 1, 2 do
  local key = prefix .. ARGV[i]
  if tonumber(ARGV[i + 1]) > 0 then
    redis.call('HSET', key, node, ARGV[i + 1])
    redis.call('PEXPIRE', key, 86400000)
  else
    redis.call('HDEL', key, node)
  end
  changed[#changed + 1] = ARGV[i]
end
if #gone > 0 then
  redis.call('PUBLISH', channel, '*')
elseif #changed > 0 then
  redis.call('PUBLISH', channel, table.concat(changed, '\n'))
end
return #gone
)lua";

// KEYS[1] the nodes; ARGV ttl (ms), hash prefix, then topics. Returns each
// topic's total over the nodes alive now, and drops what gone nodes left.
constexpr std::string_view kSum = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl, prefix = tonumber(ARGV[1]), ARGV[2]
local alive = {}
for _, n in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now - ttl, '+inf')) do alive[n] = true end
local out = {}
for i = 3, #ARGV do
  local key = prefix .. ARGV[i]
  local fields = redis.call('HGETALL', key)
  local sum = 0
  for j = 1, #fields - 1, 2 do
    if alive[fields[j]] then
      sum = sum + tonumber(fields[j + 1])
    else
      redis.call('HDEL', key, fields[j])
    end
  end
  out[#out + 1] = sum
end
return out
)lua";

}  // namespace

RedisPresence::RedisPresence(RedisOptions redis, RedisPresenceOptions options)
    : redis_(std::move(redis)), opts_(std::move(options)) {}

RedisPresence::~RedisPresence() { stop(); }

void RedisPresence::on_totals(Totals totals) { totals_ = std::move(totals); }

void RedisPresence::report(Counts counts) {
  {
    std::lock_guard lock(mutex_);
    for (auto& [topic, count] : counts) reported_[std::move(topic)] = count;
  }
  cv_.notify_one();
}

void RedisPresence::notice(std::string_view topics) {
  {
    std::lock_guard lock(mutex_);
    if (topics == "*") {
      announced_all_ = true;
    } else {
      while (!topics.empty()) {
        auto end = topics.find('\n');
        if (auto topic = topics.substr(0, end); !topic.empty()) announced_.emplace(topic);
        topics = end == std::string_view::npos ? std::string_view() : topics.substr(end + 1);
      }
    }
  }
  cv_.notify_one();
}

void RedisPresence::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void RedisPresence::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (ctx_ == nullptr) return;
  // Leaving: the others count this node out now, not after node_ttl.
  std::string nodes = redis_.channel_prefix + "presence-nodes";
  std::string channel = notice_channel(redis_.channel_prefix, kNotice);
  if (call({"ZREM", nodes, opts_.node})) (void)call({"PUBLISH", channel, "*"});
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
}

Reply RedisPresence::call(const std::vector<std::string_view>& args) {
  if (ctx_ == nullptr) {
    std::string error;
    ctx_ = connect(redis_, error);
    if (ctx_ == nullptr) return nullptr;
  }
  Reply r = command(ctx_, args);
  if (!r || r->type == REDIS_REPLY_ERROR) {
    if (r) log::error("presence: redis refused a script", {{"error", text_of(r.get())}});
    redisFree(ctx_);
    ctx_ = nullptr;
    return nullptr;
  }
  return r;
}

bool RedisPresence::write(const std::vector<std::string>& topics) {
  std::string nodes = redis_.channel_prefix + "presence-nodes";
  std::string ttl = std::to_string(opts_.node_ttl.count());
  std::string prefix = redis_.channel_prefix + "presence:";
  std::string channel = notice_channel(redis_.channel_prefix, kNotice);
  std::vector<std::string> counts;
  counts.reserve(topics.size());
  for (const auto& topic : topics) {
    auto it = own_.find(topic);
    counts.push_back(std::to_string(it == own_.end() ? 0 : it->second));
  }
  std::vector<std::string_view> args{"EVAL", kWrite, "1", nodes, opts_.node, ttl, prefix, channel};
  for (std::size_t i = 0; i < topics.size(); ++i) {
    args.push_back(topics[i]);
    args.push_back(counts[i]);
  }
  return call(args) != nullptr;
}

std::vector<std::int64_t> RedisPresence::sum(const std::vector<std::string>& topics) {
  std::string nodes = redis_.channel_prefix + "presence-nodes";
  std::string ttl = std::to_string(opts_.node_ttl.count());
  std::string prefix = redis_.channel_prefix + "presence:";
  std::vector<std::string_view> args{"EVAL", kSum, "1", nodes, ttl, prefix};
  for (const auto& topic : topics) args.push_back(topic);
  Reply r = call(args);
  std::vector<std::int64_t> out;
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != topics.size()) return out;
  for (std::size_t i = 0; i < r->elements; ++i)
    out.push_back(r->element[i]->type == REDIS_REPLY_INTEGER ? r->element[i]->integer : 0);
  return out;
}

void RedisPresence::run() {
  using Clock = std::chrono::steady_clock;
  auto next_beat = Clock::now();
  auto next_resum = Clock::now() + opts_.resum_every;
  std::set<std::string> unwritten;  // counts Redis has not taken yet
  for (;;) {
    std::unordered_map<std::string, std::int64_t> reported;
    std::set<std::string> announced;
    bool all = false;
    {
      std::unique_lock lock(mutex_);
      cv_.wait_until(lock, std::min(next_beat, next_resum), [&] {
        return stopping_ || !reported_.empty() || !announced_.empty() || announced_all_;
      });
      if (stopping_) return;
      reported.swap(reported_);
      announced.swap(announced_);
      all = std::exchange(announced_all_, false);
    }
    for (const auto& [topic, count] : reported) {
      if (count > 0)
        own_[topic] = count;
      else
        own_.erase(topic);
      unwritten.insert(topic);
    }
    auto now = Clock::now();
    bool beat = now >= next_beat;
    if (beat) next_beat = now + opts_.heartbeat;
    if (now >= next_resum) {
      all = true;
      next_resum = now + opts_.resum_every;
    }

    // Write; after an outage everything this node holds (Redis may have
    // been restarted empty), and the sums all again.
    bool ok = true;
    if (!unwritten.empty() || beat || down_) {
      if (down_)
        for (const auto& [topic, count] : own_) unwritten.insert(topic);
      ok = write({unwritten.begin(), unwritten.end()});
      if (ok) {
        unwritten.clear();
        if (down_) {
          log::info("presence: redis back, counting across nodes again", {});
          all = true;
        }
      } else if (!down_) {
        log::warn("presence: redis unreachable, showing this node's counts", {});
      }
      down_ = !ok;
    }

    std::vector<std::string> topics;
    if (all) {
      for (const auto& [topic, count] : own_) topics.push_back(topic);
    } else {
      for (const auto& [topic, count] : reported)
        if (count > 0) topics.push_back(topic);
      for (const auto& topic : announced)
        if (own_.contains(topic) && !reported.contains(topic)) topics.push_back(topic);
    }
    for (const auto& [topic, count] : reported)
      if (count == 0) shown_.erase(topic);
    if (topics.empty()) continue;
    std::vector<std::int64_t> totals;
    if (!down_) totals = sum(topics);
    if (totals.size() != topics.size()) {
      // No answer: this node's own counts are the best it knows.
      totals.clear();
      for (const auto& topic : topics) totals.push_back(own_.at(topic));
      if (!down_) down_ = true;
    }
    for (std::size_t i = 0; i < topics.size(); ++i) {
      std::int64_t total = totals[i];
      bool asked = reported.contains(topics[i]);
      auto [it, fresh] = shown_.try_emplace(topics[i], total);
      if (!fresh && !asked && it->second == total) continue;
      it->second = total;
      if (totals_) totals_(topics[i], total, asked);
    }
  }
}

}  // namespace depesche::bus::redis
