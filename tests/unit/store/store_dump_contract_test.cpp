// The store contract for Store::tables() and Store::dump(), run against
// every Store implementation (store_kinds()): what `depesche store dump`
// prints. Every table, every row, values as stored (booleans 0/1, times in
// Unix milliseconds), rows in primary-key order, unknown tables refused
// before any row, one consistent snapshot, and nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "store/store.hpp"
#include "store_fixture.hpp"

using namespace depesche;
using store::StoredRow;
using store::StoredValue;

namespace {

class StoreDumpContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = GetParam().open(dir);

  std::vector<StoredRow> dump(std::vector<std::string> tables = {}) {
    std::vector<StoredRow> rows;
    auto r = store->dump(tables, [&](const StoredRow& row) { rows.push_back(row); });
    EXPECT_TRUE(r) << r.error().message;
    return rows;
  }
  static const StoredValue* value(const StoredRow& row, std::string_view column) {
    for (const auto& [name, v] : row.columns)
      if (name == column) return &v;
    return nullptr;
  }
  static std::vector<const StoredRow*> of(const std::vector<StoredRow>& rows,
                                          std::string_view table) {
    std::vector<const StoredRow*> out;
    for (const auto& r : rows)
      if (r.table == table) out.push_back(&r);
    return out;
  }

  domain::TickerEntry entry(std::string ticker, std::string body, bool pinned, Millis at) {
    domain::TickerEntry e;
    e.ticker = std::move(ticker);
    e.body = std::move(body);
    e.body_html = "<p>" + e.body + "</p>";
    e.pinned = pinned;
    e.created_at = e.updated_at = at;
    auto stored = store->tickers().insert_entry(e);
    EXPECT_TRUE(stored) << stored.error().message;
    return stored.value_or(e);
  }
};

TEST_P(StoreDumpContract, ListsTheDataTablesSortedWithoutBookkeeping) {
  auto tables = store->tables();
  ASSERT_TRUE(tables) << tables.error().message;
  EXPECT_TRUE(std::is_sorted(tables->begin(), tables->end()));
  for (const char* t : {"accounts", "account_tokens", "api_tokens", "articles", "events",
                        "mail_queue", "schema_migrations", "sessions", "ticker_entries"})
    EXPECT_NE(std::find(tables->begin(), tables->end(), t), tables->end()) << t;
  for (const auto& t : *tables) EXPECT_FALSE(t.starts_with("sqlite_")) << t;
}

TEST_P(StoreDumpContract, DumpsEveryTableInOrderWhenNoneIsNamed) {
  entry("de", "Eins", false, 1000);
  auto tables = store->tables();
  ASSERT_TRUE(tables);
  auto rows = dump();
  std::vector<std::string> seen;
  for (const auto& r : rows)
    if (seen.empty() || seen.back() != r.table) seen.push_back(r.table);
  // Table by table, in the sorted order, each table once.
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size());
  for (const auto& t : seen)
    EXPECT_NE(std::find(tables->begin(), tables->end(), t), tables->end()) << t;
  EXPECT_EQ(of(rows, "ticker_entries").size(), 1u);
  EXPECT_FALSE(of(rows, "schema_migrations").empty());
}

TEST_P(StoreDumpContract, GivesColumnsWithValuesAsStored) {
  auto e = entry("de", "Lage an der Brücke", true, 1'700'000'000'123);
  auto rows = dump({"ticker_entries"});
  ASSERT_EQ(rows.size(), 1u);
  const auto& row = rows[0];
  EXPECT_EQ(row.table, "ticker_entries");
  EXPECT_EQ(*value(row, "id"), StoredValue(std::int64_t{e.id}));
  EXPECT_EQ(*value(row, "ticker"), StoredValue(std::string("de")));
  EXPECT_EQ(*value(row, "body"), StoredValue(std::string("Lage an der Brücke")));
  EXPECT_EQ(*value(row, "pinned"), StoredValue(std::int64_t{1})) << "booleans are 0 and 1";
  EXPECT_EQ(*value(row, "created_at"), StoredValue(std::int64_t{1'700'000'000'123}))
      << "times are Unix milliseconds";
  ASSERT_NE(value(row, "image_url"), nullptr);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(*value(row, "image_url")))
      << "an absent image is null";
}

TEST_P(StoreDumpContract, GivesRowsInPrimaryKeyOrder) {
  for (int i = 0; i < 5; ++i)
    entry(i % 2 ? "en" : "de", "Nr. " + std::to_string(i), false, 5000 - i);
  std::vector<std::int64_t> ids;
  for (const auto& row : dump({"ticker_entries"}))
    ids.push_back(std::get<std::int64_t>(*value(row, "id")));
  ASSERT_EQ(ids.size(), 5u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
}

TEST_P(StoreDumpContract, DumpsOnlyTheNamedTablesInTheOrderGiven) {
  entry("de", "Eins", false, 1000);
  ASSERT_TRUE(store->events().append("ticker:de", "ticker.entry", "{}", 1000));
  auto rows = dump({"ticker_entries", "events"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].table, "ticker_entries");
  EXPECT_EQ(rows[1].table, "events");
}

TEST_P(StoreDumpContract, RefusesAnUnknownTableBeforeAnyRow) {
  entry("de", "Eins", false, 1000);
  int rows = 0;
  auto r = store->dump({"ticker_entries", "no_such_table"}, [&](const StoredRow&) { ++rows; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
  EXPECT_EQ(rows, 0);
  // A name is a name, never SQL.
  r = store->dump({"ticker_entries; DROP TABLE accounts"}, [&](const StoredRow&) { ++rows; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
  auto tables = store->tables();
  ASSERT_TRUE(tables);
  EXPECT_NE(std::find(tables->begin(), tables->end(), "accounts"), tables->end());
}

TEST_P(StoreDumpContract, WritesNothing) {
  entry("de", "Eins", false, 1000);
  auto before = dump();
  auto again = dump();
  ASSERT_EQ(before.size(), again.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].table, again[i].table);
    EXPECT_EQ(before[i].columns, again[i].columns) << before[i].table;
  }
}

TEST_P(StoreDumpContract, SeesOneSnapshotWhileAWriterCommits) {
  entry("de", "Eins", false, 1000);
  // A write committed while the dump is under way (from inside its row
  // callback, as another node would) is not in that dump, in any table.
  bool wrote = false;
  std::vector<StoredRow> rows;
  auto r = store->dump({"ticker_entries", "events"}, [&](const StoredRow& row) {
    rows.push_back(row);
    if (wrote) return;
    wrote = true;
    std::thread other([&] {
      entry("de", "Zwei", false, 2000);
      ASSERT_TRUE(store->events().append("ticker:de", "ticker.entry", "{}", 2000));
    });
    other.join();
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(of(rows, "events").empty()) << "the dump saw a commit made after it began";
  EXPECT_EQ(of(rows, "ticker_entries").size(), 1u);
  EXPECT_EQ(of(dump({"ticker_entries"}), "ticker_entries").size(), 2u);
}

TEST_P(StoreDumpContract, JoinsAUnitOfWorkItRunsIn) {
  std::size_t inside = 0;
  auto r = store->transact([&]() -> Result<void> {
    entry("de", "Im Werk", false, 1000);
    auto d = store->dump({"ticker_entries"}, [&](const StoredRow&) { ++inside; });
    if (!d) return d;
    return {};
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(inside, 1u) << "a dump inside a unit of work sees its writes";
  EXPECT_EQ(dump({"ticker_entries"}).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreDumpContract, ::testing::ValuesIn(store_kinds()),
                         store_kind_name);

}  // namespace
