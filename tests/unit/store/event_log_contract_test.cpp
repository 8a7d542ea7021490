// The EventLog contract and its units of work, run against
// every Store implementation (store_kinds()): seq per topic from 1,
// consecutive, never reused, surviving a reopen; events commit and roll
// back with the change they describe; relay positions; retention; epochs.
#include "store/event_log.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "store_fixture.hpp"

using namespace depesche;
using store::LoggedEvent;

namespace {

class EventLogContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = GetParam().open(dir);
  store::EventLog& log() { return store->events(); }

  LoggedEvent append(std::string topic, std::string name = "ticker.entry", Millis at = 1000) {
    auto e = log().append(topic, name, R"({"id":1})", at);
    EXPECT_TRUE(e) << e.error().message;
    return e.value_or(LoggedEvent{});
  }
  std::vector<std::uint64_t> seqs(std::string_view topic) {
    auto events = log().topic_after(topic, 0, 1000);
    EXPECT_TRUE(events);
    std::vector<std::uint64_t> out;
    for (const auto& e : events.value_or(std::vector<LoggedEvent>{})) out.push_back(e.seq);
    return out;
  }
};

TEST_P(EventLogContract, NumbersEachTopicFromOneConsecutively) {
  EXPECT_EQ(append("ticker:de").seq, 1u);
  EXPECT_EQ(append("ticker:de").seq, 2u);
  EXPECT_EQ(append("ticker:en").seq, 1u) << "topics are numbered independently";
  EXPECT_EQ(append("ticker:de").seq, 3u);
  EXPECT_EQ(append("Ticker:de").seq, 1u) << "names are compared exactly";
  EXPECT_EQ(seqs("ticker:de"), (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST_P(EventLogContract, StoresWhatWasAppendedWithIncreasingPositions) {
  auto a = append("ticker:de", "ticker.entry", 111);
  auto b = append("comments:7", "comment.created", 222);
  EXPECT_GT(b.position, a.position);
  auto events = log().after_position(0, 10);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].topic, "ticker:de");
  EXPECT_EQ((*events)[0].name, "ticker.entry");
  EXPECT_EQ((*events)[0].data, R"({"id":1})");
  EXPECT_EQ((*events)[0].created_at, 111);
  EXPECT_EQ((*events)[1].topic, "comments:7");
  EXPECT_EQ((*events)[1].seq, 1u);
  auto later = log().after_position(a.position, 10);
  ASSERT_TRUE(later);
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ((*later)[0].position, b.position);
  EXPECT_EQ(log().latest_position().value_or(0), b.position);
}

TEST_P(EventLogContract, RefusesEventsWithoutTopicOrName) {
  EXPECT_FALSE(log().append("", "x", "{}", 1));
  EXPECT_FALSE(log().append("ticker:de", "", "{}", 1));
  EXPECT_TRUE(seqs("ticker:de").empty());
}

TEST_P(EventLogContract, HeadOfATopicWithoutEventsHasTheEpochItWillKeep) {
  auto before = log().head("ticker:de");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->seq, 0u);
  EXPECT_EQ(before->oldest, 0u);
  EXPECT_GT(before->epoch, 0u);
  EXPECT_LT(before->epoch, 1ULL << 53) << "exact in JavaScript";
  append("ticker:de");
  append("ticker:de");
  auto after = log().head("ticker:de");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->seq, 2u);
  EXPECT_EQ(after->oldest, 1u);
  EXPECT_EQ(after->epoch, before->epoch) << "the first event does not change the history's name";
}

TEST_P(EventLogContract, SeqSurvivesReopeningTheStore) {
  append("ticker:de");
  append("ticker:de");
  auto epoch = log().head("ticker:de")->epoch;
  store.reset();
  store = GetParam().open(dir);
  EXPECT_EQ(append("ticker:de").seq, 3u) << "no per-process numbering";
  EXPECT_EQ(log().head("ticker:de")->epoch, epoch);
}

