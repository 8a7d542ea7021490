#pragma once
// One topic's recent events in memory: a bounded cache over the event log.
// It holds a contiguous run of framed events ending at the topic's latest
// seq (or nothing), so a resume inside it needs no store read. Not
// thread-safe: the hub guards it with its topics lock.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace depesche::live {

using Buffer = std::shared_ptr<const std::string>;

class TopicHistory {
 public:
  TopicHistory(std::size_t max_events, std::size_t max_bytes)
      : max_events_(max_events), max_bytes_(max_bytes) {}

  /// Until load(), the topic's start is unknown: events are kept in the
  /// order they come, and seq() is the last of them.
  bool loaded() const { return loaded_; }
  std::uint64_t seq() const { return seq_; }
  std::uint64_t epoch() const { return epoch_; }
  /// Sets the start read from the log. Events kept before that continue it
  /// stay; if the log is ahead of them (the bus is behind), they go.
  void load(std::uint64_t head_seq, std::uint64_t epoch);

  /// Adds the event after seq() (loaded), or any newer one (not loaded);
  /// trims by count and bytes, always keeping the newest.
  void append(std::uint64_t seq, Buffer frame);
  /// Forgets everything and continues at `seq` (after a gap the log could
  /// not fill).
  void restart_at(std::uint64_t seq);

  /// The frames after `since` when memory holds all of them; nullopt when
  /// it does not reach back to since + 1.
  std::optional<std::vector<Buffer>> after(std::uint64_t since) const;
  std::size_t bytes() const { return bytes_; }
  std::size_t size() const { return events_.size(); }

 private:
  std::size_t max_events_;
  std::size_t max_bytes_;
  bool loaded_ = false;
  std::uint64_t seq_ = 0;
  std::uint64_t epoch_ = 0;
  std::deque<std::pair<std::uint64_t, Buffer>> events_;
  std::size_t bytes_ = 0;
};

}  // namespace depesche::live
