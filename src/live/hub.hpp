#pragma once
// The live hub: WebSocket connections at /live, topics, fanout and resume.
//
// Connections leave the HTTP server after the handshake and live on the
// hub's own event loops (epoll, one thread each), which hold only what a
// connection needs: its socket, its subscriptions and, while data is in
// flight, its read buffer and write queue. Each event is framed once into a
// shared immutable buffer and written to every subscriber with one
// non-blocking send; what the kernel does not take is queued, and a reader
// whose queue outgrows its bound is closed with 1013 "too slow" (it resumes
// with `since`). Every topic keeps its last events, so a client that comes
// back with `since` gets exactly what it missed, or `resync` when history
// no longer reaches back that far.
//
// Protocol (DESIGN.md "Live"): the client sends
//   {"type":"subscribe","topic":"ticker:de","since":41} and
//   {"type":"unsubscribe","topic":"ticker:de"};
// the server sends {"type":"subscribed","topic":...,"seq":n} (n: the topic's
// latest seq), {"type":"event","topic":...,"seq":42,"event":...,"data":{...}},
// {"type":"presence","topic":...,"count":n}, {"type":"resync","topic":...}
// and {"type":"error","topic":...,"message":...}.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bus/bus.hpp"
#include "net/http.hpp"

namespace depesche::live {

struct HubOptions {
  std::size_t loops = 1;                               // event loop threads
  std::size_t history = 512;                           // events kept per topic for resume
  std::size_t history_bytes = 4 * 1024 * 1024;         // ... and at most these bytes of them
  std::size_t max_queue_bytes = 512 * 1024;            // per connection, before "too slow"
  std::size_t max_message_bytes = 4096;                // largest client message
  std::size_t max_subscriptions = 32;                  // per connection
  int max_messages_per_second = 20;                    // per connection, client to server
  std::chrono::milliseconds ping_interval{25'000};     // ping a connection quiet this long
  std::chrono::milliseconds pong_timeout{20'000};      // close when no pong by then
  std::chrono::milliseconds presence_interval{1'000};  // presence updates at most this often
  std::uint64_t seq_base = 0;  // a topic without events is at this seq (the bus's base)
};

struct HubStats {
  std::int64_t connections = 0;
  std::int64_t subscriptions = 0;
  std::uint64_t events = 0;
  std::uint64_t deliveries = 0;
  std::uint64_t slow_closes = 0;
};

class Hub {
 public:
  /// `topic_exists` answers whether a topic may be subscribed to; it runs on
  /// the event loops, so it must answer from memory.
  Hub(HubOptions options, std::function<bool(std::string_view topic)> topic_exists);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  void start();
  /// Closes every connection with 1001 "going away" and joins the loops.
  void stop();

  /// Checks a WebSocket handshake: method, headers, key, version and
  /// Origin (it must name this site: the Host header or `public_url`).
  /// nullopt to accept, else the error response to send.
  std::optional<net::Response> check_handshake(const net::Request& req) const;
  /// Takes over a connection that passed check_handshake(): writes the 101
  /// answer and serves it. `leftover` holds bytes read past the request.
  void adopt(int fd, const net::Request& req, std::string leftover);

  /// Frames an event once, keeps it in the topic's history and delivers it
  /// to every subscriber. Called by the bus; returns quickly.
  void publish(const bus::Event& event);

  /// The latest seq of a topic (HubOptions::seq_base before its first
  /// event); pages render it
  /// so their script resumes from exactly what the page shows.
  std::uint64_t current_seq(std::string_view topic) const;

  void set_public_url(std::string public_url);
  HubStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace depesche::live
