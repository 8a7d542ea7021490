#pragma once
// The embedded default store: one SQLite file (WAL) under the data dir.

#include <memory>
#include <string>

#include "store/sqlite/group_commit.hpp"
#include "store/sqlite/wal_checkpointer.hpp"
#include "store/store.hpp"

namespace depesche::store::sqlite {

class ConnectionPool;
class SqliteEventLog;

class SqliteStore final : public Store {
 public:
  /// Opens or creates the database file; does not migrate (call migrate()).
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, std::size_t readers = 4,
                                                   GroupCommitLimits group_commit = {});
  ~SqliteStore() override;

  ArticleRepository& articles() override;
  TokenRepository& tokens() override;
  AccountRepository& accounts() override;
  TickerRepository& tickers() override;
  MailQueueRepository& mail_queue() override;
  EventLog& events() override;
  IdempotencyRepository& idempotency() override;
  Result<void> transact(const std::function<Result<void>()>& work) override;
  void after_commit(std::function<void()> fn) override;
  Result<int> migrate() override;
  Result<void> ping() override;
  Result<std::vector<std::string>> tables() override;
  Result<void> dump(const std::vector<std::string>& tables,
                    const std::function<void(const StoredRow&)>& row) override;

  /// Starts the background WAL checkpointer (see wal_checkpointer.hpp) and
  /// turns SQLite's in-commit auto-checkpoint off; for servers. Without it
  /// SQLite checkpoints inside commits, which is fine for short commands.
  Result<void> start_checkpointer(std::chrono::milliseconds interval);
  CheckpointStats checkpoint_stats() const;
  GroupCommitStats group_commit_stats() const;

 private:
  SqliteStore() = default;
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<ArticleRepository> articles_;
  std::unique_ptr<TokenRepository> tokens_;
  std::unique_ptr<AccountRepository> accounts_;
  std::unique_ptr<TickerRepository> tickers_;
  std::unique_ptr<MailQueueRepository> mail_queue_;
  std::unique_ptr<IdempotencyRepository> idempotency_;
  std::unique_ptr<SqliteEventLog> events_;
  std::unique_ptr<WalCheckpointer> checkpointer_;  // last member: stops first
  std::string path_;
};

}  // namespace depesche::store::sqlite
