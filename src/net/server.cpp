#include "net/server.hpp"

// Before Asio: Boost 1.74's awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <csignal>
#include <ctime>
#include <functional>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "base/log.hpp"
#include "net/blocking_pool.hpp"
#include "net/metrics.hpp"
#include "net/request_head.hpp"
#include "net/router.hpp"

namespace depesche::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

// The Date header changes once a second; format it at most that often.
std::string_view cached_http_date() {
  thread_local std::time_t last = 0;
  thread_local char buf[40];
  std::time_t now = std::time(nullptr);
  if (now != last) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    last = now;
  }
  return buf;
}

// Request ids: a random per-process prefix and a per-thread counter, unique
// enough to find one request in the logs, and free of locks.
std::string next_request_id() {
  static const std::uint32_t process_prefix = std::random_device{}();
  static std::atomic<std::uint32_t> thread_seq{0};
  thread_local std::uint64_t counter = static_cast<std::uint64_t>(thread_seq.fetch_add(1)) << 40;
  // Hex by hand: this runs for every request, and snprintf showed in profiles.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(22, '0');
  std::uint64_t prefix = process_prefix, n = ++counter;
  for (int i = 7; i >= 0; --i, prefix >>= 4) id[i] = kHex[prefix & 0xf];
  for (int i = 21; i >= 8; --i, n >>= 4) id[i] = kHex[n & 0xf];
  return id;
}

// Errors the server answers itself, before or instead of a handler: JSON in
// the API's error shape under /api/, plain text elsewhere.
Response protocol_error(std::string_view target, int status, const std::string& message) {
  if (!target.starts_with("/api/"))
    return Response(status, "text/plain; charset=utf-8", message + "\n");
  const char* code = status == 404   ? "not_found"
                     : status == 405 ? "method_not_allowed"
                     : status == 408 ? "timeout"
                     : status == 413 ? "payload_too_large"
                     : status == 431 ? "headers_too_large"
                     : status == 501 ? "not_implemented"
                     : status >= 500 ? "internal"
                                     : "invalid";
  std::string body = "{\"error\":{\"code\":\"";
  body += code;
  body += "\",\"message\":\"";
  log::append_json_escaped(body, message);
  body += "\"}}";
  Response r(status, "application/json; charset=utf-8", std::move(body));
  r.header("Cache-Control", "no-store");
  return r;
}

}  // namespace

struct Session;

// One I/O thread's world: its io_context, listener and live sessions.
struct Worker {
  // Declared first so it outlives the context: destroying the context
  // destroys suspended sessions, which unregister themselves here.
  std::unordered_set<Session*> sessions;
  asio::io_context ctx{1};
  tcp::acceptor acceptor{ctx};
};

struct Server::Impl {
  ServerOptions opts;
  const Router& router;
  Metrics& metrics;
  BlockingPool& pool;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> open_connections{0};  // over all workers, for the drain
  std::uint16_t bound_port = 0;
  // Last, so it is destroyed first: destroying a worker's context destroys
  // its suspended sessions, which still count themselves out above.
  std::vector<std::unique_ptr<Worker>> workers;
  // Made in bind(), before the ready line, so that a signal sent as soon as
  // the server says it is ready is already handled; kept until the server
  // is destroyed, so that a SIGHUP during the rest of the shutdown is too.
  // Declared after the workers: it goes before their contexts.
  std::unique_ptr<asio::signal_set> signals;

  Impl(ServerOptions o, const Router& r, Metrics& m, BlockingPool& p)
      : opts(std::move(o)), router(r), metrics(m), pool(p) {}

  awaitable<void> accept_loop(Worker& w);
  awaitable<void> serve_connection(Worker& w, tcp::socket socket);
  awaitable<Response> dispatch(Request& req);
  awaitable<Response> run_on_pool(const Handler& handler, Request& req);
  void begin_drain();
  void request_stop();
  void watch_signals();
};

