#pragma once
// A thin RAII layer over one SQLite connection: prepared statements cached
// per connection, typed binds and columns, errors as Result<>. Not
// thread-safe: a connection belongs to one thread at a time (see ConnectionPool).

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "store/sqlite/group_commit.hpp"

namespace depesche::store::sqlite {

class Statement {
 public:
  /// `in_use` (the cache's flag) is cleared when the statement is done;
  /// without one the statement is not cached and is finalised instead.
  Statement(sqlite3_stmt* stmt, bool* in_use) : stmt_(stmt), in_use_(in_use) {}
  ~Statement() {
    if (!stmt_) return;
    if (!in_use_) {
      sqlite3_finalize(stmt_);
      return;
    }
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  }
  Statement(Statement&& other) noexcept
      : stmt_(std::exchange(other.stmt_, nullptr)),
        in_use_(std::exchange(other.in_use_, nullptr)) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t v) {
    sqlite3_bind_int64(stmt_, index, v);
    return *this;
  }
  Statement& bind(int index, int v) {
    sqlite3_bind_int64(stmt_, index, v);
    return *this;
  }
  Statement& bind(int index, bool v) {
    sqlite3_bind_int64(stmt_, index, v ? 1 : 0);
    return *this;
  }
  Statement& bind(int index, std::string_view v) {
    sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int index, const std::string& v) { return bind(index, std::string_view(v)); }
  Statement& bind(int index, const char* v) { return bind(index, std::string_view(v)); }
  Statement& bind_null(int index) {
    sqlite3_bind_null(stmt_, index);
    return *this;
  }
  template <class T>
  Statement& bind(int index, const std::optional<T>& v) {
    return v ? bind(index, *v) : bind_null(index);
  }

  /// true: a row is ready; false: done. Errors become Result errors.
  Result<bool> step();
  /// Runs to completion, ignoring rows.
  Result<void> run();

  std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  std::optional<std::int64_t> opt_int64(int col) const {
    return is_null(col) ? std::nullopt : std::optional<std::int64_t>(int64(col));
  }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  /// The column's bytes as stored (a BLOB's or a TEXT's), without conversion.
  std::string bytes(int col) const {
    auto p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  /// SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL.
  int type(int col) const { return sqlite3_column_type(stmt_, col); }
  int column_count() const { return sqlite3_column_count(stmt_); }
  std::string column_name(int col) const {
    const char* p = sqlite3_column_name(stmt_, col);
    return p ? p : "";
  }

 private:
  sqlite3_stmt* stmt_;
  bool* in_use_;
};

class Database {
 public:
  /// Opens (creating when `create`) the file; WAL, foreign keys, busy timeout.
  static Result<std::unique_ptr<Database>> open(const std::string& path, bool read_only);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Runs SQL text with no parameters (schema, pragmas, BEGIN/COMMIT).
  Result<void> exec(std::string_view sql);
  /// A cached prepared statement for `sql`; reset when the Statement dies.
  /// While one is alive, preparing the same SQL again gives a second,
  /// uncached statement rather than resetting the first under its reader.
  Result<Statement> prepare(const char* sql);
  std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  struct Cached {
    sqlite3_stmt* stmt;
    bool in_use;
  };
  sqlite3* db_;
  // Keyed by the text, not its address: equal SQL from two places shares one.
  std::unordered_map<std::string, Cached> cache_;
};

/// Maps a SQLite result code to an Error (unique violation → conflict).
Error to_error(sqlite3* db, int rc);

/// A database transaction on one connection: rolls back unless committed.
/// Inside another transaction it is a savepoint of it, so a repository
/// call that needs its own atomicity also composes into a unit of work.
class Transaction {
 public:
  explicit Transaction(Database& db) : db_(db) {}
  Result<void> begin() {
    nested_ = sqlite3_get_autocommit(db_.handle()) == 0;
    auto r = db_.exec(nested_ ? "SAVEPOINT depesche_nested" : "BEGIN IMMEDIATE");
    active_ = r.has_value();
    return r;
  }
  Result<void> commit() {
    auto r = db_.exec(nested_ ? "RELEASE depesche_nested" : "COMMIT");
    if (r) active_ = false;
    return r;
  }
  ~Transaction() {
    if (!active_) return;
    if (nested_)
      (void)db_.exec("ROLLBACK TO depesche_nested; RELEASE depesche_nested");
    else
      (void)db_.exec("ROLLBACK");
  }

 private:
  Database& db_;
  bool active_ = false;
  bool nested_ = false;
};

/// One writer connection (SQLite allows one writer at a time anyway) and a
/// small set of reader connections, each lent to one thread at a time.
/// While a thread runs a unit of work (begin_unit()), every lease it takes,
/// reader or writer, is the writer connection inside that transaction.
class ConnectionPool {
 public:
  static Result<std::unique_ptr<ConnectionPool>> open(const std::string& path, std::size_t readers,
                                                      GroupCommitLimits group_commit = {});

  class Lease {
   public:
    Lease(ConnectionPool* pool, Database* db, bool writer)
        : pool_(pool), db_(db), writer_(writer) {}
    ~Lease() {
      if (pool_) pool_->release(db_, writer_);
    }
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), db_(other.db_), writer_(other.writer_) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Database& operator*() { return *db_; }
    Database* operator->() { return db_; }

   private:
    ConnectionPool* pool_;  // null: borrowed from the unit of work, nothing to give back
    Database* db_;
    bool writer_;
  };

  Lease reader();
  /// The writer for a write outside any unit of work (inside one: the
  /// unit's connection). An open group-commit batch is committed first.
  Lease writer();

  /// Starts the calling thread's unit of work on the writer connection, in
  /// the open group-commit batch (see group_commit.hpp); the unit's own
  /// savepoint is the caller's. Every lease the thread takes until
  /// end_unit() is that connection.
  Result<Database*> begin_unit();
  /// Ends the thread's unit and waits for its batch to commit: the result
  /// of that commit. What the unit queued (after_commit, appended) must be
  /// taken before.
  Result<void> end_unit();
  GroupCommitStats group_commit_stats() const { return group_->stats(); }

  /// The writer connection of this thread's unit of work, or null.
  Database* unit_connection() const;
  /// Marks the calling thread as running a unit of work on `writer` (a
  /// lease it holds), or ends that with null.
  void set_unit_connection(Database* writer);
  /// Set by the event log when a unit of work appended events; taken (and
  /// cleared) after the commit, to wake the relay once.
  bool& unit_appended();
  /// Asks the background checkpointer, if one runs, to checkpoint soon.
  void request_checkpoint() {
    if (checkpoint_request_) checkpoint_request_();
  }
  /// Set once, before the pool is shared between threads.
  void set_checkpoint_request(std::function<void()> request) {
    checkpoint_request_ = std::move(request);
  }
  /// What Store::after_commit() queued in this thread's unit of work.
  std::vector<std::function<void()>>& unit_after_commit();

 private:
  void release(Database* db, bool writer);
  std::unique_ptr<Database> writer_;
  std::unique_ptr<GroupCommit> group_;  // owns the writer's lock
  std::vector<std::unique_ptr<Database>> readers_;
  std::vector<Database*> free_readers_;
  std::mutex mutex_;
  std::condition_variable reader_free_;
  std::function<void()> checkpoint_request_;
};

}  // namespace depesche::store::sqlite
