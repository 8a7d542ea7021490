#pragma once
// A fixed set of PostgreSQL connections, each lent to one thread at a time.
// While a thread runs a unit of work (Store::transact), every lease it takes
// is that unit's connection, inside its transaction.

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "store/postgres/connection.hpp"

namespace depesche::store::postgres {

class ConnectionPool {
 public:
  /// Opens `size` connections at once, so that a wrong URL or a server that
  /// is down fails at start, not on the first request.
  static Result<std::unique_ptr<ConnectionPool>> open(
      const std::string& url, std::size_t size,
      int connect_timeout_s = Connection::kConnectTimeoutS);

  class Lease {
   public:
    Lease(ConnectionPool* pool, std::size_t slot, Connection* db)
        : pool_(pool), slot_(slot), db_(db) {}
    ~Lease() {
      if (pool_) pool_->release(slot_);
    }
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), slot_(other.slot_), db_(other.db_) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Connection& operator*() { return *db_; }
    Connection* operator->() { return db_; }

   private:
    ConnectionPool* pool_;  // null: borrowed from the unit of work, nothing to give back
    std::size_t slot_;
    Connection* db_;
  };

  /// This thread's unit connection, or a free one (waiting for one when all
  /// are lent). A connection that was lost is reopened first; unavailable
  /// when that fails.
  Result<Lease> lease();

  /// The connection of this thread's unit of work, or null.
  Connection* unit_connection() const;
  /// Marks the calling thread as running a unit of work on `db` (a lease
  /// it holds), or ends that with null.
  void set_unit_connection(Connection* db);
  /// Set by the event log when a unit of work appended events; read after
  /// the commit, to wake the relay once.
  bool& unit_appended();
  /// What Store::after_commit() queued in this thread's unit of work.
  std::vector<std::function<void()>>& unit_after_commit();

  const std::string& url() const { return url_; }

 private:
  void release(std::size_t slot);
  std::string url_;
  int connect_timeout_s_ = Connection::kConnectTimeoutS;
  std::vector<std::unique_ptr<Connection>> slots_;
  std::vector<std::size_t> free_;
  std::mutex mutex_;
  std::condition_variable slot_free_;
};

}  // namespace depesche::store::postgres