struct Session {
  beast::tcp_stream stream;
  bool busy = false;
  explicit Session(tcp::socket s) : stream(std::move(s)) {}
};

namespace {

// True when the client has sent bytes of a request not yet answered: read
// into `buffer` already, or waiting in the socket.
bool request_pending(Session& s, const beast::flat_buffer& buffer) {
  if (buffer.size() > 0) return true;
  boost::system::error_code ec;
  return s.stream.socket().available(ec) > 0 && !ec;
}

std::string_view buffered(const beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.cdata().data()), buffer.size()};
}

// Reads until `buffer` holds a whole request head (through its blank line)
// or is full (the head is over the limit); nothing is consumed, Beast parses
// the head from the buffer. With `restart`
// (a kept-alive connection waiting for its next request), the first byte
// that arrives restarts the deadline at `read_timeout`: the wait for a
// request may last idle_timeout, sending it may not (else one request
// buys a slow sender six times the time).
awaitable<void> read_head_bytes(beast::tcp_stream& stream, beast::flat_buffer& buffer, bool restart,
                                std::chrono::milliseconds read_timeout,
                                boost::system::error_code& ec) {
  std::size_t searched = 0;
  for (;;) {
    std::string_view data = buffered(buffer);
    if (data.find("\r\n\r\n", searched) != std::string_view::npos) co_return;
    if (buffer.size() >= buffer.max_size()) co_return;
    searched = data.size() < 3 ? 0 : data.size() - 3;
    std::size_t n = co_await stream.async_read_some(buffer.prepare(beast::read_size(buffer, 65536)),
                                                    asio::redirect_error(use_awaitable, ec));
    buffer.commit(n);
    if (ec) co_return;
    if (restart) {
      stream.expires_after(read_timeout);
      restart = false;
    }
  }
}

}  // namespace

Server::Server(ServerOptions options, const Router& router, Metrics& metrics, BlockingPool& pool)
    : impl_(std::make_unique<Impl>(std::move(options), router, metrics, pool)) {}

Server::~Server() = default;

bool Server::stopping() const { return impl_->stopping.load(); }

