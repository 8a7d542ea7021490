// One server per data directory: the lock refuses a second holder with a
// message naming the first, is free again once the holder is gone, and
// leaves the directories of others alone.
#include "app/data_dir_lock.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "store_fixture.hpp"

using depesche::ErrorCode;
using depesche::app::DataDirLock;

TEST(DataDirLock, ASecondHolderIsRefusedWithTheFirstOnesName) {
  TempDir dir;
  auto first = DataDirLock::acquire(dir.path.string(), "serve");
  ASSERT_TRUE(first) << first.error().message;
  auto second = DataDirLock::acquire(dir.path.string(), "migrate");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::conflict);
  EXPECT_NE(second.error().message.find("in use by depesche serve (pid "), std::string::npos)
      << second.error().message;
}

TEST(DataDirLock, IsFreeAgainOnceTheHolderIsGone) {
  TempDir dir;
  {
    auto first = DataDirLock::acquire(dir.path.string(), "serve");
    ASSERT_TRUE(first);
    std::optional<DataDirLock> moved(std::move(*first));  // moving keeps it held
    EXPECT_FALSE(DataDirLock::acquire(dir.path.string(), "demo"));
  }
  EXPECT_TRUE(DataDirLock::acquire(dir.path.string(), "demo"));
}

TEST(DataDirLock, OtherDirectoriesAreNotAffected) {
  TempDir a, b;
  auto first = DataDirLock::acquire(a.path.string(), "serve");
  ASSERT_TRUE(first);
  EXPECT_TRUE(DataDirLock::acquire(b.path.string(), "serve"));
}

TEST(DataDirLock, CreatesAMissingDirectory) {
  TempDir dir;
  auto nested = dir.path / "not" / "yet";
  EXPECT_TRUE(DataDirLock::acquire(nested.string(), "serve"));
  EXPECT_TRUE(std::filesystem::exists(nested / "depesche.lock"));
}
