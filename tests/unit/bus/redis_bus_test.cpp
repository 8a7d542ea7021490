// The Redis bus beyond the common contract (bus_contract_test.cpp): its
// message framing and URL, messages that are not events of their channel,
// and what happens when the subscription or the server goes away. Then
// the whole path a node runs (SQLite event log, relay, Redis, hub,
// WebSocket reader): a reader misses nothing the subscriber was away for,
// nor anything committed while Redis was down. The tests that need a
// server skip without DEPESCHE_TEST_REDIS_URL (scripts/with-redis; CTest
// unit_redis).
#include "bus/redis/redis_bus.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "app/log_event_source.hpp"
#include "bus/event_relay.hpp"
#include "bus/redis/redis_frame.hpp"
#include "live/hub_client.hpp"
#include "net/blocking_pool.hpp"
#include "redis_fixture.hpp"
#include "store_fixture.hpp"

using namespace depesche;
using bus::redis::decode_event;
using bus::redis::encode_event;
using bus::redis::parse_redis_url;
using bus::redis::RedisBus;

namespace {

// --- framing and URL ------------------------------------------------------------------

TEST(RedisFrame, RoundTripsEveryField) {
  bus::Event e{"ticker:de", "ticker.entry", R"({"id":5,"body":"1 2:3"})", 42};
  auto back = decode_event(encode_event(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->topic, e.topic);
  EXPECT_EQ(back->name, e.name);
  EXPECT_EQ(back->data, e.data);
  EXPECT_EQ(back->seq, 42u);
  EXPECT_EQ(encode_event(e), "1 42 9:ticker:de12:ticker.entry" + e.data) << "compact: no escaping";
}

TEST(RedisFrame, RefusesWhatIsNotAnEvent) {
  for (std::string_view bad :
       {"", "1", "1 ", "2 1 1:t1:n{}", "1 0 1:t1:n{}", "1 x 1:t1:n{}", "1 1 9:t1:n", "1 1 1:t",
        "1 1 0:1:n{}", "1 1 1:t9:n", "1 -1 1:t1:n", "1 1 1:t:n"})
    EXPECT_FALSE(decode_event(bad)) << "'" << bad << "'";
}

TEST(RedisUrl, ReadsHostPortAndPassword) {
  auto o = parse_redis_url("redis://10.0.0.5:6380");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->host, "10.0.0.5");
  EXPECT_EQ(o->port, 6380);
  EXPECT_TRUE(o->password.empty());
  o = parse_redis_url("redis://:s%40cret@redis.internal/0");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->host, "redis.internal");
  EXPECT_EQ(o->port, 6379);
  EXPECT_EQ(o->password, "s@cret");
  EXPECT_TRUE(o->user.empty());
  o = parse_redis_url("redis://depesche:pw@[::1]:7000");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 7000);
  EXPECT_EQ(o->user, "depesche");
  EXPECT_EQ(o->password, "pw");
}

TEST(RedisUrl, RefusesOtherUrlsWithoutRepeatingThePassword) {
  for (std::string bad : {"", "redis:/x", "rediss://h", "http://h", "redis://", "redis://h:0",
                          "redis://h:99999", "redis://h:63x", "redis://h/db", "redis://h?timeout=1",
                          "redis://user@h", "redis://[::1", "redis://:p%zz@h"}) {
    auto o = parse_redis_url(bad);
    EXPECT_FALSE(o) << bad;
    if (!o) {
      EXPECT_EQ(o.error().message.find("hunter2"), std::string::npos);
    }
  }
  auto o = parse_redis_url("redis://:hunter2@h:x");
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().message.find("hunter2"), std::string::npos);
}

// --- against a server -------------------------------------------------------------------

struct Inbox {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<bus::Event> events;
  bus::Bus::Handler handler() {
    return [this](const bus::Event& e) {
      std::lock_guard lock(mutex);
      events.push_back(e);
      cv.notify_all();
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return events.size() >= n; });
  }
};

