#include "store/sqlite/sqlite_store.hpp"

#include <algorithm>

#include "base/time.hpp"
#include "store/sqlite/database.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite_event_log.hpp"
#include "store/sqlite/sqlite_repositories.hpp"

namespace depesche::store::sqlite {
namespace {

// Tables holding data, sorted; SQLite's own (sqlite_sequence, ...) excluded.
Result<std::vector<std::string>> table_names(Database& db) {
  auto st = db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
      "ESCAPE '\\' ORDER BY name");
  if (!st) return std::unexpected(st.error());
  std::vector<std::string> names;
  for (;;) {
    auto more = st->step();
    if (!more) return std::unexpected(more.error());
    if (!*more) return names;
    names.push_back(st->text(0));
  }
}

std::string quoted(std::string_view name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// "ORDER BY" of a table's primary key, its rowid when it has none.
Result<std::string> primary_key_order(Database& db, const std::string& table) {
  auto st = db.prepare("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk");
  if (!st) return std::unexpected(st.error());
  st->bind(1, table);
  std::string order;
  for (;;) {
    auto more = st->step();
    if (!more) return std::unexpected(more.error());
    if (!*more) break;
    order += (order.empty() ? " ORDER BY " : ", ") + quoted(st->text(0));
  }
  return order.empty() ? std::string(" ORDER BY rowid") : order;
}

Result<void> dump_table(Database& db, const std::string& table,
                        const std::function<void(const StoredRow&)>& row) {
  auto order = primary_key_order(db, table);
  if (!order) return std::unexpected(order.error());
  std::string sql = "SELECT * FROM " + quoted(table) + *order;
  auto st = db.prepare(sql.c_str());
  if (!st) return std::unexpected(st.error());
  StoredRow out;
  out.table = table;
  for (;;) {
    auto more = st->step();
    if (!more) return std::unexpected(more.error());
    if (!*more) return {};
    out.columns.clear();
    for (int c = 0; c < st->column_count(); ++c) {
      StoredValue v;
      switch (st->type(c)) {
        case SQLITE_INTEGER: v = st->int64(c); break;
        case SQLITE_FLOAT: v = st->real(c); break;
        case SQLITE_TEXT: v = st->text(c); break;
        case SQLITE_BLOB: v = StoredBytes{st->bytes(c)}; break;
        default: break;
      }
      out.columns.emplace_back(st->column_name(c), std::move(v));
    }
    row(out);
  }
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path, std::size_t readers,
                                                       GroupCommitLimits group_commit) {
  auto pool = ConnectionPool::open(path, readers, group_commit);
  if (!pool) return std::unexpected(pool.error());
  std::unique_ptr<SqliteStore> s(new SqliteStore());
  s->pool_ = std::move(*pool);
  s->path_ = path;
  s->articles_ = std::make_unique<SqliteArticleRepository>(*s->pool_);
  s->tokens_ = std::make_unique<SqliteTokenRepository>(*s->pool_);
  s->accounts_ = std::make_unique<SqliteAccountRepository>(*s->pool_);
  s->tickers_ = std::make_unique<SqliteTickerRepository>(*s->pool_);
  s->mail_queue_ = std::make_unique<SqliteMailQueueRepository>(*s->pool_);
  s->idempotency_ = std::make_unique<SqliteIdempotencyRepository>(*s->pool_);
  s->events_ = std::make_unique<SqliteEventLog>(*s->pool_);
  return s;
}

GroupCommitStats SqliteStore::group_commit_stats() const { return pool_->group_commit_stats(); }

SqliteStore::~SqliteStore() {
  if (pool_) pool_->set_checkpoint_request(nullptr);
  checkpointer_.reset();  // its last checkpoint before the connections close
}

Result<void> SqliteStore::start_checkpointer(std::chrono::milliseconds interval) {
  if (checkpointer_) return {};
  auto c = WalCheckpointer::start(path_, interval);
  if (!c) return std::unexpected(c.error());
  checkpointer_ = std::move(*c);
  if (auto r = pool_->writer()->exec("PRAGMA wal_autocheckpoint=0"); !r) return r;
  pool_->set_checkpoint_request([c = checkpointer_.get()] { c->request(); });
  return {};
}

CheckpointStats SqliteStore::checkpoint_stats() const {
  return checkpointer_ ? checkpointer_->stats() : CheckpointStats{};
}
ArticleRepository& SqliteStore::articles() { return *articles_; }
TokenRepository& SqliteStore::tokens() { return *tokens_; }
AccountRepository& SqliteStore::accounts() { return *accounts_; }
TickerRepository& SqliteStore::tickers() { return *tickers_; }
MailQueueRepository& SqliteStore::mail_queue() { return *mail_queue_; }
EventLog& SqliteStore::events() { return *events_; }
IdempotencyRepository& SqliteStore::idempotency() { return *idempotency_; }

Result<void> SqliteStore::transact(const std::function<Result<void>()>& work) {
  // Nested: a savepoint of the outer unit, so a failed inner part that the
  // outer one tolerates leaves nothing behind.
  if (Database* unit = pool_->unit_connection()) {
    // What the inner part queued to run after the commit goes with it.
    auto& queued = pool_->unit_after_commit();
    std::size_t before = queued.size();
    Transaction savepoint(*unit);
    auto inner = [&]() -> Result<void> {
      if (auto r = savepoint.begin(); !r) return r;
      if (auto r = work(); !r) return r;
      return savepoint.commit();
    }();
    if (!inner) queued.resize(before);
    return inner;
  }
  // A unit of its own, in the open group-commit batch: its savepoint keeps
  // a failure to itself, and it is done once the batch has committed.
  auto unit = pool_->begin_unit();
  if (!unit) return std::unexpected(unit.error());
  bool appended = false;
  std::vector<std::function<void()>> queued;
  auto done = [&]() -> Result<void> {
    Transaction savepoint(**unit);
    if (auto r = savepoint.begin(); !r) return r;
    if (auto r = work(); !r) return r;
    if (auto r = savepoint.commit(); !r) return r;
    appended = pool_->unit_appended();
    queued = std::move(pool_->unit_after_commit());
    return {};
  }();
  auto committed = pool_->end_unit();
  if (!done) return done;
  if (!committed) return committed;
  // After the writer is given back: a callback may use the store itself.
  if (appended) events_->notify();
  for (auto& fn : queued) fn();
  return {};
}

void SqliteStore::after_commit(std::function<void()> fn) {
  if (pool_->unit_connection())
    pool_->unit_after_commit().push_back(std::move(fn));
  else
    fn();
}

Result<int> SqliteStore::migrate() {
  auto db = pool_->writer();
  return sqlite::migrate(*db);
}

Result<void> SqliteStore::ping() {
  {
    auto db = pool_->reader();
    auto st = db->prepare("SELECT 1");
    if (!st) return std::unexpected(st.error());
    if (auto r = st->step(); !r) return std::unexpected(r.error());
  }
  // Answering queries is not enough: a store that cannot commit fails every
  // write while looking healthy. A one-row commit finds out.
  auto db = pool_->writer();
  auto st = db->prepare(
      "INSERT INTO store_meta (key, value) VALUES ('ready_probe', ?) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  if (!st) return std::unexpected(st.error());
  st->bind(1, std::to_string(now_millis()));
  return st->run();
}

Result<std::vector<std::string>> SqliteStore::tables() {
  auto db = pool_->reader();
  return table_names(*db);
}

Result<void> SqliteStore::dump(const std::vector<std::string>& tables,
                               const std::function<void(const StoredRow&)>& row) {
  auto db = pool_->reader();
  // One read transaction: every table as of the same commit (WAL keeps
  // that snapshot while writers go on). Inside a unit of work the reads
  // join it instead.
  bool own = sqlite3_get_autocommit(db->handle()) != 0;
  if (own) {
    if (auto r = db->exec("BEGIN"); !r) return r;
  }
  struct EndRead {
    Database& db;
    bool own;
    ~EndRead() {
      if (own) (void)db.exec("COMMIT");
    }
  } end_read{*db, own};
  auto known = table_names(*db);
  if (!known) return std::unexpected(known.error());
  const std::vector<std::string>& wanted = tables.empty() ? *known : tables;
  for (const auto& t : wanted)
    if (!std::binary_search(known->begin(), known->end(), t))
      return fail(ErrorCode::not_found, "no table named " + t);
  for (const auto& t : wanted)
    if (auto r = dump_table(*db, t, row); !r) return r;
  return {};
}

}  // namespace depesche::store::sqlite