std::string Server::bind() {
  auto& I = *impl_;
  asio::ip::address addr = asio::ip::make_address(I.opts.host);
  std::uint16_t port = I.opts.port;
  if (port != 0) {
    // SO_REUSEPORT would let a second server (or anything else of this
    // user's) join the port silently and take half the requests. A probe
    // bound without it fails while anyone holds the port; once ours are
    // bound, another probe fails against them.
    asio::io_context probe_ctx;
    tcp::acceptor probe(probe_ctx);
    boost::system::error_code ec;
    probe.open(tcp::endpoint(addr, port).protocol(), ec);
    if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(tcp::endpoint(addr, port), ec);
    if (ec)
      throw std::runtime_error("cannot listen on " + I.opts.host + ":" + std::to_string(port) +
                               ": " + ec.message() + " (is another server running?)");
  }
  for (std::size_t i = 0; i < std::max<std::size_t>(1, I.opts.io_threads); ++i) {
    auto w = std::make_unique<Worker>();
    tcp::endpoint ep(addr, port);
    w->acceptor.open(ep.protocol());
    w->acceptor.set_option(asio::socket_base::reuse_address(true));
    int one = 1;
    // SO_REUSEPORT lets each I/O thread own a listener; the kernel spreads
    // new connections across them without a shared accept lock.
    ::setsockopt(w->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    boost::system::error_code ec;
    w->acceptor.bind(ep, ec);
    if (ec)
      throw std::runtime_error("cannot listen on " + I.opts.host + ":" + std::to_string(port) +
                               ": " + ec.message());
    w->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen: " + ec.message());
    port = w->acceptor.local_endpoint().port();
    I.workers.push_back(std::move(w));
  }
  I.bound_port = port;
  I.signals = std::make_unique<asio::signal_set>(I.workers.front()->ctx, SIGINT, SIGTERM, SIGHUP);
  std::string host = addr.is_v6() ? "[" + I.opts.host + "]" : I.opts.host;
  return host + ":" + std::to_string(port);
}

void Server::run() {
  auto& I = *impl_;
  for (auto& w : I.workers) asio::co_spawn(w->ctx, I.accept_loop(*w), asio::detached);

  Worker& first = *I.workers.front();
  I.watch_signals();

  // Every context keeps running until the drain ends, even once its listener
  // is closed and it has no connection left: the drain posts work to it.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  guards.reserve(I.workers.size());
  for (auto& w : I.workers) guards.push_back(asio::make_work_guard(w->ctx));
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < I.workers.size(); ++i)
    threads.emplace_back([w = I.workers[i].get()] { w->ctx.run(); });

  // The first worker also watches the drain: once stopping, it ends the run
  // when the last connection has closed or the shutdown timeout has passed.
  asio::steady_timer drain_timer(first.ctx);
  std::optional<std::chrono::steady_clock::time_point> deadline;
  auto end_run = [&] {
    I.signals->cancel();
    for (auto& g : guards) g.reset();
    for (auto& w : I.workers) w->ctx.stop();
  };
  std::function<void()> watch_drain = [&] {
    drain_timer.expires_after(std::chrono::milliseconds(25));
    drain_timer.async_wait([&](const boost::system::error_code&) {
      if (!I.stopping.load()) return watch_drain();
      auto now = std::chrono::steady_clock::now();
      if (!deadline) deadline = now + I.opts.shutdown_timeout;
      std::size_t open = I.open_connections.load();
      if (open == 0) return end_run();
      if (now > *deadline) {
        log::warn("shutdown timeout: closing connections still busy",
                  {{"connections", static_cast<std::int64_t>(open)}});
        return end_run();
      }
      watch_drain();
    });
  };
  watch_drain();
  first.ctx.run();
  for (auto& t : threads) t.join();
  log::lifecycle("stopped");
}

void Server::request_stop() { impl_->request_stop(); }

void Server::Impl::request_stop() {
  if (stopping.exchange(true)) return;
  begin_drain();
}

void Server::Impl::watch_signals() {
  signals->async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      // A terminal hang-up or an operator expecting a reload must not end
      // the server; there is no log file to reopen (logs go to stdout) and
      // the config is read once (docs/operations.md).
      log::warn("SIGHUP ignored: restart the server to apply a new config", {{"signal", sig}});
      return watch_signals();
    }
    log::lifecycle("shutdown requested", {{"signal", sig}});
    request_stop();
  });
}

void Server::Impl::begin_drain() {
  for (auto& w : workers) {
    asio::post(w->ctx, [w = w.get()] {
      boost::system::error_code ec;
      w->acceptor.close(ec);
      // Connections between requests wake up and look: one that has nothing
      // of a request closes now, one whose next request has (partly)
      // arrived reads and answers it first. Busy ones close after their
      // response.
      for (Session* s : w->sessions)
        if (!s->busy) s->stream.socket().cancel(ec);
    });
  }
}

awaitable<void> Server::Impl::accept_loop(Worker& w) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket = co_await w.acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !w.acceptor.is_open()) co_return;
      log::warn("accept failed", {{"error", ec.message()}});
      // Out of file descriptors and the like: back off instead of spinning.
      asio::steady_timer t(w.ctx, std::chrono::milliseconds(50));
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(w.ctx, serve_connection(w, std::move(socket)), asio::detached);
  }
}

