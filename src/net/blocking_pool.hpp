#pragma once
// The threads that do blocking work (SQLite, rendering, hashing), so that an
// I/O thread never waits on a disk or a lock it does not own.

#include <cstddef>
#include <functional>
#include <memory>

namespace depesche::net {

class BlockingPool {
 public:
  explicit BlockingPool(std::size_t threads);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  /// Queues `work`; it runs on one of the pool's threads.
  void post(std::function<void()> work);
  /// Waits for queued work to finish and joins the threads.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace depesche::net
