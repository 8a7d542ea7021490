#pragma once
// The event bus: how a change reaches every node's live hub. A domain
// service publishes after its store write; the bus numbers the event within
// its topic (the `seq` clients resume from) and hands it to every handler.
// Implementations: bus/in_process_bus (one node) and, for scale-out, Redis.

#include <cstdint>
#include <functional>
#include <string>

#include "base/error.hpp"

namespace depesche::bus {

struct Event {
  std::string topic;      // "ticker:de", "comments:42", "chat:de-politik", "article:42"
  std::string name;       // "ticker.entry", "ticker.entry.updated", ...
  std::string data;       // the payload, serialised JSON
  std::uint64_t seq = 0;  // per topic, from 1, consecutive
};

class Bus {
 public:
  using Handler = std::function<void(const Event&)>;
  virtual ~Bus() = default;
  /// Numbers and delivers an event; returns its seq. Never waits for slow
  /// subscribers: handlers must hand work off quickly. Thread-safe.
  virtual Result<std::uint64_t> publish(std::string topic, std::string name, std::string data) = 0;
  /// Adds a handler for every event (each node's hub registers one). Call
  /// before publishing starts.
  virtual void on_event(Handler handler) = 0;
};

}  // namespace depesche::bus
