#include "store/sqlite/database.hpp"

#include <condition_variable>

#include "base/log.hpp"

namespace depesche::store::sqlite {

Error to_error(sqlite3* db, int rc) {
  int primary = rc & 0xff;
  std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (primary == SQLITE_CONSTRAINT) {
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
      return Error{ErrorCode::conflict, "already exists"};
    return Error{ErrorCode::invalid, "violates a data rule"};
  }
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
    return Error{ErrorCode::unavailable, "the database is busy; try again"};
  log::error("sqlite error", {{"code", rc}, {"detail", detail}});
  // The disk, not the request: a read-only file, a full disk, an I/O error.
  // Clients may retry later; /readyz says not ready meanwhile.
  if (primary == SQLITE_READONLY || primary == SQLITE_FULL || primary == SQLITE_IOERR ||
      primary == SQLITE_CANTOPEN)
    return Error{ErrorCode::unavailable, "the database cannot take writes right now"};
  return Error{ErrorCode::internal, "storage error"};
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return std::unexpected(
      to_error(sqlite3_db_handle(stmt_), sqlite3_extended_errcode(sqlite3_db_handle(stmt_))));
}

Result<void> Statement::run() {
  for (;;) {
    auto r = step();
    if (!r) return std::unexpected(r.error());
    if (!*r) return {};
  }
}

Result<std::unique_ptr<Database>> Database::open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    log::error("cannot open database", {{"path", path}, {"error", msg}});
    return fail(ErrorCode::unavailable, "cannot open database " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<Database> d(new Database(db));
  // WAL: readers never block the writer. synchronous=FULL: an acknowledged
  // commit survives power loss, not only kill -9.
  const char* pragmas =
      read_only ? "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;"
                : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                  "PRAGMA secure_delete=ON;";
  if (auto r = d->exec(pragmas); !r) return std::unexpected(r.error());
  return d;
}

Database::~Database() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  sqlite3_close(db_);
}

Result<void> Database::exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (err) sqlite3_free(err);
  if (rc != SQLITE_OK) return std::unexpected(to_error(db_, sqlite3_extended_errcode(db_)));
  return {};
}

Result<Statement> Database::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Result<Statement>(std::in_place, it->second.stmt, &it->second.in_use);
  }
  bool cache = it == cache_.end();
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, cache ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(to_error(db_, rc));
  if (!cache) return Result<Statement>(std::in_place, stmt, nullptr);
  auto [slot, fresh] = cache_.emplace(sql, Cached{stmt, true});
  return Result<Statement>(std::in_place, stmt, &slot->second.in_use);
}

Result<std::unique_ptr<ConnectionPool>> ConnectionPool::open(const std::string& path,
                                                             std::size_t readers,
                                                             GroupCommitLimits group_commit) {
  auto pool = std::make_unique<ConnectionPool>();
  auto w = Database::open(path, false);
  if (!w) return std::unexpected(w.error());
  pool->writer_ = std::move(*w);
  pool->group_ = std::make_unique<GroupCommit>(*pool->writer_, group_commit);
  for (std::size_t i = 0; i < std::max<std::size_t>(1, readers); ++i) {
    auto r = Database::open(path, true);
    if (!r) return std::unexpected(r.error());
    pool->free_readers_.push_back(r->get());
    pool->readers_.push_back(std::move(*r));
  }
  return pool;
}

namespace {
// The unit of work a thread runs, per pool (tests open several stores).
struct UnitOfWork {
  const ConnectionPool* pool = nullptr;
  Database* db = nullptr;
  bool appended = false;
  std::vector<std::function<void()>> after_commit;
};
thread_local UnitOfWork current_unit;
}  // namespace

Database* ConnectionPool::unit_connection() const {
  return current_unit.pool == this ? current_unit.db : nullptr;
}

void ConnectionPool::set_unit_connection(Database* writer) {
  current_unit = writer ? UnitOfWork{this, writer, false} : UnitOfWork{};
}

bool& ConnectionPool::unit_appended() { return current_unit.appended; }

std::vector<std::function<void()>>& ConnectionPool::unit_after_commit() {
  return current_unit.after_commit;
}

ConnectionPool::Lease ConnectionPool::reader() {
  if (Database* unit = unit_connection()) return Lease(nullptr, unit, true);
  std::unique_lock lock(mutex_);
  reader_free_.wait(lock, [&] { return !free_readers_.empty(); });
  Database* db = free_readers_.back();
  free_readers_.pop_back();
  return Lease(this, db, false);
}

ConnectionPool::Lease ConnectionPool::writer() {
  if (Database* unit = unit_connection()) return Lease(nullptr, unit, true);
  group_->lock_alone();
  return Lease(this, writer_.get(), true);
}

Result<Database*> ConnectionPool::begin_unit() {
  if (auto r = group_->enter(); !r) return std::unexpected(r.error());
  set_unit_connection(writer_.get());
  return writer_.get();
}

Result<void> ConnectionPool::end_unit() {
  set_unit_connection(nullptr);
  return group_->leave();
}

void ConnectionPool::release(Database* db, bool writer) {
  if (writer) {
    group_->unlock();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    free_readers_.push_back(db);
  }
  reader_free_.notify_one();
}

}  // namespace depesche::store::sqlite
