#include "store/sqlite/group_commit.hpp"

#include <sqlite3.h>

#include <algorithm>

#include "store/sqlite/database.hpp"

namespace depesche::store::sqlite {

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

void GroupCommit::lock() {
  {
    std::lock_guard state(state_);
    ++waiting_;
  }
  writer_.lock();
  std::lock_guard state(state_);
  --waiting_;
}

Result<void> GroupCommit::enter() {
  lock();
  // A batch whose transaction SQLite has already ended fails for good
  // before this unit starts a fresh one.
  if (open_ && sqlite3_get_autocommit(db_.handle()) != 0) end_batch();
  if (!open_) {
    if (auto r = db_.exec("BEGIN IMMEDIATE"); !r) {
      writer_.unlock();
      return r;
    }
    open_ = std::make_shared<Batch>();
    open_->opened = Clock::now();
  }
  ++open_->units;
  return {};
}

Result<void> GroupCommit::leave() {
  std::shared_ptr<Batch> batch = open_;
  if (sqlite3_get_autocommit(db_.handle()) != 0) {
    // A failed statement can end the whole transaction (SQLite rolls back
    // on a full disk or an I/O error): every unit of the batch failed.
    end_batch(Error{ErrorCode::unavailable, "the store could not complete the write; try again"});
  } else {
    bool alone = false;
    {
      std::lock_guard state(state_);
      alone = waiting_ == 0;
    }
    if (alone || batch->units >= limits_.max_units ||
        Clock::now() - batch->opened >= limits_.max_age)
      end_batch();
  }
  writer_.unlock();
  std::unique_lock state(state_);
  batch_done_.wait(state, [&] { return batch->done; });
  return batch->result;
}

void GroupCommit::lock_alone() {
  lock();
  if (open_) end_batch();
}

void GroupCommit::unlock() { writer_.unlock(); }

void GroupCommit::end_batch(std::optional<Error> broken) {
  std::shared_ptr<Batch> batch = std::move(open_);
  open_.reset();
  Result<void> result;
  double seconds = 0;
  if (!broken && sqlite3_get_autocommit(db_.handle()) != 0)
    broken = Error{ErrorCode::unavailable, "the store could not complete the write; try again"};
  if (broken) {
    result = std::unexpected(*broken);
  } else {
    auto started = Clock::now();
    result = db_.exec("COMMIT");
    seconds = std::chrono::duration<double>(Clock::now() - started).count();
    // A commit that failed may leave the transaction open (a busy reader
    // of an exclusive lock, say): end it, so the next batch starts clean.
    if (!result && sqlite3_get_autocommit(db_.handle()) == 0) (void)db_.exec("ROLLBACK");
  }
  {
    std::lock_guard state(state_);
    batch->done = true;
    batch->result = result;
    if (result) {
      ++stats_.commits;
      stats_.units += batch->units;
      stats_.largest = std::max<std::uint64_t>(stats_.largest, batch->units);
      stats_.commit_seconds_sum += seconds;
      stats_.commit_seconds_max = std::max(stats_.commit_seconds_max, seconds);
    } else {
      ++stats_.failed;
    }
  }
  batch_done_.notify_all();
}

GroupCommitStats GroupCommit::stats() const {
  std::lock_guard state(state_);
  return stats_;
}

}  // namespace depesche::store::sqlite
