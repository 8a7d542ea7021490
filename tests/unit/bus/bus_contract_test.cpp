// The bus contract (bus/bus.hpp), on every bus: each handler gets every
// event as published (the store numbered it), events published from one
// thread arrive in that order, any bytes survive the trip, and once
// off_event() returns the handler is not running and never runs again.
// Buses/BusContract.*/in_process always; .../redis against a real Redis
// when DEPESCHE_TEST_REDIS_URL names one (scripts/with-redis, CTest
// unit_redis). Delivery may be asynchronous: tests wait for it.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/in_process_bus.hpp"
#include "bus/redis/redis_bus.hpp"
#include "redis_fixture.hpp"

using depesche::bus::Bus;
using depesche::bus::Event;

namespace {

struct BusKind {
  std::string name;
  std::function<std::unique_ptr<Bus>()> open;
};

std::vector<BusKind> bus_kinds() {
  std::vector<BusKind> kinds{
      {"in_process", [] { return std::make_unique<depesche::bus::InProcessBus>(); }}};
  if (!redis_test::url().empty())
    kinds.push_back({"redis", []() -> std::unique_ptr<Bus> {
                       auto bus = std::make_unique<depesche::bus::redis::RedisBus>(
                           redis_test::options(redis_test::unique_prefix()));
                       bus->start();
                       EXPECT_TRUE(bus->wait_subscribed(std::chrono::seconds(10)));
                       return bus;
                     }});
  return kinds;
}

struct Recorder {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<Event> events;
  Bus::Handler handler() {
    return [this](const Event& e) {
      std::lock_guard lock(mutex);
      events.push_back(e);
      cv.notify_all();
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return events.size() >= n; });
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return events.size();
  }
};

Event event(std::string topic, std::uint64_t seq) {
  return Event{std::move(topic), "ticker.entry", R"({"id":1})", seq};
}

class BusContract : public ::testing::TestWithParam<BusKind> {
 protected:
  std::unique_ptr<Bus> bus = GetParam().open();
};

TEST_P(BusContract, HandlersReceiveTheEventAsPublished) {
  Recorder r;
  (void)bus->on_event(r.handler());
  ASSERT_TRUE(bus->publish(Event{"article:42", "article.updated", R"({"id":42})", 7}));
  ASSERT_TRUE(r.wait_for(1));
  std::lock_guard lock(r.mutex);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].topic, "article:42");
  EXPECT_EQ(r.events[0].name, "article.updated");
  EXPECT_EQ(r.events[0].data, R"({"id":42})");
  EXPECT_EQ(r.events[0].seq, 7u) << "the bus carries the store's seq, it numbers nothing";
}

TEST_P(BusContract, CarriesAnyBytesInTopicNameAndData) {
  Recorder r;
  (void)bus->on_event(r.handler());
  // A topic that looks like a frame, a pattern, a line break; NUL bytes.
  const char topic[] = "chat:a b\r\n*?[x]:12:\0\xff";
  const char data[] = "{\"t\":\"\xc3\xa4\"}\n\0tail";
  Event sent{std::string(topic, sizeof topic - 1), "name:3:x\n", std::string(data, sizeof data - 1),
             18446744073709551615ULL};
  ASSERT_TRUE(bus->publish(sent));
  ASSERT_TRUE(bus->publish(Event{"t", "n", "", 1}));  // empty data
  ASSERT_TRUE(r.wait_for(2));
  std::lock_guard lock(r.mutex);
  EXPECT_EQ(r.events[0].topic, sent.topic);
  EXPECT_EQ(r.events[0].name, sent.name);
  EXPECT_EQ(r.events[0].data, sent.data);
  EXPECT_EQ(r.events[0].seq, sent.seq);
  EXPECT_EQ(r.events[1].topic, "t");
  EXPECT_EQ(r.events[1].data, "");
}

TEST_P(BusContract, EveryHandlerSeesEveryEventInPublishOrder) {
  Recorder a, b;
  (void)bus->on_event(a.handler());
  (void)bus->on_event(b.handler());
  for (std::uint64_t s = 1; s <= 50; ++s)
    ASSERT_TRUE(bus->publish(event(s % 2 != 0 ? "ticker:de" : "ticker:en", s)));
  for (auto* r : {&a, &b}) {
    ASSERT_TRUE(r->wait_for(50));
    std::lock_guard lock(r->mutex);
    ASSERT_EQ(r->events.size(), 50u);
    for (std::uint64_t s = 1; s <= 50; ++s) EXPECT_EQ(r->events[s - 1].seq, s);
  }
}

TEST_P(BusContract, ARemovedHandlerGetsNothingMore) {
  Recorder kept, removed;
  (void)bus->on_event(kept.handler());
  auto id = bus->on_event(removed.handler());
  ASSERT_TRUE(bus->publish(event("ticker:de", 1)));
  ASSERT_TRUE(kept.wait_for(1));
  ASSERT_TRUE(removed.wait_for(1));
  bus->off_event(id);
  ASSERT_TRUE(bus->publish(event("ticker:de", 2)));
  ASSERT_TRUE(kept.wait_for(2));
  // Both handlers of one event run in one go: had `removed` been called
  // for event 2, it would have been by now.
  EXPECT_EQ(removed.size(), 1u);
}

TEST_P(BusContract, OffEventWaitsForARunningHandler) {
  std::promise<void> entered, release;
  auto released = release.get_future().share();
  std::atomic<int> calls{0};
  auto id = bus->on_event([&, released](const Event&) {
    if (calls.fetch_add(1) == 0) {
      entered.set_value();
      released.wait();
    }
  });
  std::thread publisher([&] { (void)bus->publish(event("ticker:de", 1)); });
  entered.get_future().wait();
  auto off = std::async(std::launch::async, [&] { bus->off_event(id); });
  EXPECT_EQ(off.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout)
      << "off_event returned while the handler still ran";
  release.set_value();
  off.wait();
  publisher.join();
  Recorder after;
  (void)bus->on_event(after.handler());
  ASSERT_TRUE(bus->publish(event("ticker:de", 2)));
  ASSERT_TRUE(after.wait_for(1));
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(BusContract, ConcurrentPublishersLoseNothing) {
  Recorder r;
  (void)bus->on_event(r.handler());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([this, t] {
      for (std::uint64_t s = 1; s <= 250; ++s)
        EXPECT_TRUE(bus->publish(event("ticker:" + std::to_string(t), s)));
    });
  for (auto& th : threads) th.join();
  ASSERT_TRUE(r.wait_for(1000));
  std::lock_guard lock(r.mutex);
  ASSERT_EQ(r.events.size(), 1000u);
  // Per topic, each publisher's order is kept.
  for (int t = 0; t < 4; ++t) {
    std::uint64_t last = 0;
    for (const auto& e : r.events)
      if (e.topic == "ticker:" + std::to_string(t)) {
        EXPECT_EQ(e.seq, last + 1);
        last = e.seq;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Buses, BusContract, ::testing::ValuesIn(bus_kinds()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
