// The background WAL checkpointer (SQLite only): once writes stop it moves
// the WAL into the database file and empties it, so old row versions (a
// sent mail's body) leave the disk; while a reader holds an old snapshot it
// gives up at once instead of waiting, and finishes later.
#include "store/sqlite/wal_checkpointer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "store/sqlite/sqlite_store.hpp"
#include "store_fixture.hpp"

using namespace depesche;
using namespace std::chrono_literals;

namespace {

std::uintmax_t wal_bytes(const TempDir& dir) {
  std::error_code ec;
  auto n = std::filesystem::file_size(dir.path / "test.db-wal", ec);
  return ec ? 0 : n;
}

template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

TEST(SqliteWalCheckpointer, EmptiesTheWalOnceWritesStop) {
  TempDir dir;
  auto opened = store::sqlite::SqliteStore::open((dir.path / "test.db").string(), 2);
  ASSERT_TRUE(opened);
  auto& s = **opened;
  ASSERT_TRUE(s.migrate());
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(s.events().append("t:1", "test.event", std::string(2000, 'x'), 1000));
  ASSERT_GT(wal_bytes(dir), 0u) << "the writes are in the WAL";
  ASSERT_TRUE(s.start_checkpointer(20ms));
  EXPECT_TRUE(eventually([&] { return wal_bytes(dir) == 0; })) << "still " << wal_bytes(dir);
  // The checkpointer counts a truncation after the file is emptied: wait
  // for the count too, or a reading between the two fails the test.
  EXPECT_TRUE(eventually([&] {
    auto stats = s.checkpoint_stats();
    return stats.truncations >= 1u && stats.wal_frames == 0;
  }));
  // And everything is still there, read from the database file.
  auto head = s.events().head("t:1");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->seq, 20u);
}

TEST(SqliteWalCheckpointer, AWriteAfterTheTruncationIsEmptiedToo) {
  TempDir dir;
  auto opened = store::sqlite::SqliteStore::open((dir.path / "test.db").string(), 2);
  ASSERT_TRUE(opened);
  auto& s = **opened;
  ASSERT_TRUE(s.migrate());
  ASSERT_TRUE(s.start_checkpointer(20ms));
  EXPECT_TRUE(eventually([&] { return wal_bytes(dir) == 0; }));
  ASSERT_TRUE(s.events().append("t:1", "test.event", "{}", 1000));
  EXPECT_TRUE(eventually([&] { return wal_bytes(dir) == 0; })) << "still " << wal_bytes(dir);
  EXPECT_TRUE(eventually([&] { return s.checkpoint_stats().truncations >= 2u; }));
}

}  // namespace
