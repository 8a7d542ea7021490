#pragma once
// The hub's inner parts, shared by live/hub.cpp (topics, publish, gaps,
// the blocking work) and live/loop.cpp (connections). Not for other layers.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "live/batch_sender.hpp"
#include "live/hub.hpp"
#include "live/topic_history.hpp"
#include "live/websocket_protocol.hpp"

namespace depesche::live {

using Clock = std::chrono::steady_clock;

/// `{"type":...}` text frames the hub sends.
Buffer text_frame(std::string_view json);
std::string json_string(std::string_view s);
/// The frame of an event as every subscriber gets it.
Buffer event_frame(const bus::Event& e);

// --- per-topic state shared by all loops (guarded by Impl::topics_mutex) -------

struct TopicState {
  TopicState(std::size_t events, std::size_t bytes, std::uint64_t incarnation)
      : history(events, bytes), incarnation(incarnation) {}
  TopicHistory history;
  std::uint64_t incarnation;  // tells a later state of the same name from this one
  std::int64_t refs = 0;      // subscribers, pending subscribes, fills in flight
  std::int64_t subscribers = 0;
  bool presence_dirty = false;
  bool filling = false;
  std::map<std::uint64_t, Buffer> parked;  // events after a gap, waiting for the fill
};

// --- one connection, owned by its loop -------------------------------------------

struct Connection;

struct Subscriber {
  Connection* conn;
  std::uint64_t last_seq;  // deliveries at or below are duplicates of a replay
  bool replaying = false;  // a replay from the log is on its way: hold deliveries
  std::uint64_t replay_token = 0;
};

struct LocalTopic {
  std::vector<Subscriber> subs;
};

struct Subscription {
  std::string topic;
  LocalTopic* local;
  std::size_t index;  // position in local->subs
};

struct Chunk {
  Buffer buf;
  std::size_t offset;
};

struct Connection {
  int fd = -1;
  std::uint64_t id = 0;  // never reused, unlike fd: async answers find their connection by it
  Identity who;
  std::string rbuf;     // bytes not yet parsed
  std::string message;  // a fragmented text message being assembled
  bool in_fragment = false;
  std::vector<Chunk> wq;  // write queue; empty when the kernel took everything
  std::size_t wq_head = 0;
  std::size_t queued_bytes = 0;
  bool want_write = false;
  std::vector<Subscription> subs;
  std::vector<std::pair<std::string, std::uint64_t>> pending_subs;  // topic, token
  std::size_t pending_messages = 0;
  // Subscribes and replays still on the blocking pool. While there are any,
  // later frames wait in `deferred`, so that every answer (a pong, the next
  // subscribe's) comes in the order the client asked.
  // (A vector, not a deque: an empty deque already holds a block, and
  // idle connections are most of them.)
  std::size_t ordered_pending = 0;
  std::vector<Frame> deferred;
  Clock::time_point last_input;
  Clock::time_point ping_sent{};
  bool closing = false;  // close frame queued; no more events
  bool shut = false;     // write side shut down; waiting for the peer's FIN
  Clock::time_point close_deadline{};
  double tokens = 0;  // client messages allowed now
  Clock::time_point tokens_at;
};

// --- one event loop ---------------------------------------------------------------

class Loop {
 public:
  Loop(Hub::Impl& hub, std::size_t index);
  ~Loop();
  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  void post(std::function<void()> task);
  std::size_t index() const { return index_; }

  // Loop thread only:
  void adopt(int fd, std::string response, std::string leftover, Identity who);
  void deliver(const std::string& topic, std::uint64_t seq, const Buffer& frame);
  /// To every subscriber of the topic, whatever its seq (presence, resync).
  void broadcast(const std::string& topic, const Buffer& frame);
  /// The blocking part of a subscribe is done: admit (or refuse) and replay.
  void finish_subscribe(std::uint64_t conn_id, const std::string& topic, std::uint64_t token,
                        std::optional<std::uint64_t> since, std::optional<std::uint64_t> epoch,
                        const Result<void>& admitted);
  /// A replay read from the log arrives: send it, then what memory holds.
  /// `cut`: the log holds more than was read; the reader is closed after
  /// these frames and resumes from the last.
  void finish_replay(std::uint64_t conn_id, const std::string& topic, std::uint64_t token,
                     std::uint64_t since, const Result<std::vector<Buffer>>& frames, bool cut);
  /// The answer to a client message.
  void answer(std::uint64_t conn_id, const Buffer& frame);
  void close_all();

