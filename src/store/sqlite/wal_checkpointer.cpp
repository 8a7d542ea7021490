#include "store/sqlite/wal_checkpointer.hpp"

#include "base/log.hpp"

namespace depesche::store::sqlite {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::start(
    const std::string& path, std::chrono::milliseconds interval) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return fail(ErrorCode::unavailable, "checkpointer: cannot open " + path + ": " + why);
  }
  // A connection opens the WAL only once it reads; until then a checkpoint
  // does nothing and says all is well.
  if (sqlite3_exec(db, "PRAGMA journal_mode", nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string why = sqlite3_errmsg(db);
    sqlite3_close(db);
    return fail(ErrorCode::unavailable, "checkpointer: cannot read " + path + ": " + why);
  }
  // No busy handler: whoever is in the way wins, the checkpoint comes later.
  sqlite3_busy_timeout(db, 0);
  return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(db, interval));
}

WalCheckpointer::WalCheckpointer(sqlite3* db, std::chrono::milliseconds interval)
    : db_(db), interval_(interval), thread_([this] { run(); }) {}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  sqlite3_close(db_);
}

void WalCheckpointer::request() {
  {
    std::lock_guard lock(mutex_);
    requested_ = true;
  }
  wake_.notify_one();
}

CheckpointStats WalCheckpointer::stats() const {
  return {checkpoints_.load(), truncations_.load(), wal_frames_.load(), longest_ms_.load()};
}

void WalCheckpointer::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [&] { return stopping_ || requested_; });
    if (stopping_) break;
    requested_ = false;
    lock.unlock();
    checkpoint();
    lock.lock();
  }
}

void WalCheckpointer::checkpoint() {
  auto started = std::chrono::steady_clock::now();
  int frames = 0, done = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_, "main", SQLITE_CHECKPOINT_PASSIVE, &frames, &done);
  checkpoints_.fetch_add(1, std::memory_order_relaxed);
  if (rc == SQLITE_OK && frames > 0 && done == frames) {
    // Everything is in the database file: empty the WAL. It needs a moment
    // with no writer and no reader on an older snapshot; without a busy
    // handler it fails at once otherwise, and the next round tries again.
    int left = 0, moved = 0;
    if (sqlite3_wal_checkpoint_v2(db_, "main", SQLITE_CHECKPOINT_TRUNCATE, &left, &moved) ==
        SQLITE_OK) {
      truncations_.fetch_add(1, std::memory_order_relaxed);
      frames = 0;
    }
  } else if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
    log::warn("wal checkpoint failed", {{"error", sqlite3_errmsg(db_)}});
  }
  wal_frames_.store(frames < 0 ? 0 : frames, std::memory_order_relaxed);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  std::int64_t longest = longest_ms_.load(std::memory_order_relaxed);
  while (ms > longest && !longest_ms_.compare_exchange_weak(longest, ms)) {
  }
}

}  // namespace depesche::store::sqlite
