#include "store/postgres/pg_store.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "base/time.hpp"
#include "store/postgres/connection_pool.hpp"
#include "store/postgres/migrations.hpp"
#include "store/postgres/pg_event_log.hpp"
#include "store/postgres/pg_repositories.hpp"

namespace depesche::store::postgres {

Result<std::unique_ptr<PgStore>> PgStore::open(const std::string& url, std::size_t connections,
                                               int connect_timeout_s) {
  auto pool = ConnectionPool::open(url, connections, connect_timeout_s);
  if (!pool) return std::unexpected(pool.error());
  std::unique_ptr<PgStore> s(new PgStore());
  s->pool_ = std::move(*pool);
  s->articles_ = std::make_unique<PgArticleRepository>(*s->pool_);
  s->tokens_ = std::make_unique<PgTokenRepository>(*s->pool_);
  s->accounts_ = std::make_unique<PgAccountRepository>(*s->pool_);
  s->tickers_ = std::make_unique<PgTickerRepository>(*s->pool_);
  s->mail_queue_ = std::make_unique<PgMailQueueRepository>(*s->pool_);
  s->idempotency_ = std::make_unique<PgIdempotencyRepository>(*s->pool_);
  s->events_ = std::make_unique<PgEventLog>(*s->pool_);
  return s;
}

PgStore::~PgStore() = default;

ArticleRepository& PgStore::articles() { return *articles_; }
TokenRepository& PgStore::tokens() { return *tokens_; }
AccountRepository& PgStore::accounts() { return *accounts_; }
TickerRepository& PgStore::tickers() { return *tickers_; }
MailQueueRepository& PgStore::mail_queue() { return *mail_queue_; }
EventLog& PgStore::events() { return *events_; }
IdempotencyRepository& PgStore::idempotency() { return *idempotency_; }

Result<void> PgStore::transact(const std::function<Result<void>()>& work) {
  // Nested: a savepoint of the outer unit, so a failed inner part that the
  // outer one tolerates leaves nothing behind.
  if (Connection* unit = pool_->unit_connection()) {
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
  bool appended = false;
  std::vector<std::function<void()>> queued;
  for (int attempt = 1;; ++attempt) {
    appended = false;
    queued.clear();
    bool retry = false;
    Result<void> outcome;
    {
      auto lease = pool_->lease();
      if (!lease) return std::unexpected(lease.error());
      Connection& db = **lease;
      (void)db.take_retryable();
      pool_->set_unit_connection(&db);
      struct EndUnit {
        ConnectionPool& pool;
        ~EndUnit() { pool.set_unit_connection(nullptr); }
      } end_unit{*pool_};
      outcome = [&]() -> Result<void> {
        Transaction tx(db);
        if (auto r = tx.begin(); !r) return r;
        if (auto r = work(); !r) return r;
        appended = pool_->unit_appended();
        queued = std::move(pool_->unit_after_commit());
        return tx.commit();
      }();
      // A serialization failure or a deadlock anywhere in the unit (even
      // one that work() turned into another error) aborted all of it; run
      // it again from the start.
      retry = !outcome && db.take_retryable();
    }
    if (retry) {
      if (attempt < kAttempts) {
        log::warn("postgres unit of work retried", {{"attempt", attempt}});
        continue;
      }
      return fail(ErrorCode::unavailable, "the database is busy; try again");
    }
    if (!outcome) return outcome;
    break;
  }
  // After the connection is given back: a callback may use the store
  // itself. Only the committed attempt's callbacks are here.
  if (appended) events_->notify();
  for (auto& fn : queued) fn();
  return {};
}

void PgStore::after_commit(std::function<void()> fn) {
  if (pool_->unit_connection())
    pool_->unit_after_commit().push_back(std::move(fn));
  else
    fn();
}

Result<int> PgStore::migrate() {
  auto db = pool_->lease();
  if (!db) return std::unexpected(db.error());
  return postgres::migrate(**db);
}

Result<void> PgStore::ping() {
  auto db = pool_->lease();
  if (!db) return std::unexpected(db.error());
  if (auto r = (*db)->query("SELECT 1"); !r) return std::unexpected(r.error());
  // Answering queries is not enough: a server that cannot commit (a
  // standby, a full disk) fails every write while looking healthy. A
  // one-row commit finds out.
  auto r = (*db)->query(
      "INSERT INTO store_meta (key, value) VALUES ('ready_probe', $1) ON CONFLICT (key) DO "
      "UPDATE SET value = excluded.value",
      std::to_string(now_millis()));
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<void> run_sql(const std::string& url, std::string_view sql) {
  auto db = Connection::open(url);
  if (!db) return std::unexpected(db.error());
  return (*db)->exec(sql);
}

namespace {

// The tables of this schema, sorted; the migrations' bookkeeping included,
// as SQLite's schema_migrations is.
Result<std::vector<std::string>> table_names(Connection& db) {
  auto rows = db.query(
      "SELECT table_name::text FROM information_schema.tables WHERE table_schema = "
      "current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name");
  if (!rows) return std::unexpected(rows.error());
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

// A value in PostgreSQL's text form as the typed value every store reports.
StoredValue stored_value(const Rows& rows, int row, int col, const std::string& type) {
  if (rows.is_null(row, col)) return std::monostate{};
  std::string text = rows.text(row, col);
  if (type == "bigint" || type == "integer" || type == "smallint") return std::stoll(text);
  if (type == "boolean") return static_cast<std::int64_t>(text == "t" ? 1 : 0);
  if (type == "double precision" || type == "real" || type == "numeric") return std::stod(text);
  if (type == "bytea") {
    StoredBytes b;  // "\x0a1b...": hex output, PostgreSQL's default
    for (std::size_t i = 2; i + 1 < text.size(); i += 2)
      b.bytes.push_back(static_cast<char>(hex_digit(text[i]) * 16 + hex_digit(text[i + 1])));
    return b;
  }
  return text;
}

Result<void> dump_table(Connection& db, const std::string& table,
                        const std::function<void(const StoredRow&)>& row) {
  auto columns = db.query(
      "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE "
      "table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
      table);
  if (!columns) return std::unexpected(columns.error());
  auto key = db.query(
      "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
      "a.attnum = ANY(i.indkey) WHERE i.indrelid = (quote_ident(current_schema()) || '.' || "
      "quote_ident($1))::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
      table);
  if (!key) return std::unexpected(key.error());
  // Names come from the catalog (the table was checked against it), each
  // quoted, so nothing a caller typed reaches the SQL text.
  auto quoted = [](const std::string& name) {
    std::string q = "\"";
    for (char c : name) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::string sql = "SELECT * FROM " + quoted(table);
  if (!key->empty()) {
    sql += " ORDER BY ";
    for (int i = 0; i < key->size(); ++i) sql += (i ? ", " : "") + quoted(key->text(i, 0));
  }
  auto rows = db.query(sql, Params{});
  if (!rows) return std::unexpected(rows.error());
  for (int r = 0; r < rows->size(); ++r) {
    StoredRow out{table, {}};
    for (int c = 0; c < columns->size(); ++c)
      out.columns.emplace_back(columns->text(c, 0), stored_value(*rows, r, c, columns->text(c, 1)));
    row(out);
  }
  return {};
}

}  // namespace

Result<std::vector<std::string>> PgStore::tables() {
  auto db = pool_->lease();
  if (!db) return std::unexpected(db.error());
  return table_names(**db);
}

Result<void> PgStore::dump(const std::vector<std::string>& tables,
                           const std::function<void(const StoredRow&)>& row) {
  auto db = pool_->lease();
  if (!db) return std::unexpected(db.error());
  Connection& c = **db;
  // One snapshot for every table; inside a unit of work the reads join it.
  bool own = !c.in_transaction();
  if (own) {
    if (auto r = c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !r) return r;
  }
  struct EndRead {
    Connection& c;
    bool own;
    ~EndRead() {
      if (own) (void)c.exec("COMMIT");
    }
  } end_read{c, own};
  auto known = table_names(c);
  if (!known) return std::unexpected(known.error());
  const std::vector<std::string>& wanted = tables.empty() ? *known : tables;
  for (const auto& t : wanted)
    if (!std::binary_search(known->begin(), known->end(), t))
      return fail(ErrorCode::not_found, "no table named " + t);
  for (const auto& t : wanted)
    if (auto r = dump_table(c, t, row); !r) return r;
  return {};
}

}  // namespace depesche::store::postgres
