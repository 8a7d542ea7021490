#pragma once
// The hook an event log runs after a commit that appended events (the
// relay waits on it), for every Store implementation: set once at start,
// cleared at shutdown, run on the committing thread outside the lock.

#include <functional>
#include <mutex>
#include <utility>

namespace depesche::store {

class CommitSignal {
 public:
  /// `wake` must only signal; null clears it.
  void set(std::function<void()> wake) {
    std::lock_guard lock(mutex_);
    wake_ = std::move(wake);
  }
  void notify() {
    std::function<void()> wake;
    {
      std::lock_guard lock(mutex_);
      wake = wake_;
    }
    if (wake) wake();
  }

 private:
  std::mutex mutex_;
  std::function<void()> wake_;
};

}  // namespace depesche::store
