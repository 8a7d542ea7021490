// The relay against a real SQLite event log and the in-process bus: it
// publishes committed events in log order, is woken by commits, and after a
// restart resumes where it stopped, so nothing acknowledged is skipped.
#include "bus/event_relay.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "bus/in_process_bus.hpp"
#include "store_fixture.hpp"

using namespace depesche;

namespace {

struct Recorder {
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

bus::RelayOptions quick() {
  bus::RelayOptions o;
  o.poll = std::chrono::milliseconds(20);
  o.save_every = std::chrono::milliseconds(0);
  return o;
}

TEST(EventRelay, PublishesCommittedEventsInOrderWhenWoken) {
  TempDir dir;
  auto store = open_test_store(dir);
  bus::InProcessBus bus;
  Recorder r;
  (void)bus.on_event(r.handler());
  auto opts = quick();
  opts.poll = std::chrono::seconds(60);  // only a wake can bring them quickly
  bus::EventRelay relay(store->events(), bus, opts);
  store->events().on_commit([&] { relay.wake(); });
  ASSERT_TRUE(relay.start());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->events().append("ticker:de", "e", "{}", 1));
  ASSERT_TRUE(store->events().append("ticker:en", "e", R"({"x":1})", 1));
  ASSERT_TRUE(r.wait_for(6));
  std::lock_guard lock(r.mutex);
  for (std::uint64_t s = 1; s <= 5; ++s) {
    EXPECT_EQ(r.events[s - 1].topic, "ticker:de");
    EXPECT_EQ(r.events[s - 1].seq, s);
  }
  EXPECT_EQ(r.events[5].topic, "ticker:en");
  EXPECT_EQ(r.events[5].data, R"({"x":1})");
  store->events().on_commit(nullptr);
}

TEST(EventRelay, FindsEventsOtherProcessesCommittedByPolling) {
  TempDir dir;
  auto store = open_test_store(dir);
  bus::InProcessBus bus;
  Recorder r;
  (void)bus.on_event(r.handler());
  bus::EventRelay relay(store->events(), bus, quick());
  ASSERT_TRUE(relay.start());
  // Another process (the CLI) writes: no wake reaches this relay.
  auto other = depesche::store::sqlite::SqliteStore::open((dir.path / "test.db").string(), 1);
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->events().append("ticker:de", "e", "{}", 1));
  EXPECT_TRUE(r.wait_for(1));
}

TEST(EventRelay, ResumesAfterARestartWhereItStopped) {
  TempDir dir;
  auto store = open_test_store(dir);
  {
    bus::InProcessBus bus;
    Recorder r;
    (void)bus.on_event(r.handler());
    bus::EventRelay relay(store->events(), bus, quick());
    ASSERT_TRUE(relay.start());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(store->events().append("ticker:de", "e", "{}", 1));
    ASSERT_TRUE(r.wait_for(3));
    relay.stop();  // saves its position
  }
  // Committed while no relay ran (a crash between commit and publish).
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(store->events().append("ticker:de", "e", "{}", 1));
  bus::InProcessBus bus;
  Recorder r;
  (void)bus.on_event(r.handler());
  bus::EventRelay relay(store->events(), bus, quick());
  ASSERT_TRUE(relay.start());
  ASSERT_TRUE(r.wait_for(2));
  relay.stop();
  std::lock_guard lock(r.mutex);
  ASSERT_EQ(r.events.size(), 2u) << "what was published before is not published again";
  EXPECT_EQ(r.events[0].seq, 4u);
  EXPECT_EQ(r.events[1].seq, 5u);
  EXPECT_EQ(relay.stats().published, 2u);
}

TEST(EventRelay, PublishesOnlyWhileItLeadsAndTakesUpWhereTheLastLeaderSavedItsPosition) {
  TempDir dir;
  auto store = open_test_store(dir);
  bus::InProcessBus bus_a, bus_b;
  Recorder a, b;
  (void)bus_a.on_event(a.handler());
  (void)bus_b.on_event(b.handler());
  std::atomic<bool> a_leads{false};
  auto opts = quick();
  opts.lead = [&] { return a_leads.load(); };
  bus::EventRelay follower(store->events(), bus_a, opts);
  ASSERT_TRUE(follower.start());
  {
    // Another node leads meanwhile and publishes everything so far.
    bus::EventRelay leader(store->events(), bus_b, quick());
    ASSERT_TRUE(leader.start());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(store->events().append("ticker:de", "e", "{}", 1));
    ASSERT_TRUE(b.wait_for(3));
    leader.stop();  // saves its position; its node goes
  }
  EXPECT_FALSE(follower.stats().leading);
  EXPECT_EQ(follower.stats().published, 0u) << "a relay that does not lead publishes nothing";
  a_leads = true;
  ASSERT_TRUE(store->events().append("ticker:de", "e", "{}", 1));
  follower.wake();
  ASSERT_TRUE(a.wait_for(1));
  follower.stop();
  std::lock_guard lock(a.mutex);
  ASSERT_EQ(a.events.size(), 1u) << "what the last leader published does not go out again";
  EXPECT_EQ(a.events[0].seq, 4u);
  EXPECT_TRUE(follower.stats().leading);
}

TEST(EventRelay, DrainPublishesEverythingOnTheCallingThread) {
  TempDir dir;
  auto store = open_test_store(dir);
  bus::InProcessBus bus;
  Recorder r;
  (void)bus.on_event(r.handler());
  auto opts = quick();
  opts.batch = 2;  // several reads
  bus::EventRelay relay(store->events(), bus, opts);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->events().append("ticker:de", "e", "{}", 1));
  auto n = relay.drain();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 5u);
  EXPECT_EQ(r.events.size(), 5u);
}

}  // namespace
