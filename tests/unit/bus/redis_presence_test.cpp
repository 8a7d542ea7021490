// Presence summed across nodes through Redis (bus/redis/redis_presence.hpp):
// two nodes, each with a bus and an exchange of its own on one Redis, show
// the sum of their counts; a node that stops leaves at once, one that dies
// drops out after the node ttl; while Redis is down each node shows its
// own count, and the sum comes back with Redis. Needs a server
// (scripts/with-redis, CTest unit_redis); skips without DEPESCHE_TEST_REDIS_URL.
#include "bus/redis/redis_presence.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "redis_fixture.hpp"

using namespace depesche;
using bus::redis::RedisBus;
using bus::redis::RedisPresence;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTopic = "ticker:de";

/// One node: a bus (for the announcements) and the exchange, and what
/// the exchange showed last for each topic.
struct Node {
  std::unique_ptr<RedisBus> bus;
  std::unique_ptr<RedisPresence> presence;
  std::mutex mutex;
  std::map<std::string, std::int64_t> shown;

  /// `resum_every` long by default: what a test sees came by the announcements.
  Node(const std::string& prefix, const std::string& name,
       std::chrono::milliseconds resum_every = 60s) {
    bus = std::make_unique<RedisBus>(redis_test::options(prefix));
    bus::redis::RedisPresenceOptions o;
    o.node = name;
    o.heartbeat = 100ms;
    o.node_ttl = 600ms;
    o.resum_every = resum_every;
    presence = std::make_unique<RedisPresence>(redis_test::options(prefix), o);
    presence->on_totals([this](const std::string& topic, std::int64_t total, bool) {
      std::lock_guard lock(mutex);
      shown[topic] = total;
    });
    bus->on_notice(RedisPresence::kNotice,
                   [this](std::string_view topics) { presence->notice(topics); });
    presence->start();
    bus->start();
    EXPECT_TRUE(bus->wait_subscribed(5s));
  }
  ~Node() {
    bus->stop();
    presence->stop();
  }
  std::int64_t showing(const std::string& topic = kTopic) {
    std::lock_guard lock(mutex);
    auto it = shown.find(topic);
    return it == shown.end() ? -1 : it->second;
  }
  bool shows(std::int64_t total) {
    return redis_test::eventually([&] { return showing() == total; }, 5s);
  }
};

class RedisPresenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_REDIS();
    a = std::make_unique<Node>(prefix, "node-a");
    b = std::make_unique<Node>(prefix, "node-b");
  }
  std::string prefix = redis_test::unique_prefix();
  std::unique_ptr<Node> a, b;
};

TEST_F(RedisPresenceTest, EachNodeShowsTheSumOfAllNodes) {
  a->presence->report({{kTopic, 3}});
  ASSERT_TRUE(a->shows(3));
  b->presence->report({{kTopic, 2}});
  EXPECT_TRUE(b->shows(5)) << "b shows " << b->showing();
  EXPECT_TRUE(a->shows(5)) << "a shows " << a->showing() << ": it heard of b's readers";
  b->presence->report({{kTopic, 0}});
  EXPECT_TRUE(a->shows(3)) << "a shows " << a->showing() << " after b's readers left";
  // Another topic is counted apart.
  b->presence->report({{"ticker:en", 7}});
  EXPECT_TRUE(redis_test::eventually([&] { return b->showing("ticker:en") == 7; }, 5s));
  EXPECT_EQ(a->showing("ticker:en"), -1) << "a has no readers of ticker:en to show it to";
  EXPECT_EQ(a->showing(), 3);
}

TEST_F(RedisPresenceTest, ANodeThatStopsLeavesAtOnce) {
  a->presence->report({{kTopic, 3}});
  b->presence->report({{kTopic, 2}});
  ASSERT_TRUE(a->shows(5));
  auto t0 = std::chrono::steady_clock::now();
  b.reset();
  ASSERT_TRUE(a->shows(3));
  // Well before the node ttl would have dropped it.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
}

TEST_F(RedisPresenceTest, ANodeThatDiesDropsOutAfterTheTtl) {
  a->presence->report({{kTopic, 3}});
  ASSERT_TRUE(a->shows(3));
  // A node that reported 4 readers and then stopped beating, as a killed
  // one would: its heartbeat now, never again.
  std::string now_ms = redis_test::run({"EVAL",
                                        "local t = redis.call('TIME') return "
                                        "tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)",
                                        "0"});
  redis_test::run({"ZADD", prefix + "presence-nodes", now_ms, "ghost"});
  redis_test::run({"HSET", prefix + "presence:" + kTopic, "ghost", "4"});
  redis_test::run({"PUBLISH", bus::redis::notice_channel(prefix, RedisPresence::kNotice), kTopic});
  ASSERT_TRUE(a->shows(7)) << "a shows " << a->showing();
  EXPECT_TRUE(a->shows(3)) << "a shows " << a->showing() << " long after the ghost's ttl";
  EXPECT_EQ(redis_test::run({"HEXISTS", prefix + "presence:" + kTopic, "ghost"}), "0")
      << "what the gone node left is dropped";
}

TEST_F(RedisPresenceTest, WhileRedisIsDownEachNodeShowsItsOwnCount) {
  a->presence->report({{kTopic, 3}});
  b->presence->report({{kTopic, 2}});
  ASSERT_TRUE(a->shows(5));
  // Announcements made while a bus reconnects are lost; the periodic sum
  // brings those back.
  a = std::make_unique<Node>(prefix, "node-a", 1s);
  a->presence->report({{kTopic, 3}});
  ASSERT_TRUE(a->shows(5));
  redis_test::kill_server();
  a->presence->report({{kTopic, 4}});
  EXPECT_TRUE(a->shows(4)) << "a shows " << a->showing();
  redis_test::restart_server();
  // Back, and empty: both write all they hold again and sum again.
  EXPECT_TRUE(a->shows(6)) << "a shows " << a->showing();
  EXPECT_TRUE(b->shows(6)) << "b shows " << b->showing();
}

}  // namespace
