#pragma once
// The relay: publishes committed events of the store's event log on the
// bus, in log order, and nothing else does. It remembers (in the store)
// how far it got, so after a crash or restart it resumes there and every
// acknowledged change reaches the stream; events published just before a
// crash may go out again, and hubs drop those repeats by seq. It also
// applies the log's retention. One thread, woken by every commit that
// appended events, and polling in case another process (the CLI, another
// node) wrote. With several nodes on one store and one bus, only the relay
// holding the lead publishes (RelayOptions::lead), so events go out once,
// not once per node, and one position row has one writer.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "bus/bus.hpp"
#include "store/event_log.hpp"

namespace depesche::bus {

struct RelayOptions {
  std::string name = "live";                      // its row in relay_positions
  int batch = 256;                                // events read per query
  std::chrono::milliseconds poll{250};            // looks for commits of other processes
  std::chrono::milliseconds save_every{1000};     // stores its position at most this often
  std::chrono::milliseconds prune_every{60'000};  // applies retention this often
  std::chrono::milliseconds retry{500};           // after a store error
  store::Retention retention;
  /// Whether this relay may publish now. Nodes sharing a store and a bus
  /// (PostgreSQL and Redis) relay through one leader: app/ passes a lease
  /// that one node at a time holds, asked before every round, so it must
  /// be cheap (the lease caches). A relay that gains the lead continues
  /// from the position the last leader saved; one that loses it saves
  /// its own and stops publishing. Empty: this relay always leads.
  std::function<bool()> lead;
};

struct RelayStats {
  std::uint64_t published = 0;
  std::int64_t position = 0;
  std::int64_t lag_ms = 0;  // commit-to-publish time of the last event published
  std::uint64_t errors = 0;
  bool leading = false;  // publishing now (always, without RelayOptions::lead)
};

class EventRelay {
 public:
  EventRelay(store::EventLog& log, Bus& bus, RelayOptions options = {});
  ~EventRelay();
  EventRelay(const EventRelay&) = delete;
  EventRelay& operator=(const EventRelay&) = delete;

  /// Reads the saved position and starts the thread.
  Result<void> start();
  /// Publishes what is committed by now, saves the position, joins.
  void stop();
  /// Something was committed: look now. Cheap; any thread.
  void wake();
  /// Publishes everything committed up to now on the calling thread (for
  /// tests and the CLI); returns how many events went out.
  Result<std::uint64_t> drain();
  RelayStats stats() const;

 private:
  void run();
  Result<void> save();
  /// Asks the lease; on a change of leader, takes up (or hands back) the
  /// stored position. False while another relay leads.
  bool check_lead();

  store::EventLog& log_;
  Bus& bus_;
  RelayOptions opts_;
  std::thread thread_;
  std::mutex mutex_;  // guards woken_, stopping_
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopping_ = false;
  std::mutex drain_mutex_;  // one drain at a time keeps the order
  std::int64_t position_ = 0;
  std::int64_t saved_ = 0;
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::int64_t> atomic_position_{0};
  std::atomic<std::int64_t> lag_ms_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<bool> leading_{false};
};

}  // namespace depesche::bus
