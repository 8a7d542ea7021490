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
inline std::string test_postgres_schema(const TempDir& dir) {
  std::string schema = "t_";
  for (char c : dir.path.filename().string())
    if (std::isalnum(static_cast<unsigned char>(c))) schema += c;
  return schema;
}

inline std::unique_ptr<depesche::store::Store> open_test_postgres_store(const std::string& url,
                                                                        const TempDir& dir) {
  namespace pg = depesche::store::postgres;
  std::string schema = test_postgres_schema(dir);
  auto marker = dir.path / "postgres-schema";
  if (!std::filesystem::exists(marker)) {
    auto made = pg::run_sql(url, "CREATE SCHEMA " + schema);
    EXPECT_TRUE(made) << made.error().message;
    std::ofstream(marker) << schema << "\n";
    dir.cleanups.push_back(
        [url, schema] { (void)pg::run_sql(url, "DROP SCHEMA " + schema + " CASCADE"); });
  }
  std::string sep = url.find('?') == std::string::npos ? "?" : "&";
  // The application name finds the store's sessions (end_test_postgres_sessions).
  auto s = pg::PgStore::open(
      url + sep + "options=-csearch_path%3D" + schema + "&application_name=" + schema, 3);
  EXPECT_TRUE(s.has_value()) << s.error().message;
  if (!s) return nullptr;
  auto v = (*s)->migrate();
  EXPECT_TRUE(v.has_value()) << v.error().message;
  return std::move(*s);
}

/// Ends every session the PostgreSQL server holds for the store of `dir`,
/// as a server restart or an operator's pg_terminate_backend would.
inline void end_test_postgres_sessions(const std::string& url, const TempDir& dir) {
  auto r = depesche::store::postgres::run_sql(
      // With a timeout it waits until each session is gone (5 s at most).
      url,
      "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE "
      "application_name = '" +
          test_postgres_schema(dir) + "'");
  EXPECT_TRUE(r) << r.error().message;
}

/// The stores every contract test runs against: each suite is a TEST_P
/// instantiated with store_kinds(), so a new Store implementation (the
/// PostgreSQL one) joins every suite by adding itself here.
struct StoreKind {
  std::string name;
  std::function<std::unique_ptr<depesche::store::Store>(const TempDir&)> open;
  /// Ends the sessions a database server holds for the store (null for a
  /// store without a server).
  std::function<void(const TempDir&)> end_sessions = nullptr;
};

inline std::vector<StoreKind> store_kinds() {
  std::vector<StoreKind> kinds{
      StoreKind{"sqlite", [](const TempDir& dir) { return open_test_store(dir); }}};
  if (const char* url = std::getenv("DEPESCHE_TEST_POSTGRES_URL"); url && *url)
    kinds.push_back(StoreKind{
        "postgres",
        [u = std::string(url)](const TempDir& dir) { return open_test_postgres_store(u, dir); },
        [u = std::string(url)](const TempDir& dir) { end_test_postgres_sessions(u, dir); }});
  return kinds;
}

inline std::string store_kind_name(const ::testing::TestParamInfo<StoreKind>& info) {
  return info.param.name;
}