awaitable<Response> Server::Impl::run_on_pool(const Handler& handler, Request& req) {
  auto ex = co_await asio::this_coro::executor;
  Response result;
  std::exception_ptr failure;
  co_await asio::async_initiate<decltype(use_awaitable), void()>(
      [&](auto completion) {
        auto shared = std::make_shared<decltype(completion)>(std::move(completion));
        pool.post([&, shared, ex] {
          try {
            result = handler(req);
          } catch (...) {
            failure = std::current_exception();
          }
          asio::post(ex, [shared]() mutable { (*shared)(); });
        });
      },
      use_awaitable);
  if (failure) std::rethrow_exception(failure);
  co_return result;
}

awaitable<Response> Server::Impl::dispatch(Request& req) {
  auto match = router.match(req);
  if (!match.route) {
    if (!match.method_allowed) {
      Response r = protocol_error(req.path, 405, "Method not allowed");
      r.header("Allow", match.allow);
      co_return r;
    }
    if (router.not_found()) co_return co_await run_on_pool(router.not_found(), req);
    co_return protocol_error(req.path, 404, "Not found");
  }
  if (match.route->fast) {
    if (auto r = match.route->fast(req)) co_return std::move(*r);
  }
  co_return co_await run_on_pool(match.route->handler, req);
}

