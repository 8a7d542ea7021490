#pragma once
// Moves the write-ahead log into the database file in the background, so no
// request's write waits for a checkpoint. SQLite's own auto-checkpoint runs
// inside the commit that crosses its threshold (a stall on the request
// path), and a TRUNCATE checkpoint under the writer waits for every reader;
// this thread does neither. On its own connection it runs a passive
// checkpoint every `interval` and when asked, and once everything is in the
// database file it truncates the WAL to nothing (which also takes the
// bodies of sent mails off the disk). It never waits: when a reader or a
// writer is in the way it gives up at once and tries again later.

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/error.hpp"

namespace depesche::store::sqlite {

struct CheckpointStats {
  std::uint64_t checkpoints = 0;  // passive checkpoints run
  std::uint64_t truncations = 0;  // times the WAL was emptied
  std::int64_t wal_frames = 0;    // frames in the WAL after the last checkpoint
  std::int64_t longest_ms = 0;    // the slowest checkpoint so far
};

class WalCheckpointer {
 public:
  /// Opens its own connection to `path` and starts the thread.
  static Result<std::unique_ptr<WalCheckpointer>> start(const std::string& path,
                                                        std::chrono::milliseconds interval);
  /// Stops the thread after the checkpoint in hand.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  /// Checkpoint soon, not at the next interval (after a write whose old
  /// content should leave the WAL, such as a sent mail's body).
  void request();
  CheckpointStats stats() const;

 private:
  WalCheckpointer(sqlite3* db, std::chrono::milliseconds interval);
  void run();
  void checkpoint();

  sqlite3* db_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  bool stopping_ = false;
  std::atomic<std::uint64_t> checkpoints_{0}, truncations_{0};
  std::atomic<std::int64_t> wal_frames_{0}, longest_ms_{0};
  std::thread thread_;
};

}  // namespace depesche::store::sqlite
