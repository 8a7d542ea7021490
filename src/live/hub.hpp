#pragma once
// The live hub: WebSocket connections at /live, topics, fanout and resume.
//
// Connections leave the HTTP server after the handshake and live on the
// hub's own event loops (live/loop.hpp, epoll, one thread each), which hold
// only what a connection needs. Each event is framed once into a shared
// immutable buffer and written to every subscriber with one non-blocking
// send; a reader whose queue outgrows its bound is closed with 1013 "too
// slow" (it resumes with `since`).
//
// Topics and history: the hub keeps state only for topics someone follows
// (or is about to): their latest seq, their epoch and a bounded cache of
// recent events (live/topic_history.hpp) over the store's event log, read
// through an EventSource. A resume older than the cache is replayed from
// the log; `resync` only when the log no longer holds it. Every event from
// the bus must be last + 1 for its topic: repeats are dropped, gaps are
// filled from the log. Anything that may wait on the store (admission,
// identity, replay, fills, client messages) runs on the blocking pool,
// never on a loop or the publishing thread.
//
// Protocol: docs/live.md.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "bus/bus.hpp"
#include "bus/presence.hpp"
#include "net/http.hpp"

namespace depesche::live {

/// Who is on a connection, settled once at the upgrade from its session
/// cookie. A connection without a session, or without this site's Origin,
/// is read-only: it may subscribe, but not send messages to handlers.
struct Identity {
  std::int64_t account_id = 0;  // 0: anonymous
  std::string role;             // "reader", "moderator", "editor", "admin"; empty when anonymous
  std::string display_name;
  bool can_write = false;
};

/// What the upgrade request says about its sender, for the identity check.
struct UpgradeInfo {
  std::string cookie;       // the Cookie header
  bool has_origin = false;  // an Origin naming this site (others are refused earlier)
  std::string client;       // the client's address
};

/// The start of a topic's history in the log.
struct TopicStart {
  std::uint64_t seq = 0;
  std::uint64_t epoch = 0;
};

/// The event log as the hub reads it. Called on the blocking pool.
class EventSource {
 public:
  virtual ~EventSource() = default;
  virtual Result<TopicStart> head(std::string_view topic) = 0;
  /// Events of `topic` with seq > `seq`, in order, at most `limit`.
  virtual Result<std::vector<bus::Event>> after(std::string_view topic, std::uint64_t seq,
                                                std::size_t limit) = 0;
};

/// A client message other than subscribe/unsubscribe, e.g.
/// {"type":"publish","id":"c1","topic":"chat:de-politik","body":"..."}.
struct Inbound {
  const Identity& who;
  std::string_view type;
  std::string_view id;     // client-chosen, echoed in the answer
  std::string_view topic;  // may be empty
  std::string_view text;   // the whole message, JSON
};

struct HubOptions {
  std::size_t loops = 1;                               // event loop threads
  std::size_t history = 512;                           // events cached per topic
  std::size_t history_bytes = 4 * 1024 * 1024;         // ... and at most these bytes of them
  std::size_t max_replay = 5000;                       // events read from the log for one resume
  std::size_t log_replay_bytes_per_second = 8 << 20;   // all resumes from the log; 0: no limit
  std::size_t max_queue_bytes = 512 * 1024;            // per connection, before "too slow"
  std::size_t send_buffer_bytes = 16 * 1024;           // SO_SNDBUF per connection; 0: the kernel's
  std::size_t max_message_bytes = 4096;                // largest client message
  std::size_t max_subscriptions = 32;                  // per connection
  std::size_t max_pending = 8;                         // client messages awaiting an answer
  int max_messages_per_second = 20;                    // per connection, client to server
  std::chrono::milliseconds ping_interval{25'000};     // ping a connection quiet this long
  std::chrono::milliseconds pong_timeout{20'000};      // close when no pong by then
  std::chrono::milliseconds presence_interval{1'000};  // presence updates at most this often
};

struct HubStats {
  std::int64_t connections = 0;
  std::int64_t subscriptions = 0;
  std::int64_t topics = 0;         // topic states in memory
  std::int64_t history_bytes = 0;  // framed events cached, all topics
  std::uint64_t events = 0;
  std::uint64_t duplicates = 0;   // events dropped as already seen
  std::uint64_t gaps_filled = 0;  // events fetched from the log to close a gap
  std::uint64_t resyncs = 0;
  std::uint64_t deliveries = 0;
  std::uint64_t slow_closes = 0;
  std::uint64_t log_replay_bytes = 0;  // frames read from the log for resumes
};

class Hub {
 public:
  using RunBlocking = std::function<void(std::function<void()>)>;
  /// Decides whether `who` may follow a topic (the part after the prefix
  /// is passed as `name`). Runs on the blocking pool; may read the store.
  using Policy = std::function<Result<void>(std::string_view name, const Identity& who)>;
  /// Answers a client message; the value (JSON, or empty) goes out as the
  /// ack's "data". Runs on the blocking pool.
  using Handler = std::function<Result<std::string>(const Inbound& message)>;
  using Identify = std::function<Identity(const UpgradeInfo& info)>;

  Hub(HubOptions options, EventSource& source, RunBlocking run_blocking);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  /// Topics "<prefix><name>" are admitted by `policy`; a topic whose prefix
  /// has no policy is unknown. Call before start().
  void add_policy(std::string prefix, Policy policy);
  /// Client messages of `type` go to `handler`. Call before start().
  void on_message(std::string type, Handler handler);
  /// Settles a connection's identity at the upgrade; without one, every
  /// connection is anonymous. Call before start().
  void set_identify(Identify identify);
  /// Presence shows the totals of every node that reports to `exchange`
  /// (which must outlive the hub's loops) instead of this hub's own
  /// counts. Call before start().
  void set_presence_exchange(bus::PresenceExchange& exchange);

  void start();
  /// Closes every connection with 1001 "going away" and joins the loops.
  void stop();

  /// nullopt to accept, else the error response to send.
  std::optional<net::Response> check_handshake(const net::Request& req) const;
  /// Takes over a connection that passed check_handshake(): settles its
  /// identity (blocking pool), writes the 101 answer and serves it.
  /// `leftover` holds bytes read past the request.
  void adopt(int fd, const net::Request& req, std::string leftover);

  /// An event from the bus: checked against the topic's seq, cached and
  /// delivered to every subscriber. Returns quickly; thread-safe.
  void publish(const bus::Event& event);
  /// Checks every topic followed here against the log and delivers what
  /// the bus did not bring: a bus that was disconnected (Redis) may have
  /// lost anything published meanwhile, and the next event of a quiet
  /// topic could be far off. Returns at once (any thread); the reads run
  /// on the blocking pool, one per topic.
  void catch_up();

  void set_public_url(const std::string& public_url);
  HubStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace depesche::live
