#pragma once
// The scale-out store: PostgreSQL through libpq, selected by a
// postgres:// URL. Same contract as the SQLite store (store/store.hpp),
// checked by the same contract suites (tests/unit/store/).
//
// app/ opens it for store.url = postgres://... (app/store_opener.cpp).
// The mail queue has no claim for several nodes yet (docs/decisions.md).

#include <memory>
#include <string>
#include <string_view>

#include "store/postgres/connection.hpp"
#include "store/store.hpp"

namespace depesche::store::postgres {

class ConnectionPool;
class PgEventLog;

class PgStore final : public Store {
 public:
  /// Connects `connections` connections (a fixed pool; each unit of work
  /// holds one for its length, so size it like the blocking pool). Does
  /// not migrate (call migrate()). unavailable when the server cannot be
  /// reached (after `connect_timeout_s` for a server that does not answer).
  static Result<std::unique_ptr<PgStore>> open(
      const std::string& url, std::size_t connections = 4,
      int connect_timeout_s = Connection::kConnectTimeoutS);
  ~PgStore() override;

  ArticleRepository& articles() override;
  TokenRepository& tokens() override;
  AccountRepository& accounts() override;
  TickerRepository& tickers() override;
  MailQueueRepository& mail_queue() override;
  EventLog& events() override;
  IdempotencyRepository& idempotency() override;
  /// As Store::transact. A unit that fails with a serialization failure or
  /// a deadlock is run again, up to kAttempts times in all, then fails as
  /// unavailable: `work` must be safe to repeat (it is, when all it
  /// changes is in the store).
  Result<void> transact(const std::function<Result<void>()>& work) override;
  void after_commit(std::function<void()> fn) override;
  Result<std::vector<std::string>> tables() override;
  Result<void> dump(const std::vector<std::string>& tables,
                    const std::function<void(const StoredRow&)>& row) override;
  Result<int> migrate() override;
  Result<void> ping() override;

  static constexpr int kAttempts = 4;

 private:
  PgStore() = default;
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<ArticleRepository> articles_;
  std::unique_ptr<TokenRepository> tokens_;
  std::unique_ptr<AccountRepository> accounts_;
  std::unique_ptr<TickerRepository> tickers_;
  std::unique_ptr<MailQueueRepository> mail_queue_;
  std::unique_ptr<IdempotencyRepository> idempotency_;
  std::unique_ptr<PgEventLog> events_;
};

/// For tests and tools: runs SQL text on a connection of its own (creating
/// or dropping a schema, say).
Result<void> run_sql(const std::string& url, std::string_view sql);

}  // namespace depesche::store::postgres
