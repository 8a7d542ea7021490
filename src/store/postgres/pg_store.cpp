#include "store/postgres/pg_store.hpp"

#include "base/log.hpp"
#include "base/time.hpp"
#include "store/postgres/connection_pool.hpp"
#include "store/postgres/migrations.hpp"
#include "store/postgres/pg_event_log.hpp"
#include "store/postgres/pg_repositories.hpp"

namespace depesche::store::postgres {

Result<std::unique_ptr<PgStore>> PgStore::open(const std::string& url, std::size_t connections) {
  auto pool = ConnectionPool::open(url, connections);
  if (!pool) return std::unexpected(pool.error());
  std::unique_ptr<PgStore> s(new PgStore());
  s->pool_ = std::move(*pool);
  s->articles_ = std::make_unique<PgArticleRepository>(*s->pool_);
  s->tokens_ = std::make_unique<PgTokenRepository>(*s->pool_);
  s->accounts_ = std::make_unique<PgAccountRepository>(*s->pool_);
  s->tickers_ = std::make_unique<PgTickerRepository>(*s->pool_);
  s->mail_queue_ = std::make_unique<PgMailQueueRepository>(*s->pool_);
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

}  // namespace depesche::store::postgres