TEST_P(EventLogContract, AnotherDatabaseIsAnotherEpoch) {
  TempDir other_dir;
  auto other = GetParam().open(other_dir);
  EXPECT_NE(other->events().head("ticker:de")->epoch, log().head("ticker:de")->epoch);
}

TEST_P(EventLogContract, AUnitOfWorkCommitsTheChangeAndItsEventTogether) {
  domain::ApiToken token;
  token.name = "wire";
  token.secret_hash = "h1";
  token.role = domain::Role::editor;
  auto r = store->transact([&]() -> Result<void> {
    if (auto t = store->tokens().insert(token); !t) return std::unexpected(t.error());
    if (auto e = log().append("ticker:de", "ticker.entry", "{}", 1); !e)
      return std::unexpected(e.error());
    // Reads inside the unit see its own writes.
    if (!store->tokens().active_by_hash("h1")) return fail(ErrorCode::internal, "not visible");
    return {};
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(store->tokens().active_by_hash("h1"));
  EXPECT_EQ(seqs("ticker:de"), (std::vector<std::uint64_t>{1}));
}

TEST_P(EventLogContract, AFailedUnitOfWorkLeavesNeitherChangeNorEventNorSeq) {
  domain::ApiToken token;
  token.name = "wire";
  token.secret_hash = "h1";
  auto r = store->transact([&]() -> Result<void> {
    (void)store->tokens().insert(token);
    (void)log().append("ticker:de", "ticker.entry", "{}", 1);
    return fail(ErrorCode::invalid, "changed my mind");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "changed my mind");
  EXPECT_FALSE(store->tokens().active_by_hash("h1"));
  EXPECT_TRUE(seqs("ticker:de").empty());
  EXPECT_EQ(append("ticker:de").seq, 1u) << "a rolled-back seq is not lost, nor reused by another";
}

TEST_P(EventLogContract, AThrowingUnitOfWorkRollsBack) {
  EXPECT_THROW((void)store->transact([&]() -> Result<void> {
    (void)log().append("ticker:de", "ticker.entry", "{}", 1);
    throw std::runtime_error("bug");
  }),
               std::runtime_error);
  EXPECT_TRUE(seqs("ticker:de").empty());
  EXPECT_EQ(append("ticker:de").seq, 1u) << "the store is usable afterwards";
}

TEST_P(EventLogContract, ANestedUnitThatFailsUndoesOnlyItsOwnPart) {
  auto r = store->transact([&]() -> Result<void> {
    (void)log().append("ticker:de", "a", "{}", 1);
    auto inner = store->transact([&]() -> Result<void> {
      (void)log().append("ticker:de", "b", "{}", 1);
      return fail(ErrorCode::conflict, "inner");
    });
    EXPECT_FALSE(inner);
    (void)log().append("ticker:de", "c", "{}", 1);
    return {};
  });
  ASSERT_TRUE(r);
  auto events = log().topic_after("ticker:de", 0, 10);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].name, "a");
  EXPECT_EQ((*events)[1].name, "c");
  EXPECT_EQ((*events)[1].seq, 2u);
}

TEST_P(EventLogContract, ConcurrentWritersGetUniqueConsecutiveSeqs) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) (void)log().append("ticker:de", "ticker.entry", "{}", 1);
    });
  for (auto& th : threads) th.join();
  std::vector<std::uint64_t> expected;
  for (std::uint64_t s = 1; s <= 100; ++s) expected.push_back(s);
  EXPECT_EQ(seqs("ticker:de"), expected);
}

TEST_P(EventLogContract, WakesTheRelayAfterCommitsOnly) {
  std::atomic<int> wakes{0};
  log().on_commit([&] { ++wakes; });
  append("ticker:de");
  EXPECT_EQ(wakes, 1);
  (void)store->transact([&]() -> Result<void> {
    (void)log().append("ticker:de", "a", "{}", 1);
    (void)log().append("ticker:de", "b", "{}", 1);
    EXPECT_EQ(wakes, 1) << "not before the commit";
    return {};
  });
  EXPECT_EQ(wakes, 2) << "once per commit";
  (void)store->transact([&]() -> Result<void> {
    (void)log().append("ticker:de", "c", "{}", 1);
    return fail(ErrorCode::invalid, "no");
  });
  EXPECT_EQ(wakes, 2) << "not for a rollback";
  (void)store->transact([&]() -> Result<void> { return {}; });
  EXPECT_EQ(wakes, 2) << "not for a unit without events";
  log().on_commit(nullptr);
}

