#pragma once
// The event log on PostgreSQL: tables events, event_topics (a topic's last
// seq and epoch), relay_positions; see store/event_log.hpp for the contract
// and docs/decisions.md ("Positions on PostgreSQL") for why appends are
// serialised.

#include <functional>
#include <mutex>

#include "store/commit_signal.hpp"
#include "store/event_log.hpp"
#include "store/postgres/connection_pool.hpp"

namespace depesche::store::postgres {

class PgEventLog final : public EventLog {
 public:
  explicit PgEventLog(ConnectionPool& pool) : pool_(pool) {}
  Result<LoggedEvent> append(std::string_view topic, std::string_view name, std::string_view data,
                             Millis at) override;
  Result<std::vector<LoggedEvent>> after_position(std::int64_t position, int limit) override;
  Result<std::vector<LoggedEvent>> topic_after(std::string_view topic, std::uint64_t seq,
                                               int limit) override;
  Result<TopicHead> head(std::string_view topic) override;
  Result<std::int64_t> latest_position() override;
  Result<std::int64_t> relay_position(std::string_view relay) override;
  Result<void> set_relay_position(std::string_view relay, std::int64_t position) override;
  Result<std::int64_t> prune(const Retention& retention, Millis now) override;
  Result<void> reset_topic(std::string_view topic) override;
  void on_commit(std::function<void()> wake) override { committed_.set(std::move(wake)); }

  /// Runs the wake hook; the store calls it after a unit of work that
  /// appended events has committed.
  void notify() { committed_.notify(); }

 private:
  ConnectionPool& pool_;
  CommitSignal committed_;
};

}  // namespace depesche::store::postgres
