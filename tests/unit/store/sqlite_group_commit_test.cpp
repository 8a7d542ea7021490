// SQLite only: group commit. Units of work that come together share one
// commit; each is still whole or absent, acknowledged only once committed,
// and a failed one takes nothing else with it.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "store/sqlite/database.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store_fixture.hpp"

using namespace depesche;
namespace sqlite = store::sqlite;

namespace {

constexpr Millis kStart = 1'800'000'000'000;

domain::TickerEntry entry(Millis at) {
  domain::TickerEntry e;
  e.ticker = "de";
  e.body = "Body";
  e.body_html = "<p>Body</p>";
  e.created_at = e.updated_at = at;
  return e;
}

class SqliteGroupCommit : public ::testing::Test {
 protected:
  TempDir dir;
  std::string path = (dir.path / "test.db").string();

  std::unique_ptr<sqlite::SqliteStore> open(sqlite::GroupCommitLimits limits = {}) {
    auto s = sqlite::SqliteStore::open(path, 2, limits);
    EXPECT_TRUE(s) << s.error().message;
    if (!s) return nullptr;
    EXPECT_TRUE((*s)->migrate());
    return std::move(*s);
  }
  /// Rows committed to the file, as another connection sees them.
  std::size_t committed_entries() {
    auto db = sqlite::Database::open(path, true);
    if (!db) return 0;
    auto st = (*db)->prepare("SELECT count(*) FROM ticker_entries");
    if (!st || !st->step().value_or(false)) return 0;
    return static_cast<std::size_t>(st->int64(0));
  }
  /// One unit: an entry and its event; fails after writing them when asked.
  Result<void> post(store::Store& s, Millis at, bool fail_after_writing = false) {
    return s.transact([&]() -> Result<void> {
      if (auto r = s.tickers().insert_entry(entry(at)); !r) return std::unexpected(r.error());
      if (auto r = s.events().append("ticker:de", "ticker.entry", "{}", at); !r)
        return std::unexpected(r.error());
      if (fail_after_writing) return fail(ErrorCode::invalid, "refused");
      return {};
    });
  }
};

TEST_F(SqliteGroupCommit, AWriterAloneCommitsEachUnitAtOnce) {
  auto s = open();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(post(*s, kStart + i));
    EXPECT_EQ(committed_entries(), static_cast<std::size_t>(i + 1))
        << "acknowledged means committed, not waiting for company";
  }
  auto stats = s->group_commit_stats();
  EXPECT_EQ(stats.units, 5u);
  EXPECT_EQ(stats.largest, 1u);
}

TEST_F(SqliteGroupCommit, ConcurrentUnitsShareCommits) {
  auto s = open();
  constexpr int kThreads = 16, kEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> acknowledged = 0;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        if (post(*s, kStart + t * 100 + i)) ++acknowledged;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(acknowledged.load(), kThreads * kEach);
  EXPECT_EQ(committed_entries(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(s->events().head("ticker:de")->seq, static_cast<std::uint64_t>(kThreads * kEach))
      << "seq stays consecutive across shared commits";
  auto stats = s->group_commit_stats();
  EXPECT_EQ(stats.units, static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_LT(stats.commits, stats.units) << "some units shared a commit";
  EXPECT_GT(stats.largest, 1u);
}

TEST_F(SqliteGroupCommit, AFailedUnitTakesNothingElseWithIt) {
  auto s = open();
  constexpr int kThreads = 8, kEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> acknowledged = 0, refused = 0;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        bool failing = (t + i) % 3 == 0;
        auto r = post(*s, kStart + t * 100 + i, failing);
        if (r) {
          ++acknowledged;
        } else {
          EXPECT_TRUE(failing) << r.error().message;
          EXPECT_EQ(r.error().code, ErrorCode::invalid) << "the unit's own error";
          ++refused;
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(acknowledged + refused, kThreads * kEach);
  EXPECT_EQ(committed_entries(), static_cast<std::size_t>(acknowledged.load()));
  EXPECT_EQ(s->events().head("ticker:de")->seq, static_cast<std::uint64_t>(acknowledged.load()))
      << "a refused unit's event is gone, and its seq was not used";
}

TEST_F(SqliteGroupCommit, AWriteOutsideAUnitIsNotHeldInAnOpenBatch) {
  // Direct repository writes and units, mixed: every acknowledged write of
  // either kind is in the file when the threads are done.
  auto s = open({.max_units = 4, .max_age = std::chrono::microseconds(100'000)});
  std::vector<std::thread> threads;
  std::atomic<int> acknowledged = 0;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        bool ok = t % 2 == 0 ? post(*s, kStart + t * 100 + i).has_value()
                             : s->tickers().insert_entry(entry(kStart + t * 100 + i)).has_value();
        if (ok) ++acknowledged;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(acknowledged.load(), 60);
  EXPECT_EQ(committed_entries(), 60u);
  EXPECT_LE(s->group_commit_stats().largest, 4u) << "store.group_commit_max_units holds";
}

}  // namespace
