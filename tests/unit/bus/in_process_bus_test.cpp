// The in-process bus: numbering per topic from the base, delivery to every
// handler in publish order, and unique consecutive seqs under concurrency.
#include "bus/in_process_bus.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using depesche::bus::Event;
using depesche::bus::InProcessBus;

namespace {

// Every event a handler saw, in the order it saw them.
struct Recorder {
  std::mutex mutex;
  std::vector<Event> events;
  InProcessBus::Handler handler() {
    return [this](const Event& e) {
      std::lock_guard lock(mutex);
      events.push_back(e);
    };
  }
  std::vector<std::uint64_t> seqs_of(const std::string& topic) {
    std::lock_guard lock(mutex);
    std::vector<std::uint64_t> out;
    for (const auto& e : events)
      if (e.topic == topic) out.push_back(e.seq);
    return out;
  }
};

std::uint64_t publish(InProcessBus& bus, std::string topic, std::string name = "ticker.entry",
                      std::string data = "{}") {
  auto seq = bus.publish(std::move(topic), std::move(name), std::move(data));
  EXPECT_TRUE(seq.has_value());
  return seq.value_or(0);
}

TEST(InProcessBus, DefaultBaseNumbersEachTopicFromOne) {
  InProcessBus bus;
  EXPECT_EQ(publish(bus, "ticker:de"), 1u);
  EXPECT_EQ(publish(bus, "ticker:de"), 2u);
  EXPECT_EQ(publish(bus, "ticker:de"), 3u);
}

TEST(InProcessBus, NumbersEachTopicFromTheBasePlusOne) {
  constexpr std::uint64_t kBase = 1'800'000'000'000'000;
  InProcessBus bus(kBase);
  EXPECT_EQ(publish(bus, "ticker:de"), kBase + 1);
  EXPECT_EQ(publish(bus, "ticker:de"), kBase + 2);
  EXPECT_EQ(publish(bus, "comments:42"), kBase + 1) << "a new topic starts at the base too";
  EXPECT_EQ(publish(bus, "ticker:de"), kBase + 3);
}

TEST(InProcessBus, TopicsAreNumberedIndependently) {
  InProcessBus bus;
  EXPECT_EQ(publish(bus, "ticker:de"), 1u);
  EXPECT_EQ(publish(bus, "ticker:en"), 1u);
  EXPECT_EQ(publish(bus, "ticker:de"), 2u);
  EXPECT_EQ(publish(bus, "chat:de-politik"), 1u);
  EXPECT_EQ(publish(bus, "ticker:en"), 2u);
  EXPECT_EQ(publish(bus, "ticker:de"), 3u);
  // Topic names are compared exactly: no case folding, no prefix matching.
  EXPECT_EQ(publish(bus, "Ticker:de"), 1u);
  EXPECT_EQ(publish(bus, "ticker:d"), 1u);
}

TEST(InProcessBus, HandlersReceiveTheEventAsPublishedWithItsSeq) {
  InProcessBus bus(100);
  Recorder r;
  bus.on_event(r.handler());
  auto seq = publish(bus, "article:42", "article.updated", R"({"id":42,"headline":"Neu"})");
  ASSERT_EQ(r.events.size(), 1u);
  const Event& e = r.events[0];
  EXPECT_EQ(e.topic, "article:42");
  EXPECT_EQ(e.name, "article.updated");
  EXPECT_EQ(e.data, R"({"id":42,"headline":"Neu"})");
  EXPECT_EQ(e.seq, 101u);
  EXPECT_EQ(seq, e.seq);
}

TEST(InProcessBus, EveryHandlerSeesEveryEventInPublishOrder) {
  InProcessBus bus;
  Recorder a, b, c;
  bus.on_event(a.handler());
  bus.on_event(b.handler());
  bus.on_event(c.handler());
  const std::vector<std::pair<std::string, std::string>> sent = {{"ticker:de", "one"},
                                                                 {"ticker:en", "two"},
                                                                 {"ticker:de", "three"},
                                                                 {"ticker:de", "four"},
                                                                 {"ticker:en", "five"}};
  for (const auto& [topic, name] : sent) publish(bus, topic, name);
  for (Recorder* r : {&a, &b, &c}) {
    ASSERT_EQ(r->events.size(), sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(r->events[i].topic, sent[i].first) << i;
      EXPECT_EQ(r->events[i].name, sent[i].second) << i;
    }
    EXPECT_EQ(r->seqs_of("ticker:de"), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(r->seqs_of("ticker:en"), (std::vector<std::uint64_t>{1, 2}));
  }
}

TEST(InProcessBus, PublishingWithoutHandlersStillNumbers) {
  InProcessBus bus;
  EXPECT_EQ(publish(bus, "ticker:de"), 1u);
  Recorder r;
  bus.on_event(r.handler());
  EXPECT_EQ(publish(bus, "ticker:de"), 2u);
  ASSERT_EQ(r.events.size(), 1u) << "a late handler sees only later events";
  EXPECT_EQ(r.events[0].seq, 2u);
}

TEST(InProcessBus, ConcurrentPublishersGetUniqueConsecutiveSeqsPerTopic) {
  constexpr std::uint64_t kBase = 5000;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  const std::vector<std::string> topics = {"ticker:de", "ticker:en", "comments:7"};
  InProcessBus bus(kBase);
  Recorder first, second;
  bus.on_event(first.handler());
  bus.on_event(second.handler());

  // What publish() returned, per thread and topic.
  std::vector<std::map<std::string, std::vector<std::uint64_t>>> returned(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string& topic = topics[static_cast<std::size_t>(i + t) % topics.size()];
        auto seq = bus.publish(topic, "n", std::to_string(t) + ":" + std::to_string(i));
        if (seq) returned[static_cast<std::size_t>(t)][topic].push_back(*seq);
      }
    });
  }
  for (auto& th : threads) th.join();

  for (const auto& topic : topics) {
    std::vector<std::uint64_t> all;
    for (auto& per_thread : returned) {
      const auto& mine = per_thread[topic];
      // One thread's publishes to a topic are numbered in its own order.
      for (std::size_t i = 1; i < mine.size(); ++i) EXPECT_LT(mine[i - 1], mine[i]) << topic;
      all.insert(all.end(), mine.begin(), mine.end());
    }
    std::sort(all.begin(), all.end());
    ASSERT_FALSE(all.empty()) << topic;
    // Unique and without gaps: exactly base+1 .. base+n.
    for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], kBase + 1 + i) << topic;

    // The handlers saw the topic's events in seq order, each exactly once.
    for (Recorder* r : {&first, &second}) {
      auto seen = r->seqs_of(topic);
      ASSERT_EQ(seen.size(), all.size()) << topic;
      for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], kBase + 1 + i) << topic;
    }
  }
  EXPECT_EQ(first.events.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace
