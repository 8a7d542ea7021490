#pragma once
// A real SQLite store in a fresh temporary directory, migrated, for tests;
// with DEPESCHE_TEST_POSTGRES_URL set (scripts/with-postgres), the same
// suites also run on PostgreSQL, each test in a fresh schema.

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "store/postgres/pg_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

struct TempDir {
  std::filesystem::path path;
  // What else goes with the directory (a PostgreSQL schema), run first.
  mutable std::vector<std::function<void()>> cleanups;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("depesche-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    for (auto& cleanup : cleanups) cleanup();
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

/// A migrated PostgreSQL store in a schema of its own, named after `dir`:
/// opening it again with the same directory finds the same data, another
/// directory is another database, and the schema is dropped with the
/// directory. Tests can run in parallel.
inline std::unique_ptr<depesche::store::Store> open_test_postgres_store(const std::string& url,
                                                                        const TempDir& dir) {
  namespace pg = depesche::store::postgres;
  std::string schema = "t_";
  for (char c : dir.path.filename().string())
    if (std::isalnum(static_cast<unsigned char>(c))) schema += c;
  auto marker = dir.path / "postgres-schema";
  if (!std::filesystem::exists(marker)) {
    auto made = pg::run_sql(url, "CREATE SCHEMA " + schema);
    EXPECT_TRUE(made) << made.error().message;
    std::ofstream(marker) << schema << "\n";
    dir.cleanups.push_back(
        [url, schema] { (void)pg::run_sql(url, "DROP SCHEMA " + schema + " CASCADE"); });
  }
  std::string sep = url.find('?') == std::string::npos ? "?" : "&";
  auto s = pg::PgStore::open(url + sep + "options=-csearch_path%3D" + schema, 3);
  EXPECT_TRUE(s.has_value()) << s.error().message;
  if (!s) return nullptr;
  auto v = (*s)->migrate();
  EXPECT_TRUE(v.has_value()) << v.error().message;
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
  std::vector<StoreKind> kinds{
      StoreKind{"sqlite", [](const TempDir& dir) { return open_test_store(dir); }}};
  if (const char* url = std::getenv("DEPESCHE_TEST_POSTGRES_URL"); url && *url)
    kinds.push_back(StoreKind{"postgres", [u = std::string(url)](const TempDir& dir) {
                                return open_test_postgres_store(u, dir);
                              }});
  return kinds;
}

inline std::string store_kind_name(const ::testing::TestParamInfo<StoreKind>& info) {
  return info.param.name;
}
