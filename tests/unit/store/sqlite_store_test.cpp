// SQLite only: what is particular to the embedded store's file, schema
// migrations and connection layer. Everything a Store promises is in the
// *_contract_test.cpp suites, which every implementation runs.
#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

#include "store/sqlite/database.hpp"
#include "store/sqlite/migrations.hpp"
#include "store_fixture.hpp"

using namespace depesche;
namespace sqlite = store::sqlite;

namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::string path = (dir.path / "test.db").string();

  std::unique_ptr<sqlite::Database> open_database() {
    auto db = sqlite::Database::open(path, false);
    EXPECT_TRUE(db) << db.error().message;
    return db ? std::move(*db) : nullptr;
  }
};

TEST_F(SqliteStoreTest, MigrationIsIdempotent) {
  auto store = open_test_store(dir);
  EXPECT_EQ(store->migrate().value(), sqlite::latest_schema_version());
  EXPECT_EQ(store->migrate().value(), store->migrate().value());
  EXPECT_TRUE(store->ping().has_value());
}

TEST_F(SqliteStoreTest, MigratingAnExistingFileKeepsItsData) {
  {
    auto store = open_test_store(dir);
    ASSERT_TRUE(store->tokens().insert({0, "wire", domain::Role::editor, "h", 1, std::nullopt}));
  }
  auto reopened = sqlite::SqliteStore::open(path, 2);
  ASSERT_TRUE(reopened);
  EXPECT_EQ((*reopened)->migrate().value(), sqlite::latest_schema_version());
  EXPECT_EQ((*reopened)->tokens().active_by_hash("h")->name, "wire");
  auto db = open_database();
  ASSERT_TRUE(db);
  auto st = db->prepare("SELECT COUNT(*), MAX(version) FROM schema_migrations");
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->step().value());
  EXPECT_EQ(st->int64(0), sqlite::latest_schema_version()) << "each migration applied once";
  EXPECT_EQ(st->int64(1), sqlite::latest_schema_version());
}

TEST_F(SqliteStoreTest, AFileFromANewerBuildIsRefused) {
  (void)open_test_store(dir);
  {
    auto db = open_database();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)"));
  }
  auto store = sqlite::SqliteStore::open(path, 1);
  ASSERT_TRUE(store);
  auto r = (*store)->migrate();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("newer"), std::string::npos) << r.error().message;
}

TEST_F(SqliteStoreTest, TheFileIsInWalModeWithForeignKeys) {
  (void)open_test_store(dir);
  auto db = open_database();
  ASSERT_TRUE(db);
  auto mode = db->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode);
  ASSERT_TRUE(mode->step().value());
  EXPECT_EQ(mode->text(0), "wal");
  auto fk = db->prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(fk);
  ASSERT_TRUE(fk->step().value());
  EXPECT_EQ(fk->int64(0), 1);
}

TEST_F(SqliteStoreTest, ACachedStatementInUseIsNotResetUnderItsReader) {
  auto db = open_database();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2), (3);"));
  const char* sql = "SELECT v FROM t ORDER BY v";
  {
    auto outer = db->prepare(sql);
    ASSERT_TRUE(outer);
    ASSERT_TRUE(outer->step().value());
    EXPECT_EQ(outer->int64(0), 1);
    {
      // The same text again while the first is mid-iteration: a second,
      // independent statement.
      auto inner = db->prepare(sql);
      ASSERT_TRUE(inner);
      std::vector<std::int64_t> all;
      while (inner->step().value()) all.push_back(inner->int64(0));
      EXPECT_EQ(all, (std::vector<std::int64_t>{1, 2, 3}));
    }
    ASSERT_TRUE(outer->step().value());
    EXPECT_EQ(outer->int64(0), 2) << "the outer reader kept its place";
  }
  std::string copy = sql;  // another address, the same text: the cached one
  auto again = db->prepare(copy.c_str());
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->step().value());
  EXPECT_EQ(again->int64(0), 1) << "reset when its last user let go";
}

TEST_F(SqliteStoreTest, ConstraintViolationsMapToErrorCodes) {
  auto db = open_database();
  ASSERT_TRUE(db);
  ASSERT_TRUE(
      db->exec("CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT UNIQUE);"
               "CREATE TABLE c (p INTEGER NOT NULL REFERENCES p(id));"
               "INSERT INTO p VALUES (1, 'a');"));
  auto dup = db->exec("INSERT INTO p VALUES (2, 'a')");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::conflict);
  auto fk = db->exec("INSERT INTO c VALUES (42)");
  ASSERT_FALSE(fk);
  EXPECT_EQ(fk.error().code, ErrorCode::invalid);
  auto syntax = db->exec("SELEKT 1");
  ASSERT_FALSE(syntax);
  EXPECT_EQ(syntax.error().code, ErrorCode::internal);
  EXPECT_EQ(syntax.error().message.find("SELEKT"), std::string::npos) << "no internals leak";
}

TEST_F(SqliteStoreTest, ANestedTransactionIsASavepoint) {
  auto db = open_database();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t (v INTEGER)"));
  {
    sqlite::Transaction outer(*db);
    ASSERT_TRUE(outer.begin());
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1)"));
    {
      sqlite::Transaction inner(*db);
      ASSERT_TRUE(inner.begin());
      ASSERT_TRUE(db->exec("INSERT INTO t VALUES (2)"));
    }  // rolled back: not committed
    ASSERT_TRUE(outer.commit());
  }
  auto st = db->prepare("SELECT group_concat(v) FROM t");
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->step().value());
  EXPECT_EQ(st->text(0), "1");
}

}  // namespace
