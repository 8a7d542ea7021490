#pragma once
// Group commit: units of work that come together share one SQLite
// transaction, and so one fsync, while each still commits wholly or not at
// all and is acknowledged only once its data is on disk.
//
// SQLite has one writer at a time and, at synchronous=FULL, one fsync per
// commit: a server that commits each unit alone is bound by the disk's
// fsync rate however many writers wait. Here a unit runs inside the open
// batch transaction, in a savepoint of its own (a failed unit rolls back to
// it and takes nothing else with it). When it ends it commits the batch
// itself if nobody waits for the writer, or the batch is full or old;
// otherwise it hands the writer on and waits for whoever commits. So one
// writer alone commits at once, as before, and many writers share a commit
// while the disk is busy with the previous one.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "base/error.hpp"

namespace depesche::store::sqlite {

class Database;

struct GroupCommitLimits {
  /// The most units one commit takes.
  std::size_t max_units = 128;
  /// A batch older than this is committed by the next unit that ends, even
  /// while writers wait: it bounds how long a unit waits for its commit.
  std::chrono::microseconds max_age{5000};
};

struct GroupCommitStats {
  std::uint64_t commits = 0;      // batch commits that succeeded
  std::uint64_t failed = 0;       // commits (or batches) that failed
  std::uint64_t units = 0;        // units committed
  std::uint64_t largest = 0;      // units in the largest batch
  double commit_seconds_sum = 0;  // time in COMMIT (the fsync)
  double commit_seconds_max = 0;
};

class GroupCommit {
 public:
  GroupCommit(Database& writer, GroupCommitLimits limits) : db_(writer), limits_(limits) {}

  /// Takes the writer for a unit of work, opening the batch transaction
  /// when none is open. On success the caller holds the writer until
  /// leave(); the unit runs in a savepoint of its own.
  Result<void> enter();
  /// Ends the caller's unit (its savepoint already released, or rolled
  /// back) and gives the writer up. Returns once the batch holding the
  /// unit is committed: the result of that commit.
  Result<void> leave();

  /// Takes the writer for a write outside any unit, with no batch open: an
  /// open batch is committed first, so that what the write then does (in
  /// autocommit) never lands in a transaction that could still fail.
  void lock_alone();
  void unlock();

  GroupCommitStats stats() const;

 private:
  struct Batch {
    std::size_t units = 0;
    std::chrono::steady_clock::time_point opened;
    bool done = false;
    Result<void> result;
  };
  void lock();
  /// Commits the open batch, or gives it up with `broken` (or when SQLite
  /// has already rolled it back), and wakes its units; the writer is held.
  void end_batch(std::optional<Error> broken = std::nullopt);

  Database& db_;
  const GroupCommitLimits limits_;
  std::mutex writer_;            // held by whoever uses the writer connection
  std::size_t waiting_ = 0;      // threads waiting for writer_; guarded by state_
  std::shared_ptr<Batch> open_;  // guarded by writer_
  mutable std::mutex state_;     // waiting_, the batches' `done`, stats_
  std::condition_variable batch_done_;
  GroupCommitStats stats_;
};

}  // namespace depesche::store::sqlite
