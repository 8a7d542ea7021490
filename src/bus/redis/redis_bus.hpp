#pragma once
// The bus across nodes: events go out through Redis pub/sub to every
// node's hub. Selected by bus.url = redis://... (app/).
//
// The relay publishes on a connection of its own (PUBLISH <prefix><topic>,
// one message per event, bus/redis/redis_frame.hpp), and a failed publish
// is an error the relay retries, so its position never passes an event
// that Redis did not take. Each node receives on a second connection,
// subscribed to the pattern <prefix>*, on a thread of its own (blocking
// hiredis, never an I/O thread); when that connection drops it reconnects
// with exponential backoff and jitter and subscribes again. Pub/sub keeps
// nothing for a subscriber that is away, so every time the subscription
// is (re)established the `on_subscribed` callback runs: the hub then checks
// each topic it follows against the event log and fills what it missed. A
// lost message or a Redis restart thus costs latency, never an event; the
// event log stays the only truth (Redis holds nothing that must survive).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bus/bus.hpp"
#include "bus/redis/redis_client.hpp"

struct redisContext;

namespace depesche::bus::redis {

struct RedisBusStats {
  bool connected = false;        // the subscriber is subscribed now
  std::uint64_t reconnects = 0;  // subscriptions re-established after a lost connection
  std::uint64_t published = 0;   // events Redis took
  std::uint64_t publish_errors = 0;
  std::uint64_t received = 0;   // events handed to handlers
  std::uint64_t malformed = 0;  // messages dropped as not an event of their channel
};

class RedisBus final : public Bus {
 public:
  explicit RedisBus(RedisOptions options);
  ~RedisBus() override;
  RedisBus(const RedisBus&) = delete;
  RedisBus& operator=(const RedisBus&) = delete;

  /// Starts the subscriber thread; it connects (and keeps reconnecting)
  /// in the background, so a Redis that is down delays events, not start-up.
  void start();
  /// Ends the subscription and joins its thread; no handler runs after.
  void stop();

  /// PUBLISH on the publishing connection, (re)connecting it when needed
  /// and retrying once on a connection found broken; an error when Redis
  /// did not take the event (the relay tries again later). Thread-safe;
  /// events published from one thread arrive in that order.
  Result<void> publish(const Event& event) override;
  std::uint64_t on_event(Handler handler) override;
  void off_event(std::uint64_t id) override;

  /// Runs on the subscriber thread whenever the subscription is
  /// established, the first time and after every reconnect: what was
  /// published meanwhile did not arrive. Must return quickly. Call before start().
  void on_subscribed(std::function<void()> check);
  /// Messages on the channel notice_channel(prefix, name) go to `handler`
  /// (on the subscriber thread; must return quickly) instead of the event
  /// handlers: what nodes tell each other beside events (presence). Call
  /// before start().
  void on_notice(std::string_view name, std::function<void(std::string_view)> handler);
  /// Waits until the subscriber is subscribed (and on_subscribed has
  /// run for it); false after `timeout`.
  bool wait_subscribed(std::chrono::milliseconds timeout);
  RedisBusStats stats() const;

 private:
  void run();
  /// One connection's life: subscribe, then dispatch until it fails or
  /// stop(); `resubscribe` when an earlier subscription stood. Sets
  /// subscribed_ once Redis confirmed the subscription.
  void serve_subscription(redisContext* ctx, bool resubscribe);
  void dispatch(std::string_view channel, std::string_view message);
  /// Connects and authenticates; null (with `error` set) on failure.
  redisContext* connect(std::string& error) const;
  Result<void> publish_once(const std::string& channel, const std::string& message);
  void set_connected(bool on);
  /// Sleeps `d` unless stop() comes first; false when stopping.
  bool pause(std::chrono::milliseconds d);

  RedisOptions opts_;
  std::thread thread_;
  int wake_fd_ = -1;                // eventfd: stop() wakes the subscriber's poll()
  mutable std::mutex state_mutex_;  // guards stopping_, connected_
  std::condition_variable state_cv_;
  bool stopping_ = false;
  bool connected_ = false;
  std::function<void()> on_subscribed_;
  std::vector<std::pair<std::string, std::function<void(std::string_view)>>> notices_;
  bool subscribed_ = false;  // subscriber thread only

  std::mutex handlers_mutex_;  // held while handlers run: off_event waits for them
  std::uint64_t next_id_ = 1;
  std::vector<std::pair<std::uint64_t, Handler>> handlers_;

  std::mutex publish_mutex_;  // one publisher at a time keeps the order
  redisContext* pub_ = nullptr;

  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> publish_errors_{0};
  std::atomic<std::uint64_t> received_{0};
  std::atomic<std::uint64_t> malformed_{0};
};

}  // namespace depesche::bus::redis
