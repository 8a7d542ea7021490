#pragma once
// Presence summed across the nodes that share one Redis. Each node keeps
// its own count of every topic in a hash per topic (<prefix>presence:
// <topic>, field: the node's id), and its heartbeat in one sorted set
// (<prefix>presence-nodes, score: Redis's clock), both written by one Lua
// script that also announces the changed topics on the notice channel
// "presence" (RedisBus::on_notice). Every node that has readers of an
// announced topic sums it again, counting only nodes whose heartbeat is
// fresh, and shows the total to its readers. A node that stops leaves at
// once; one that dies drops out after `node_ttl`, when the next heartbeat
// of a survivor reaps it and announces "*" (sum everything again). A
// lost announcement costs at most `resum_every`: each node sums all its
// topics again that often. While Redis is down each node shows its own
// counts, and reports them all again when it is back.
//
// Redis holds nothing here that must survive: a restarted Redis is filled
// again by the next reports and heartbeats.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "bus/presence.hpp"
#include "bus/redis/redis_client.hpp"

struct redisContext;

namespace depesche::bus::redis {

struct RedisPresenceOptions {
  std::string node;                               // this process's id, unique in the cluster
  std::chrono::milliseconds heartbeat{1000};      // how often the node says it is alive
  std::chrono::milliseconds node_ttl{5000};       // silent this long: the node is gone
  std::chrono::milliseconds resum_every{10'000};  // sums every topic again this often
};

class RedisPresence final : public PresenceExchange {
 public:
  /// The notice name (RedisBus::on_notice) announcements go out under.
  static constexpr std::string_view kNotice = "presence";

  RedisPresence(RedisOptions redis, RedisPresenceOptions options);
  ~RedisPresence() override;
  RedisPresence(const RedisPresence&) = delete;
  RedisPresence& operator=(const RedisPresence&) = delete;

  void report(Counts counts) override;
  void on_totals(Totals totals) override;
  /// An announcement from the bus's subscriber: topics separated by
  /// newlines, or "*". Returns at once.
  void notice(std::string_view topics);

  void start();
  /// Leaves the cluster's counts (when Redis answers) and joins.
  void stop();

 private:
  void run();
  /// Runs one command on the connection, connecting first when needed;
  /// null after a failure (the connection is then dropped).
  Reply call(const std::vector<std::string_view>& args);
  /// Writes this node's counts of `topics` and its heartbeat.
  bool write(const std::vector<std::string>& topics);
  /// Totals of `topics` over the live nodes, in their order; empty on failure.
  std::vector<std::int64_t> sum(const std::vector<std::string>& topics);

  RedisOptions redis_;
  RedisPresenceOptions opts_;
  Totals totals_;
  std::thread thread_;

  std::mutex mutex_;  // guards what other threads hand over, and stopping_
  std::condition_variable cv_;
  bool stopping_ = false;
  std::unordered_map<std::string, std::int64_t> reported_;  // since the last round
  std::set<std::string> announced_;                         // since the last round
  bool announced_all_ = false;

  // The exchange's thread only.
  redisContext* ctx_ = nullptr;
  bool down_ = false;                                    // the last call failed
  std::unordered_map<std::string, std::int64_t> own_;    // this node's non-zero counts
  std::unordered_map<std::string, std::int64_t> shown_;  // totals handed to the hub
};

}  // namespace depesche::bus::redis
