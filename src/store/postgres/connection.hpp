#pragma once
// A thin RAII layer over one libpq connection: statements prepared once per
// connection (cached by their SQL text), parameters and results in text
// form, errors as Result<> through one SQLSTATE mapping. Blocking, and not
// thread-safe: a connection belongs to one thread at a time (see
// ConnectionPool).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/error.hpp"

struct pg_conn;
struct pg_result;

namespace depesche::store::postgres {

/// Positional parameters ($1, $2, ...) in PostgreSQL's text form; nullopt
/// is SQL NULL. Write casts in the SQL ($1::bigint) where the server cannot
/// infer a parameter's type.
class Params {
 public:
  Params& add(std::int64_t v) { return text(std::to_string(v)); }
  Params& add(int v) { return text(std::to_string(v)); }
  Params& add(bool v) { return text(v ? "true" : "false"); }
  Params& add(std::string_view v) { return text(std::string(v)); }
  Params& add(const std::string& v) { return text(v); }
  Params& add(const char* v) { return text(v); }
  Params& add(std::nullopt_t) {
    values_.emplace_back();
    nulls_.push_back(true);
    return *this;
  }
  template <class T>
  Params& add(const std::optional<T>& v) {
    return v ? add(*v) : add(std::nullopt);
  }

  int size() const { return static_cast<int>(values_.size()); }
  /// Pointers for PQexecPrepared; valid while the Params live unchanged.
  std::vector<const char*> pointers() const;

 private:
  Params& text(std::string v) {
    values_.push_back(std::move(v));
    nulls_.push_back(false);
    return *this;
  }
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
};

/// The rows (and the affected count) of one statement.
class Rows {
 public:
  explicit Rows(pg_result* res) : res_(res) {}
  ~Rows();
  Rows(Rows&& other) noexcept : res_(std::exchange(other.res_, nullptr)) {}
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  Rows& operator=(Rows&&) = delete;

  int size() const;
  bool empty() const { return size() == 0; }
  /// Rows an INSERT, UPDATE or DELETE touched.
  std::int64_t affected() const;

  bool is_null(int row, int col) const;
  std::string text(int row, int col) const;
  std::int64_t int64(int row, int col) const;
  bool boolean(int row, int col) const;
  std::optional<std::int64_t> opt_int64(int row, int col) const {
    return is_null(row, col) ? std::nullopt : std::optional<std::int64_t>(int64(row, col));
  }

 private:
  pg_result* res_;
};

class Connection {
 public:
  /// Connects with a libpq URL or key=value string; unavailable with the
  /// server's reason when that fails. A server that does not answer is
  /// given up after `connect_timeout_s` (libpq waits for ever by default)
  /// unless the URL sets its own connect_timeout.
  static Result<std::unique_ptr<Connection>> open(const std::string& url,
                                                  int connect_timeout_s = kConnectTimeoutS);
  static constexpr int kConnectTimeoutS = 10;
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Runs SQL text without parameters, several statements allowed
  /// (schema, BEGIN/COMMIT, SAVEPOINT).
  Result<void> exec(std::string_view sql);
  /// Runs one statement, prepared on this connection the first time its
  /// text is seen.
  Result<Rows> query(const std::string& sql, const Params& params);
  template <class... Args>
  Result<Rows> query(const std::string& sql, const Args&... args) {
    Params p;
    (p.add(args), ...);
    return query(sql, p);
  }

  /// Inside BEGIN ... COMMIT (also when the transaction has failed).
  bool in_transaction() const;
  /// Inside a transaction that a failed statement has aborted.
  bool failed_transaction() const;
  /// The connection is lost (or the server ended it): the pool replaces it.
  bool broken() const;
  /// For an idle connection: whether the server has said anything since
  /// the last answer. An idle session gets nothing unasked but its end (a
  /// restart, a failover, pg_terminate_backend: a FATAL message and EOF),
  /// so the pool replaces such a connection before anyone uses it. One
  /// poll() without waiting; a false alarm costs a reconnect.
  bool spoke_unasked() const;
  /// For a connection that ran LISTEN: waits up to `timeout` for
  /// notifications and returns how many arrived (0 when none did);
  /// unavailable once the connection is lost.
  Result<int> await_notifications(std::chrono::milliseconds timeout);
  /// Whether a statement failed with a serialization failure or a deadlock
  /// since the last call; transact() retries its unit then.
  bool take_retryable() { return std::exchange(retryable_, false); }

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  /// Turns a failed result (or none) into an Error, logging what the user
  /// must not see, and notes a lost connection or a retryable failure.
  Error error_of(pg_result* res);

  pg_conn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text → statement name
  bool lost_ = false;
  bool retryable_ = false;
};

/// Whether libpq can parse `url` as a connection URL or key=value string:
/// invalid with libpq's reason (which never repeats a password) if not.
/// Connects to nothing.
Result<void> check_url(const std::string& url);

/// A transaction on one connection that rolls back unless committed.
/// Inside another transaction it is a savepoint of it, so a repository
/// call that needs its own atomicity also composes into a unit of work.
class Transaction {
 public:
  explicit Transaction(Connection& db) : db_(db) {}
  Result<void> begin();
  Result<void> commit();
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  Connection& db_;
  bool active_ = false;
  bool nested_ = false;
};

/// Runs one statement that may break a constraint. In PostgreSQL a failed
/// statement aborts the whole transaction around it, where SQLite only
/// undoes the statement; a savepoint (only when a transaction is open)
/// keeps the SQLite meaning, so a unit of work may tolerate a conflict.
template <class... Args>
Result<Rows> query_guarded(Connection& db, const std::string& sql, const Args&... args) {
  if (!db.in_transaction()) return db.query(sql, args...);
  Transaction savepoint(db);
  if (auto r = savepoint.begin(); !r) return std::unexpected(r.error());
  auto rows = db.query(sql, args...);
  if (!rows) return rows;
  if (auto r = savepoint.commit(); !r) return std::unexpected(r.error());
  return rows;
}

}  // namespace depesche::store::postgres