 private:
  void run();
  void on_readable(Connection& c);
  void handle_frame(Connection& c, Frame& f);
  /// One answer fewer is awaited; handles frames that waited for it.
  void ordered_done(Connection& c);
  void handle_message(Connection& c, std::string_view text);
  void subscribe(Connection& c, const std::string& topic, std::optional<std::uint64_t> since,
                 std::optional<std::uint64_t> epoch);
  void unsubscribe(Connection& c, const std::string& topic);
  void drop_subscriptions(Connection& c);
  void send_to_handler(Connection& c, std::string type, std::string id, std::string topic,
                       std::string text);
  Subscriber* subscriber(Connection& c, const std::string& topic);
  void send(Connection& c, const Buffer& buf);
  void send_error(Connection& c, std::string_view topic, std::string_view id, std::string_view code,
                  std::string_view message);
  /// Queues what the kernel did not take of `buf` (from `offset`).
  void queue_rest(Connection& c, const Buffer& buf, std::size_t offset);
  void flush(Connection& c);
  void set_want_write(Connection& c, bool on);
  void close(Connection& c, std::uint16_t code, std::string_view reason);
  void destroy(Connection& c);
  void tick();
  Connection* by_id(std::uint64_t id);

  Hub::Impl& hub_;
  std::size_t index_;
  int epfd_ = -1;
  int wakefd_ = -1;
  std::thread thread_;
  std::mutex inbox_mutex_;
  std::vector<std::function<void()>> inbox_;
  bool stopping_ = false;
  std::unordered_map<int, std::unique_ptr<Connection>> conns_;
  std::unordered_map<std::uint64_t, Connection*> ids_;
  std::unordered_map<std::string, LocalTopic> topics_;
  std::vector<int> doomed_;  // fds to destroy at the end of the current iteration
  BatchSender sender_;
  std::vector<Connection*> targets_;      // reused by deliver()
  std::vector<BatchSender::Item> batch_;  // reused by deliver()
  Clock::time_point last_tick_{};
  std::uint64_t next_token_ = 1;
};

// --- the hub's shared state ---------------------------------------------------------

struct Hub::Impl {
  Impl(HubOptions o, EventSource& s, RunBlocking rb)
      : opts(o), source(s), run_blocking(std::move(rb)) {}
  HubOptions opts;
  EventSource& source;
  RunBlocking run_blocking;
  std::vector<std::pair<std::string, Policy>> policies;  // by prefix
  std::unordered_map<std::string, Handler> handlers;     // by message type
  Identify identify;
  std::string public_origin;
  std::vector<std::unique_ptr<Loop>> loops;
  std::atomic<std::size_t> next_loop{0};
  std::atomic<std::uint64_t> next_conn_id{1};
  std::uint64_t next_incarnation = 1;  // guarded by topics_mutex

  std::mutex topics_mutex;
  std::unordered_map<std::string, TopicState> topics;
  std::vector<std::string> presence_dirty;             // topics whose count changed
  bus::PresenceExchange* presence_exchange = nullptr;  // several nodes: sums their counts
  std::int64_t history_bytes = 0;

  std::atomic<std::int64_t> connections{0};
  std::atomic<std::int64_t> subscriptions{0};
  std::atomic<std::uint64_t> events{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::atomic<std::uint64_t> gaps_filled{0};
  std::atomic<std::uint64_t> resyncs{0};
  std::atomic<std::uint64_t> deliveries{0};
  std::atomic<std::uint64_t> slow_closes{0};
  std::atomic<std::uint64_t> log_replay_bytes{0};
  bool started = false;

  // Resumes from the log share live.log_replay_bytes_per_second (a token
  // bucket holding at most a second's worth).
  std::mutex replay_budget_mutex;
  double replay_budget = -1;  // bytes; below 0 before the first use
  Clock::time_point replay_budget_at{};
  /// True when a resume may read the log now: then a whole queue's worth
  /// (the most a replay reads) is taken from the bucket, refilled first.
  bool may_replay_from_log();
  /// Gives back what a replay admitted by may_replay_from_log() did not read.
  void settle_log_replay(std::size_t bytes);

  /// The policy for a topic and the name after its prefix; null when none.
  const Policy* policy_for(std::string_view topic, std::string_view& name) const;

  // With topics_mutex held:
  /// The topic's state, created (not loaded) when new; counts a reference.
  TopicState& acquire(const std::string& topic);
  /// Drops a reference; the state goes with the last one.
  void release(const std::string& topic);
  void mark_presence(const std::string& topic, TopicState& t);
  /// Caches the event after t's seq and hands it to every loop, in order.
  void append_and_deliver(const std::string& topic, TopicState& t, std::uint64_t seq,
                          const Buffer& frame);
  /// Delivers parked events that now follow on; asks the log for the rest.
  void drain_parked(const std::string& topic, TopicState& t);

  // Without the lock:
  /// Loads a topic's start from the log when nobody has yet (blocking pool).
  Result<void> load(const std::string& topic);
  /// Fetches the events between t's seq and its first parked one.
  void fill(const std::string& topic, std::uint64_t incarnation, std::uint64_t from,
            std::uint64_t to);
  /// Compares a topic (holding a reference for this) with the log's head
  /// and fills up to it; drops the reference.
  void catch_up(const std::string& topic);
  void publish_presence();
  /// Sends the topic's count to its subscribers on every loop.
  void show_presence(const std::string& topic, std::int64_t count);
};

}  // namespace depesche::live
