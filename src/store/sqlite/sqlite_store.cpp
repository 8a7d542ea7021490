#include "store/sqlite/sqlite_store.hpp"

#include "base/time.hpp"
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
  s->path_ = path;
  s->articles_ = std::make_unique<SqliteArticleRepository>(*s->pool_);
  s->tokens_ = std::make_unique<SqliteTokenRepository>(*s->pool_);
  s->accounts_ = std::make_unique<SqliteAccountRepository>(*s->pool_);
  s->tickers_ = std::make_unique<SqliteTickerRepository>(*s->pool_);
  s->mail_queue_ = std::make_unique<SqliteMailQueueRepository>(*s->pool_);
  s->events_ = std::make_unique<SqliteEventLog>(*s->pool_);
  return s;
}

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
  bool appended = false;
  std::vector<std::function<void()>> queued;
  {
    auto writer = pool_->writer();
    pool_->set_unit_connection(&*writer);
    struct EndUnit {
      ConnectionPool& pool;
      ~EndUnit() { pool.set_unit_connection(nullptr); }
    } end_unit{*pool_};
    Transaction tx(*writer);
    if (auto r = tx.begin(); !r) return r;
    if (auto r = work(); !r) return r;
    appended = pool_->unit_appended();
    queued = std::move(pool_->unit_after_commit());
    if (auto r = tx.commit(); !r) return r;
  }
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

}  // namespace depesche::store::sqlite
