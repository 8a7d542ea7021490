#pragma once
// The event log: every change a reader may see live is an event row,
// written in the same store transaction as the change itself. The store
// numbers events per topic (seq 1, 2, 3, ... consecutive, never reused) and
// globally (position, increasing, never reused), so the relay can publish
// committed events in order and resume after a crash, and the hub can
// replay or fill gaps from here. See docs/live.md, "The event log".

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/time.hpp"

namespace depesche::store {

struct LoggedEvent {
  std::int64_t position = 0;  // global, in commit order on one store
  std::string topic;          // "ticker:de", "comments:42", ...
  std::uint64_t seq = 0;      // per topic, from 1
  std::string name;           // "ticker.entry", ...
  std::string data;           // serialised JSON
  Millis created_at = 0;
};

/// What a topic's log holds now. `epoch` names the history that `seq`
/// counts in: it changes only when the topic's log is reset (a new
/// database, or an operator's reset), so a client holding a seq of another
/// history can be told to resync. A topic without events has seq 0, no
/// oldest (0) and the epoch it will have when its first event arrives.
struct TopicHead {
  std::uint64_t seq = 0;
  std::uint64_t epoch = 0;
  std::uint64_t oldest = 0;  // the oldest seq still held; 0 when none
};

/// How long the log keeps events. An event goes when it is older than
/// `max_age_ms` or more than `max_per_topic` newer ones follow it in its
/// topic; the newest event of a topic always stays, so its seq survives.
/// Nothing after `published_up_to` goes, whatever its age: the relay has
/// not published it yet.
struct Retention {
  Millis max_age_ms = 7LL * 24 * 3600 * 1000;
  std::int64_t max_per_topic = 10'000;
  std::int64_t published_up_to = INT64_MAX;
};

class EventLog {
 public:
  virtual ~EventLog() = default;

  /// Appends an event and assigns its seq (last + 1 for the topic) and
  /// position. Inside Store::transact it joins that transaction (commits or
  /// rolls back with it); outside, it is a transaction of its own.
  virtual Result<LoggedEvent> append(std::string_view topic, std::string_view name,
                                     std::string_view data, Millis at) = 0;
  /// Committed events after `position`, in position order (the relay).
  virtual Result<std::vector<LoggedEvent>> after_position(std::int64_t position, int limit) = 0;
  /// Committed events of a topic with seq > `seq`, in seq order (replay
  /// and gap filling). The first one is not seq + 1 when retention dropped it.
  virtual Result<std::vector<LoggedEvent>> topic_after(std::string_view topic, std::uint64_t seq,
                                                       int limit) = 0;
  virtual Result<TopicHead> head(std::string_view topic) = 0;
  /// The newest position in the log; 0 when it is empty.
  virtual Result<std::int64_t> latest_position() = 0;

  /// Where a relay stopped publishing (0 when it never ran), kept across restarts.
  virtual Result<std::int64_t> relay_position(std::string_view relay) = 0;
  virtual Result<void> set_relay_position(std::string_view relay, std::int64_t position) = 0;

  /// Drops what `retention` no longer keeps at `now`; returns how many events went.
  virtual Result<std::int64_t> prune(const Retention& retention, Millis now) = 0;
  /// Forgets a topic's history: its events go and it gets a new epoch, so
  /// readers holding its old seqs resync (for operators: a test topic, a
  /// history that must go). Its seq counts on from where it was.
  virtual Result<void> reset_topic(std::string_view topic) = 0;

  /// `wake` runs after every commit that appended events, on the committing
  /// thread; it must only signal (the relay waits on it). Set once, at start.
  virtual void on_commit(std::function<void()> wake) = 0;
};

}  // namespace depesche::store