TEST_P(EventLogContract, RelayPositionsAreKeptAcrossReopening) {
  EXPECT_EQ(log().relay_position("live").value_or(-1), 0);
  ASSERT_TRUE(log().set_relay_position("live", 42));
  ASSERT_TRUE(log().set_relay_position("live", 41)) << "never moves back";
  EXPECT_EQ(log().relay_position("live").value_or(-1), 42);
  EXPECT_EQ(log().relay_position("other").value_or(-1), 0);
  store.reset();
  store = GetParam().open(dir);
  EXPECT_EQ(log().relay_position("live").value_or(-1), 42);
}

TEST_P(EventLogContract, RetentionByAgeKeepsEachTopicsNewestEvent) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log().append("ticker:de", "e", "{}", 1000 + i));
  ASSERT_TRUE(log().append("ticker:en", "e", "{}", 1000));
  ASSERT_TRUE(log().append("ticker:de", "e", "{}", 90'000));
  store::Retention keep_a_minute{60'000, 1000};
  auto removed = log().prune(keep_a_minute, 100'000);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 3);
  EXPECT_EQ(seqs("ticker:de"), (std::vector<std::uint64_t>{4}));
  EXPECT_EQ(seqs("ticker:en"), (std::vector<std::uint64_t>{1})) << "its newest, however old";
  EXPECT_EQ(log().head("ticker:de")->oldest, 4u);
  EXPECT_EQ(append("ticker:de").seq, 5u) << "pruning reuses no seq";
}

TEST_P(EventLogContract, RetentionByCountPerTopic) {
  for (int i = 0; i < 10; ++i) append("ticker:de");
  for (int i = 0; i < 2; ++i) append("ticker:en");
  auto removed = log().prune(store::Retention{1'000'000'000, 4}, 2000);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 6);
  EXPECT_EQ(seqs("ticker:de"), (std::vector<std::uint64_t>{7, 8, 9, 10}));
  EXPECT_EQ(seqs("ticker:en"), (std::vector<std::uint64_t>{1, 2}));
  auto rest = log().topic_after("ticker:de", 2, 10);
  ASSERT_TRUE(rest);
  ASSERT_FALSE(rest->empty());
  EXPECT_EQ(rest->front().seq, 7u) << "a reader at seq 2 can see that 3..6 are gone";
}

TEST_P(EventLogContract, RetentionNeverTakesWhatIsNotPublishedYet) {
  auto first = append("ticker:de", "e", 1);
  append("ticker:de", "e", 2);
  append("ticker:de", "e", 3);
  store::Retention retention{1, 1, first.position};
  auto removed = log().prune(retention, 1'000'000);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 1);
  EXPECT_EQ(seqs("ticker:de"), (std::vector<std::uint64_t>{2, 3}));
}

TEST_P(EventLogContract, ResettingATopicGivesItANewEpochAndKeepsCounting) {
  append("ticker:de");
  append("ticker:de");
  auto before = log().head("ticker:de").value();
  ASSERT_TRUE(log().reset_topic("ticker:de"));
  auto after = log().head("ticker:de").value();
  EXPECT_NE(after.epoch, before.epoch);
  EXPECT_EQ(after.seq, 2u);
  EXPECT_EQ(after.oldest, 0u);
  EXPECT_TRUE(seqs("ticker:de").empty());
  EXPECT_EQ(append("ticker:de").seq, 3u);
  EXPECT_EQ(log().head("ticker:en")->epoch, before.epoch) << "other topics keep theirs";
}

INSTANTIATE_TEST_SUITE_P(Stores, EventLogContract, ::testing::ValuesIn(store_kinds()),
                         store_kind_name);

}  // namespace
