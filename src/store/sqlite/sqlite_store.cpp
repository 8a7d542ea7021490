#include "store/sqlite/sqlite_store.hpp"

#include "store/sqlite/database.hpp"
#include "store/sqlite/migrations.hpp"
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
  return s;
}

SqliteStore::~SqliteStore() = default;
ArticleRepository& SqliteStore::articles() { return *articles_; }
TokenRepository& SqliteStore::tokens() { return *tokens_; }
AccountRepository& SqliteStore::accounts() { return *accounts_; }
TickerRepository& SqliteStore::tickers() { return *tickers_; }
MailQueueRepository& SqliteStore::mail_queue() { return *mail_queue_; }

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