TEST(RedisBus, DropsAMessageThatClaimsAnotherTopicThanItsChannel) {
  SKIP_WITHOUT_REDIS();
  std::string prefix = redis_test::unique_prefix();
  RedisBus bus(redis_test::options(prefix));
  Inbox in;
  (void)bus.on_event(in.handler());
  bus.start();
  ASSERT_TRUE(bus.wait_subscribed(std::chrono::seconds(10)));
  // Someone with access to Redis writes to a channel of ours by hand.
  redis_test::run({"PUBLISH", prefix + "ticker:de",
                   encode_event(bus::Event{"ticker:en", "ticker.entry", "{}", 1})});
  redis_test::run({"PUBLISH", prefix + "ticker:de", "not an event"});
  ASSERT_TRUE(bus.publish(bus::Event{"ticker:de", "ticker.entry", "{}", 1}));
  ASSERT_TRUE(in.wait_for(1));
  std::lock_guard lock(in.mutex);
  ASSERT_EQ(in.events.size(), 1u);
  EXPECT_EQ(in.events[0].topic, "ticker:de");
  EXPECT_EQ(bus.stats().malformed, 2u);
  EXPECT_EQ(bus.stats().received, 1u);
}

TEST(RedisBus, ResubscribesAfterItsConnectionIsKilled) {
  SKIP_WITHOUT_REDIS();
  RedisBus bus(redis_test::options(redis_test::unique_prefix()));
  Inbox in;
  (void)bus.on_event(in.handler());
  std::atomic<int> subscribed{0};
  bus.on_subscribed([&] { subscribed.fetch_add(1); });
  bus.start();
  ASSERT_TRUE(bus.wait_subscribed(std::chrono::seconds(10)));
  EXPECT_EQ(subscribed.load(), 1) << "the first subscription counts too: nothing came before it";
  // What Redis does to a subscriber whose output buffer overflows.
  EXPECT_NE(redis_test::run({"CLIENT", "KILL", "TYPE", "pubsub"}), "0");
  ASSERT_TRUE(redis_test::eventually([&] { return subscribed.load() == 2; }));
  EXPECT_EQ(bus.stats().reconnects, 1u);
  EXPECT_TRUE(bus.stats().connected);
  ASSERT_TRUE(bus.publish(bus::Event{"ticker:de", "ticker.entry", "{}", 1}));
  EXPECT_TRUE(in.wait_for(1));
}

TEST(RedisBus, PublishFailsWhileRedisIsDownAndWorksOnceItIsBack) {
  SKIP_WITHOUT_REDIS();
  RedisBus bus(redis_test::options(redis_test::unique_prefix()));
  Inbox in;
  (void)bus.on_event(in.handler());
  std::atomic<int> subscribed{0};
  bus.on_subscribed([&] { subscribed.fetch_add(1); });
  bus.start();
  ASSERT_TRUE(bus.wait_subscribed(std::chrono::seconds(10)));
  ASSERT_TRUE(bus.publish(bus::Event{"ticker:de", "e", "{}", 1}));
  // Pub/sub is lossy: a message Redis took but had not sent yet dies with it.
  ASSERT_TRUE(in.wait_for(1));
  redis_test::kill_server();
  auto r = bus.publish(bus::Event{"ticker:de", "e", "{}", 2});
  EXPECT_FALSE(r) << "an event Redis did not take is an error, never a silent success";
  if (!r) {
    EXPECT_EQ(r.error().code, ErrorCode::unavailable);
  }
  EXPECT_TRUE(redis_test::eventually([&] { return !bus.stats().connected; }));
  redis_test::restart_server();
  ASSERT_TRUE(redis_test::eventually([&] { return subscribed.load() == 2; }));
  ASSERT_TRUE(bus.publish(bus::Event{"ticker:de", "e", "{}", 3}));
  ASSERT_TRUE(in.wait_for(2));
  std::lock_guard lock(in.mutex);
  EXPECT_EQ(in.events.back().seq, 3u);
  EXPECT_GE(bus.stats().publish_errors, 1u);
  EXPECT_GE(bus.stats().reconnects, 1u);
}

// --- a node: event log, relay, Redis, hub, reader --------------------------------------

