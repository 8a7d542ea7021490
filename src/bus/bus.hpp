#pragma once
// The event bus: how a committed event reaches every node's live hub. Only
// the relay (bus/event_relay) publishes, and only events already in the
// store's event log, numbered there: the bus carries them, it numbers
// nothing. Implementations: bus/in_process_bus (one node) and, for
// scale-out, Redis. A bus may lose or repeat a message (Redis pub/sub
// does); hubs drop repeats by seq and fill gaps from the log.

#include <cstdint>
#include <functional>
#include <string>

#include "base/error.hpp"

namespace depesche::bus {

struct Event {
  std::string topic;      // "ticker:de", "comments:42", "chat:de-politik", "article:42"
  std::string name;       // "ticker.entry", "ticker.entry.updated", ...
  std::string data;       // the payload, serialised JSON
  std::uint64_t seq = 0;  // per topic, from 1, consecutive: assigned by the store
};

class Bus {
 public:
  using Handler = std::function<void(const Event&)>;
  virtual ~Bus() = default;
  /// Hands a committed event to every handler. Never waits for slow
  /// subscribers: handlers must hand work off quickly. Thread-safe; events
  /// of one topic published from one thread arrive in that order.
  virtual Result<void> publish(const Event& event) = 0;
  /// Adds a handler for every event (each node's hub registers one);
  /// returns its id for off_event().
  virtual std::uint64_t on_event(Handler handler) = 0;
  /// Removes a handler; once it returns, the handler is not running and
  /// will not run again (so what it refers to may go).
  virtual void off_event(std::uint64_t id) = 0;
};

}  // namespace depesche::bus