awaitable<void> Server::Impl::serve_connection(Worker& w, tcp::socket socket) {
  Session session(std::move(socket));
  w.sessions.insert(&session);
  metrics.connection_opened();
  open_connections.fetch_add(1);
  struct Unregister {
    Worker& w;
    Session* s;
    Metrics& m;
    std::atomic<std::size_t>& open;
    ~Unregister() {
      w.sessions.erase(s);
      m.connection_closed();
      open.fetch_sub(1);
    }
  } unregister{w, &session, metrics, open_connections};

  std::string remote;
  {
    boost::system::error_code ec;
    auto ep = session.stream.socket().remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string();
  }
  // Capped at the header limit: after the head, only a chunk-size line (with
  // its extensions) or the trailers wait in it unparsed, and those must not
  // grow without bound. Body bytes move on to the body as they arrive.
  beast::flat_buffer buffer(opts.max_header_bytes);
  std::string head, tail;  // response head, reused across keep-alive requests
  bool first_request = true;
  for (;;) {
    if (stopping.load() && !request_pending(session, buffer)) break;
    http::request_parser<ArrivingStringBody> parser;
    parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
    parser.body_limit(opts.max_body_bytes);
    boost::system::error_code ec;
    session.busy = false;
    // A first request must arrive within read_timeout of the accept; a
    // later one may be waited for idle_timeout, then it has read_timeout.
    bool between_requests = !first_request && buffer.size() == 0;
    session.stream.expires_after(between_requests ? opts.idle_timeout : opts.read_timeout);
    co_await read_head_bytes(session.stream, buffer, between_requests, opts.read_timeout, ec);
    std::optional<FramingError> refused;
    if (!ec) {
      std::string_view data = buffered(buffer);
      auto end = data.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        // A full buffer and no blank line: the head is over the limit. (Left
        // to Beast, it would parse what is there and allow as much again.)
        ec = http::error::header_limit;
      } else {
        // Checked on the raw bytes: once parsed, folded lines are joined.
        refused = check_line_folding(data.substr(0, end + 2));
        co_await http::async_read_header(session.stream, buffer, parser,
                                         asio::redirect_error(use_awaitable, ec));
      }
    }
    session.busy = true;
    auto started = std::chrono::steady_clock::now();
    // The drain cancelled the wait for this request: look again (above)
    // whether one has arrived. Nothing of an unfinished head is consumed.
    if (ec == asio::error::operation_aborted && stopping.load()) continue;
    if (!ec && !refused) refused = check_head(parser.get());
    if (!ec && !refused && !parser.is_done()) {
      if (parser.get()[http::field::expect] == "100-continue") {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        co_await asio::async_write(session.stream, asio::buffer(kContinue.data(), kContinue.size()),
                                   asio::redirect_error(use_awaitable, ec));
      }
      if (!ec) {
        session.stream.expires_after(opts.read_timeout);
        co_await http::async_read(session.stream, buffer, parser,
                                  asio::redirect_error(use_awaitable, ec));
      }
    }
    first_request = false;

    Response res;
    Request req;
    bool close_after = false;
    // The target of a request that failed to parse, when its head got that far.
    // The target of a request that failed to parse, read from its request
    // line (a body or header limit can stop the parser before the head is done).
    auto error_target = [&]() -> std::string_view {
      // The parser keeps the target once the request line is read, before
      // the fields that may break a limit.
      if (auto t = parser.get().target(); !t.empty())
        return origin_form(std::string_view(t.data(), t.size()));
      auto data = buffer.cdata();
      std::string_view line(static_cast<const char*>(data.data()), data.size());
      line = line.substr(0, line.find("\r\n"));
      auto first = line.find(' ');
      if (first == std::string_view::npos) return {};
      auto rest = line.substr(first + 1);
      return origin_form(rest.substr(0, rest.find(' ')));
    };
    // For the metrics and the log of a request refused before it reached a
    // handler; OTHER when the head was not read far enough.
    auto parsed_method = [&] {
      auto m = parser.get().method_string();
      return parse_method(std::string_view(m.data(), m.size()));
    };
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == asio::error::eof)
        break;
      if (ec == beast::error::timeout) {
        if (buffer.size() == 0) break;  // idle keep-alive connection
        // The stream closed the socket when its timer fired, so no 408 can be
        // sent (nginx behaves the same); it is logged and counted as one.
        metrics.record(metrics.unmatched_index(), Method::other, 408, 0);
        if (opts.access_log)
          log::info("access", {{"request_id", next_request_id()},
                               {"status", 408},
                               {"error", "request not complete within server.read_timeout_ms"},
                               {"remote", remote}});
        break;
      } else if (ec == http::error::header_limit ||
                 (ec == http::error::buffer_overflow && !parser.is_header_done())) {
        res = protocol_error(error_target(), 431,
                             "Request headers too large (limit " +
                                 std::to_string(opts.max_header_bytes) + " bytes)");
      } else if (ec == http::error::body_limit) {
        res = protocol_error(
            error_target(), 413,
            "Request body too large (limit " + std::to_string(opts.max_body_bytes) + " bytes)");
      } else if (ec == http::error::buffer_overflow) {
        res = protocol_error(error_target(), 400,
                             "Chunk-size line or trailer section too long (limit " +
                                 std::to_string(opts.max_header_bytes) + " bytes)");
      } else if (ec == http::error::partial_message) {
        break;
      } else {
        res = protocol_error(error_target(), 400, "Malformed HTTP request: " + ec.message());
      }
      close_after = true;
      req.method = parsed_method();
      req.request_id = next_request_id();
    } else if (refused) {
      res = protocol_error(error_target(), refused->status, refused->message);
      close_after = true;
      req.method = parsed_method();
      req.request_id = next_request_id();
    } else {
      auto& msg = parser.get();
      req.method =
          parse_method(std::string_view(msg.method_string().data(), msg.method_string().size()));
      req.target.assign(msg.target().data(), msg.target().size());
      req.request_id = next_request_id();
      if (opts.trusted_proxies.empty()) {
        req.remote_address = remote;
      } else {
        std::string forwarded;
        auto [first, last] = msg.equal_range("X-Forwarded-For");
        for (auto f = first; f != last; ++f) {
          if (!forwarded.empty()) forwarded += ',';
          forwarded.append(f->value().data(), f->value().size());
        }
        req.remote_address = opts.trusted_proxies.client_address(remote, forwarded);
      }
      close_after = !msg.keep_alive();
      if (auto bad = read_target(req.target, req)) {
        res = protocol_error(req.path, bad->status, bad->message);
        close_after = true;
      } else if (req.method == Method::other) {
        res = protocol_error(req.path, 501, "Method not implemented");
      } else {
        req.headers.reserve(12);
        for (const auto& f : msg) {
          std::string name(f.name_string().data(), f.name_string().size());
          for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          req.headers.emplace_back(std::move(name),
                                   std::string(f.value().data(), f.value().size()));
        }
        req.body = std::move(msg.body());
        if (const Upgrade* up = router.upgrade_for(req.path)) {
          (void)router.match(req);  // names the route for metrics and logs
          if (auto refused = up->check(req)) {
            res = std::move(*refused);
            close_after = true;
          } else {
            // The connection leaves HTTP: its socket goes to the upgrade's
            // owner (the live hub), with whatever the client sent after the
            // request; this coroutine ends without closing it.
            boost::system::error_code rec;
            int fd = session.stream.socket().release(rec);
            if (rec) break;
            std::string leftover(static_cast<const char*>(buffer.cdata().data()), buffer.size());
            auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
            metrics.record(req.route.empty() ? metrics.unmatched_index() : req.route_index,
                           req.method, 101, micros);
            if (opts.access_log)
              log::info("access", {{"request_id", req.request_id},
                                   {"method", "GET"},
                                   {"path", req.path},
                                   {"status", 101},
                                   {"remote", req.remote_address}});
            up->adopt(fd, req, std::move(leftover));
            co_return;
          }
        } else {
          try {
            res = co_await dispatch(req);
          } catch (const std::exception& e) {
            log::error("handler failed",
                       {{"request_id", req.request_id}, {"route", req.route}, {"error", e.what()}});
            res = protocol_error(req.path, 500,
                                 "Internal server error (request " + req.request_id + ")");
          }
        }
      }
    }
    // Draining: answer what the client has already sent, the last of it
    // with Connection: close.
    if (stopping.load() && !request_pending(session, buffer)) close_after = true;

    // Serialise the head by hand: one small string, the body sent as is.
    std::string_view body = res.body_view();
    bool no_body = req.method == Method::head || res.status == 204 || res.status == 304 ||
                   (res.status >= 100 && res.status < 200);
    head.clear();  // keeps its capacity from the previous response
    head += "HTTP/1.1 ";
    head += std::to_string(res.status);
    head += ' ';
    head += reason_phrase(res.status);
    head += "\r\n";
    for (const auto& [k, v] : res.headers) {
      head += k;
      head += ": ";
      head += v;
      head += "\r\n";
    }
    tail.clear();
    tail += "Date: ";
    tail += cached_http_date();
    tail += "\r\nX-Request-Id: ";
    tail += req.request_id;
    if (res.status != 204 && res.status != 304) {
      tail += "\r\nContent-Length: ";
      tail += std::to_string(body.size());
    }
    if (close_after) tail += "\r\nConnection: close";
    tail += "\r\n\r\n";
    std::array<asio::const_buffer, 4> bufs{
        asio::buffer(head), res.shared_head ? asio::buffer(*res.shared_head) : asio::const_buffer{},
        asio::buffer(tail),
        no_body ? asio::const_buffer{} : asio::buffer(body.data(), body.size())};
    session.stream.expires_after(opts.read_timeout);
    co_await asio::async_write(session.stream, bufs, asio::redirect_error(use_awaitable, ec));
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
    metrics.record(req.route.empty() ? metrics.unmatched_index() : req.route_index, req.method,
                   res.status, micros);
    if (opts.access_log)
      log::info("access", {{"request_id", req.request_id},
                           {"method", to_string(req.method)},
                           {"path", req.path},
                           {"route", req.route},
                           {"status", res.status},
                           {"bytes", static_cast<std::int64_t>(no_body ? 0 : body.size())},
                           {"duration_us", static_cast<std::int64_t>(micros)},
                           {"remote", req.remote_address.empty() ? remote : req.remote_address}});
    if (ec || close_after) break;
  }
  boost::system::error_code ignored;
  session.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  session.stream.close();
}

}  // namespace depesche::net