class RedisNode : public ::testing::Test {
 protected:
  void SetUp() override {
    if (redis_test::url().empty())
      GTEST_SKIP() << "needs a Redis server: scripts/with-redis sets DEPESCHE_TEST_REDIS_URL";
    store = open_test_store(dir);
    source = std::make_unique<app::LogEventSource>(store->events());
    auto o = redis_test::options(redis_test::unique_prefix());
    // Slow to come back, so that what is published meanwhile is lost for sure.
    o.reconnect_min = o.reconnect_max = std::chrono::milliseconds(1000);
    redis = std::make_unique<RedisBus>(o);
    hub = std::make_unique<live::Hub>(live::HubOptions{}, *source,
                                      [this](std::function<void()> f) { pool.post(std::move(f)); });
    hub->add_policy(
        "ticker:", [](std::string_view, const live::Identity&) -> Result<void> { return {}; });
    handler = redis->on_event([this](const bus::Event& e) { hub->publish(e); });
    redis->on_subscribed([this] { hub->catch_up(); });
    hub->start();
    redis->start();
    ASSERT_TRUE(redis->wait_subscribed(std::chrono::seconds(10)));
    bus::RelayOptions ro;
    ro.poll = std::chrono::milliseconds(20);
    ro.retry = std::chrono::milliseconds(50);
    relay = std::make_unique<bus::EventRelay>(store->events(), *redis, ro);
    store->events().on_commit([this] { relay->wake(); });
    ASSERT_TRUE(relay->start());
  }
  void TearDown() override {
    if (!store) return;
    store->events().on_commit(nullptr);
    relay->stop();
    redis->off_event(handler);
    redis->stop();
    hub->stop();
    pool.stop();
  }
  void commit(std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i)
      ASSERT_TRUE(store->events().append("ticker:de", "ticker.entry", "{}", 1));
  }
  nlohmann::json subscribe(hub_test::Client& c) {
    c.send({{"type", "subscribe"}, {"topic", "ticker:de"}});
    auto got = c.until("subscribed");
    return got.empty() ? nlohmann::json{} : got.back();
  }

  TempDir dir;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<app::LogEventSource> source;
  net::BlockingPool pool{2};
  std::unique_ptr<RedisBus> redis;
  std::unique_ptr<live::Hub> hub;
  std::unique_ptr<bus::EventRelay> relay;
  std::uint64_t handler = 0;
};

TEST_F(RedisNode, WhatWasPublishedWhileTheSubscriberWasAwayArrivesFromTheLog) {
  hub_test::Client c(*hub);
  subscribe(c);
  commit(1);
  EXPECT_EQ(c.event_seqs(1), (std::vector<std::uint64_t>{1}));
  ASSERT_NE(redis_test::run({"CLIENT", "KILL", "TYPE", "pubsub"}), "0");
  ASSERT_TRUE(redis_test::eventually([&] { return !redis->stats().connected; }));
  // Redis takes these, but nobody of ours is subscribed: they are gone.
  commit(3);
  ASSERT_TRUE(redis_test::eventually([&] { return relay->stats().published == 4; }));
  ASSERT_FALSE(redis->stats().connected) << "published after the subscriber was back: no loss";
  EXPECT_EQ(c.event_seqs(3), (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_EQ(hub->stats().gaps_filled, 3u) << "they came from the log";
  commit(1);
  EXPECT_EQ(c.event_seqs(1), (std::vector<std::uint64_t>{5}));
  EXPECT_EQ(redis->stats().reconnects, 1u);
}

TEST_F(RedisNode, ARedisRestartCostsNoEvent) {
  hub_test::Client c(*hub);
  subscribe(c);
  commit(2);
  EXPECT_EQ(c.event_seqs(2), (std::vector<std::uint64_t>{1, 2}));
  redis_test::kill_server();
  commit(3);  // the relay cannot publish these now: it keeps trying
  redis_test::restart_server();
  commit(1);
  EXPECT_EQ(c.event_seqs(4), (std::vector<std::uint64_t>{3, 4, 5, 6}));
  // Exactly once: nothing more is on its way.
  for (auto m = c.next(std::chrono::milliseconds(300)); !m.is_null();
       m = c.next(std::chrono::milliseconds(300)))
    EXPECT_EQ(m["type"], "presence") << m.dump();
  EXPECT_GE(relay->stats().errors, 1u);
}

}  // namespace
