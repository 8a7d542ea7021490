// The in-process bus: every handler gets every event as published (the
// store numbered it), in publish order, and a removed handler gets nothing.
#include "bus/in_process_bus.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

using depesche::bus::Event;
using depesche::bus::InProcessBus;

namespace {

struct Recorder {
  std::mutex mutex;
  std::vector<Event> events;
  InProcessBus::Handler handler() {
    return [this](const Event& e) {
      std::lock_guard lock(mutex);
      events.push_back(e);
    };
  }
};

Event event(std::string topic, std::uint64_t seq) {
  return Event{std::move(topic), "ticker.entry", R"({"id":1})", seq};
}

TEST(InProcessBus, HandlersReceiveTheEventAsPublished) {
  InProcessBus bus;
  Recorder r;
  (void)bus.on_event(r.handler());
  ASSERT_TRUE(bus.publish(Event{"article:42", "article.updated", R"({"id":42})", 7}));
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].topic, "article:42");
  EXPECT_EQ(r.events[0].name, "article.updated");
  EXPECT_EQ(r.events[0].data, R"({"id":42})");
  EXPECT_EQ(r.events[0].seq, 7u) << "the bus carries the store's seq, it numbers nothing";
}

TEST(InProcessBus, EveryHandlerSeesEveryEventInPublishOrder) {
  InProcessBus bus;
  Recorder a, b;
  (void)bus.on_event(a.handler());
  (void)bus.on_event(b.handler());
  for (std::uint64_t s = 1; s <= 5; ++s) ASSERT_TRUE(bus.publish(event("ticker:de", s)));
  for (auto* r : {&a, &b}) {
    ASSERT_EQ(r->events.size(), 5u);
    for (std::uint64_t s = 1; s <= 5; ++s) EXPECT_EQ(r->events[s - 1].seq, s);
  }
}

TEST(InProcessBus, ARemovedHandlerGetsNothingMore) {
  InProcessBus bus;
  Recorder kept, removed;
  (void)bus.on_event(kept.handler());
  auto id = bus.on_event(removed.handler());
  ASSERT_TRUE(bus.publish(event("ticker:de", 1)));
  bus.off_event(id);
  ASSERT_TRUE(bus.publish(event("ticker:de", 2)));
  EXPECT_EQ(kept.events.size(), 2u);
  EXPECT_EQ(removed.events.size(), 1u);
}

TEST(InProcessBus, ConcurrentPublishersLoseNothing) {
  InProcessBus bus;
  Recorder r;
  (void)bus.on_event(r.handler());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&bus, t] {
      for (std::uint64_t s = 1; s <= 250; ++s)
        (void)bus.publish(event("ticker:" + std::to_string(t), s));
    });
  for (auto& th : threads) th.join();
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

}  // namespace
