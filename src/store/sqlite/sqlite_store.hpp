#pragma once
// The embedded default store: one SQLite file (WAL) under the data dir.

#include <memory>
#include <string>

#include "store/store.hpp"

namespace depesche::store::sqlite {

class ConnectionPool;
class SqliteEventLog;

class SqliteStore final : public Store {
 public:
  /// Opens or creates the database file; does not migrate (call migrate()).
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                   std::size_t readers = 4);
  ~SqliteStore() override;

  ArticleRepository& articles() override;
  TokenRepository& tokens() override;
  AccountRepository& accounts() override;
  TickerRepository& tickers() override;
  MailQueueRepository& mail_queue() override;
  EventLog& events() override;
  Result<void> transact(const std::function<Result<void>()>& work) override;
  Result<int> migrate() override;
  Result<void> ping() override;
  Result<std::vector<std::string>> tables() override;
  Result<void> dump(const std::vector<std::string>& tables,
                    const std::function<void(const StoredRow&)>& row) override;

 private:
  SqliteStore() = default;
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<ArticleRepository> articles_;
  std::unique_ptr<TokenRepository> tokens_;
  std::unique_ptr<AccountRepository> accounts_;
  std::unique_ptr<TickerRepository> tickers_;
  std::unique_ptr<MailQueueRepository> mail_queue_;
  std::unique_ptr<SqliteEventLog> events_;
};

}  // namespace depesche::store::sqlite
