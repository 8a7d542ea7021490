#pragma once
// One background thread running jobs in order. Account work whose cost would
// reveal whether an address is known (creating the account, mailing a reset
// link) runs here, after the HTTP answer, so every answer takes the same time.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace depesche::domain {

class JobQueue {
 public:
  JobQueue();
  /// Finishes the queued jobs, then joins the thread.
  ~JobQueue();
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  void post(std::function<void()> job);
  /// Blocks until every job posted before the call has run (for tests and
  /// for commands that exit right after their work).
  void drain();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> jobs_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace depesche::domain
