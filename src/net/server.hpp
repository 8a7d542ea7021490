#pragma once
// The HTTP/1.1 server: one io_context and one SO_REUSEPORT listener per I/O
// thread, a coroutine per connection, handlers on the blocking pool unless
// the route has a fast (in-memory) path. Beast stays inside server.cpp.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "net/trusted_proxies.hpp"

namespace depesche::net {

class Router;
class Metrics;
class BlockingPool;

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::size_t io_threads = 1;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds read_timeout{10'000};  // a started request must arrive by then
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive connections idle this long close
  std::chrono::milliseconds shutdown_timeout{10'000};  // in-flight requests get this long on stop
  bool access_log = true;
  /// Peers whose X-Forwarded-For names the client (none by default).
  TrustedProxies trusted_proxies;
};

class Server {
 public:
  Server(ServerOptions options, const Router& router, Metrics& metrics, BlockingPool& pool);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds every listener; returns "host:port" with the port actually bound
  /// (port 0 picks a free one). Throws std::runtime_error when it cannot bind.
  std::string bind();
  /// Serves until SIGINT/SIGTERM or request_stop(), then drains: listeners
  /// close, idle connections close, in-flight requests finish (up to
  /// shutdown_timeout). Returns when every I/O thread has ended.
  void run();
  /// Thread-safe; begins the drain described above.
  void request_stop();
  bool stopping() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace depesche::net
