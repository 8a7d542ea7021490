#pragma once
// A real SQLite store in a fresh temporary directory, migrated, for tests.
// Later a PostgreSQL fixture with the same shape runs the same suites.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>

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
