#include "store/sqlite/sqlite_store.hpp"

#include "store/sqlite/database.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite_event_log.hpp"
#include "store/sqlite/sqlite_repositories.hpp"

namespace depesche::store::sqlite {

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                       std::size_t readers) {
  auto pool = ConnectionPool::open(path, readers);
  if (!pool) return std::unexpected(pool.error());
  std::unique_ptr<SqliteStore> s(new SqliteStore());
  s->pool_ = std::move(*pool);
  s->articles_ = std::make_unique<SqliteArticleRepository>(*s->pool_);
  s->tokens_ = std::make_unique<SqliteTokenRepository>(*s->pool_);
  s->accounts_ = std::make_unique<SqliteAccountRepository>(*s->pool_);
  s->tickers_ = std::make_unique<SqliteTickerRepository>(*s->pool_);
  s->mail_queue_ = std::make_unique<SqliteMailQueueRepository>(*s->pool_);
  s->events_ = std::make_unique<SqliteEventLog>(*s->pool_);
  return s;
}

SqliteStore::~SqliteStore() = default;
ArticleRepository& SqliteStore::articles() { return *articles_; }
TokenRepository& SqliteStore::tokens() { return *tokens_; }
AccountRepository& SqliteStore::accounts() { return *accounts_; }
TickerRepository& SqliteStore::tickers() { return *tickers_; }
MailQueueRepository& SqliteStore::mail_queue() { return *mail_queue_; }
EventLog& SqliteStore::events() { return *events_; }

Result<void> SqliteStore::transact(const std::function<Result<void>()>& work) {
  // Nested: a savepoint of the outer unit, so a failed inner part that the
  // outer one tolerates leaves nothing behind.
  if (Database* unit = pool_->unit_connection()) {
    Transaction savepoint(*unit);
    if (auto r = savepoint.begin(); !r) return r;
    if (auto r = work(); !r) return r;
    return savepoint.commit();
  }
  auto writer = pool_->writer();
  pool_->set_unit_connection(&*writer);
  struct EndUnit {
    ConnectionPool& pool;
    ~EndUnit() { pool.set_unit_connection(nullptr); }
  } end_unit{*pool_};
  Transaction tx(*writer);
  if (auto r = tx.begin(); !r) return r;
  if (auto r = work(); !r) return r;
  bool appended = pool_->unit_appended();
  if (auto r = tx.commit(); !r) return r;
  if (appended) events_->notify();
  return {};
}

Result<int> SqliteStore::migrate() {
  auto db = pool_->writer();
  return sqlite::migrate(*db);
}

Result<void> SqliteStore::ping() {
  auto db = pool_->reader();
  auto st = db->prepare("SELECT 1");
  if (!st) return std::unexpected(st.error());
  auto r = st->step();
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace depesche::store::sqlite
