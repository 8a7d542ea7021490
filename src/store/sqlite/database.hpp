#pragma once
// A thin RAII layer over one SQLite connection: prepared statements cached
// per connection, typed binds and columns, errors as Result<>. Not
// thread-safe: a connection belongs to one thread at a time (see ConnectionPool).

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/error.hpp"

namespace depesche::store::sqlite {

class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() {
    if (stmt_) sqlite3_reset(stmt_), sqlite3_clear_bindings(stmt_);
  }
  Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
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

 private:
  sqlite3_stmt* stmt_;
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
  Result<Statement> prepare(const char* sql);
  std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

/// Maps a SQLite result code to an Error (unique violation → conflict).
Error to_error(sqlite3* db, int rc);

/// A database transaction on one connection: rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(Database& db) : db_(db) {}
  Result<void> begin() {
    auto r = db_.exec("BEGIN IMMEDIATE");
    active_ = r.has_value();
    return r;
  }
  Result<void> commit() {
    auto r = db_.exec("COMMIT");
    if (r) active_ = false;
    return r;
  }
  ~Transaction() {
    if (active_) (void)db_.exec("ROLLBACK");
  }

 private:
  Database& db_;
  bool active_ = false;
};

/// One writer connection (SQLite allows one writer at a time anyway) and a
/// small set of reader connections, each lent to one thread at a time.
class ConnectionPool {
 public:
  static Result<std::unique_ptr<ConnectionPool>> open(const std::string& path, std::size_t readers);

  class Lease {
   public:
    Lease(ConnectionPool& pool, Database* db, bool writer)
        : pool_(pool), db_(db), writer_(writer) {}
    ~Lease() { pool_.release(db_, writer_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Database& operator*() { return *db_; }
    Database* operator->() { return db_; }

   private:
    ConnectionPool& pool_;
    Database* db_;
    bool writer_;
  };

  Lease reader();
  Lease writer();

 private:
  void release(Database* db, bool writer);
  std::unique_ptr<Database> writer_;
  std::vector<std::unique_ptr<Database>> readers_;
  std::vector<Database*> free_readers_;
  std::mutex mutex_;
  std::mutex writer_mutex_;
  std::condition_variable reader_free_;
};

}  // namespace depesche::store::sqlite
