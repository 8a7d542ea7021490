#pragma once
// Wakes this node's relay when any node (or the CLI) commits events to the
// shared PostgreSQL database. Every appending transaction notifies
// kEventsChannel, and PostgreSQL delivers that to every listening session
// when, and only if, the transaction commits. Without it the leading relay
// would see another node's commit only at its next poll
// (live.relay_poll_ms), and every reader would wait that long for an entry
// posted on a node that does not lead. The poll stays: it covers what is
// committed while this session reconnects.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace depesche::store::postgres {

/// The channel appends notify (pg_event_log.cpp) and listeners listen to.
inline constexpr const char* kEventsChannel = "depesche_events";

class PgCommitListener {
 public:
  /// `wake` runs on the listener's thread and must only signal.
  PgCommitListener(std::string url, std::function<void()> wake, int connect_timeout_s = 5);
  ~PgCommitListener();
  PgCommitListener(const PgCommitListener&) = delete;
  PgCommitListener& operator=(const PgCommitListener&) = delete;

  /// Starts the thread, which connects (and reconnects, backing off up to
  /// five seconds) on its own session.
  void start();
  /// Ends the session and joins; within about kStopSlice.
  void stop();
  /// Whether the session listens now.
  bool listening() const { return listening_.load(); }
  /// Notifications received so far.
  std::uint64_t received() const { return received_.load(); }
  /// Sessions that listened so far (1 until the first one was lost).
  std::uint64_t sessions() const { return sessions_.load(); }

  static constexpr std::chrono::milliseconds kStopSlice{200};

 private:
  void run();
  /// Sleeps up to `d` in slices; false once stopping.
  bool pause(std::chrono::milliseconds d);

  std::string url_;
  std::function<void()> wake_;
  int connect_timeout_s_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> listening_{false};
  std::atomic<std::uint64_t> received_{0};
  std::atomic<std::uint64_t> sessions_{0};
};

}  // namespace depesche::store::postgres
