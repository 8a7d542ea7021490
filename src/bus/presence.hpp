#pragma once
// Presence across nodes. A hub counts only the subscribers of its own
// process; when several nodes serve one site, each hub reports its counts
// to an exchange and shows its readers the totals the exchange hands back,
// so a reader sees how many follow a topic on every node together. The
// exchange across nodes is Redis (bus/redis/redis_presence.hpp); a single
// node needs none (the hub shows its own counts).

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace depesche::bus {

class PresenceExchange {
 public:
  using Counts = std::vector<std::pair<std::string, std::int64_t>>;
  /// Gets a topic's total over every node; `reported` when this node's
  /// own report asked for it (it is shown even if unchanged: the readers
  /// that just came have not seen it yet).
  using Totals = std::function<void(const std::string& topic, std::int64_t total, bool reported)>;
  virtual ~PresenceExchange() = default;
  /// This node's subscriber count of every topic whose count changed (0:
  /// no subscriber left here). Returns at once: called on a hub loop.
  virtual void report(Counts counts) = 0;
  /// Where totals go (on the exchange's thread; must return quickly).
  /// Call before start.
  virtual void on_totals(Totals totals) = 0;
};

}  // namespace depesche::bus
