#pragma once
// A real SQLite store in a fresh temporary directory, migrated, for tests.
// Later a PostgreSQL fixture with the same shape runs the same suites.

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store.hpp"

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("depesche-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline std::unique_ptr<depesche::store::Store> open_test_store(const TempDir& dir) {
  auto s = depesche::store::sqlite::SqliteStore::open((dir.path / "test.db").string(), 2);
  EXPECT_TRUE(s.has_value());
  auto v = (*s)->migrate();
  EXPECT_TRUE(v.has_value());
  return std::move(*s);
}

/// The stores every contract test runs against: each suite is a TEST_P
/// instantiated with store_kinds(), so a new Store implementation (the
/// PostgreSQL one) joins every suite by adding itself here.
struct StoreKind {
  std::string name;
  std::function<std::unique_ptr<depesche::store::Store>(const TempDir&)> open;
};

inline std::vector<StoreKind> store_kinds() {
  return {StoreKind{"sqlite", [](const TempDir& dir) { return open_test_store(dir); }}};
}

inline std::string store_kind_name(const ::testing::TestParamInfo<StoreKind>& info) {
  return info.param.name;
}
