// hostile_load: the hostile clients of bench/hostile, and the normal reader
// whose latency is measured while they run.
//
//   hostile_load probe      a normal reader: GETs of one page, each on a fresh
//                           connection, at a fixed rate; then one live
//                           subscriber and the entries it waits for (POSTed
//                           by this process, body "t=<ns>")
//   hostile_load busy       large entries to a ticker at a fixed rate (a busy
//                           topic, or a long history to replay)
//   hostile_load slowloris  N connections that send a request head a byte at
//                           a time; half of them first send one whole request
//                           (keep-alive), then trickle the next one
//   hostile_load slowbody   N connections that send a whole head with a large
//                           Content-Length, then the body a few bytes at a
//                           time; every tenth sends all but its last byte at
//                           once, then stalls
//   hostile_load slowread   N WebSocket subscribers of a busy topic that never
//                           read, in cohorts: how soon the server drops them
//   hostile_load resume     N WebSocket connections that resume a topic from
//                           seq 0 and never read, again and again
//   hostile_load smuggle    requests with ambiguous framing, each followed by a
//                           pipelined request that must never be answered
//   hostile_load subflood   WebSocket connections flooding subscribes (unknown,
//                           unroutable, long and too many topics, oversized
//                           messages), and one that subscribes steadily within
//                           the limits
//
// Attacks keep their connections up (one the server closes is opened again)
// until SIGTERM/SIGINT or --seconds, print {"ramped":...} once all are up,
// and one JSON object of what they saw when they stop. The probe runs for
// --seconds and prints one JSON object. Every line goes to stdout.
//
// Build: g++ -O2 -std=c++20 bench/hostile_load.cpp -o hostile_load
// No dependencies beyond libc: raw sockets and epoll.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSec = 1'000'000'000;

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "hostile_load: %s\n", msg.c_str());
  std::exit(2);
}

// ------------------------------------------------------------------ options --

// "--name value" pairs; every one given must be used by the mode.
class Args {
 public:
  Args(int argc, char** argv) {
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0 || i + 1 >= argc) die("bad option " + a);
      kv_[a.substr(2)] = argv[++i];
    }
  }
  std::string str(const std::string& k, const std::string& def) {
    used_.insert(k);
    auto it = kv_.find(k);
    return it == kv_.end() ? def : it->second;
  }
  std::int64_t num(const std::string& k, std::int64_t def) {
    std::string s = str(k, std::to_string(def));
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end || v < 0) die("bad --" + k + " " + s);
    return v;
  }
  double real(const std::string& k, double def) {
    std::string s = str(k, std::to_string(def));
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end || v < 0) die("bad --" + k + " " + s);
    return v;
  }
  void check() const {
    for (const auto& [k, v] : kv_)
      if (!used_.count(k)) die("unknown option --" + k + " for this mode");
  }

 private:
  std::map<std::string, std::string> kv_;
  std::set<std::string> used_;
};

// -------------------------------------------------------------------- JSON --

std::string jstr(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

class Obj {
 public:
  Obj& num(std::string_view k, double v) {
    char b[64];
    if (v == static_cast<double>(static_cast<std::int64_t>(v)) && v < 1e15 && v > -1e15)
      std::snprintf(b, sizeof b, "%lld", static_cast<long long>(v));
    else
      std::snprintf(b, sizeof b, "%.4f", v);
    return raw(k, b);
  }
  Obj& str(std::string_view k, std::string_view v) { return raw(k, jstr(v)); }
  Obj& raw(std::string_view k, std::string_view json) {
    if (!body_.empty()) body_ += ',';
    body_ += jstr(k);
    body_ += ':';
    body_ += json;
    return *this;
  }
  Obj& counts(std::string_view k, const std::map<std::string, std::int64_t>& m) {
    Obj o;
    for (const auto& [name, n] : m) o.num(name, static_cast<double>(n));
    return raw(k, o.done());
  }
  std::string done() const { return "{" + body_ + "}"; }

 private:
  std::string body_;
};

// Durations: nearest-rank percentiles in milliseconds.
struct Dist {
  std::vector<std::int64_t> v;
  void add(std::int64_t ns) { v.push_back(ns); }
  double pct(double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    std::size_t rank =
        static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size()) + 0.999999);
    rank = std::clamp<std::size_t>(rank, 1, v.size());
    return static_cast<double>(v[rank - 1]) / 1e6;
  }
  std::string json() {
    Obj o;
    o.num("n", static_cast<double>(v.size()));
    if (!v.empty())
      o.num("p50_ms", pct(50))
          .num("p90_ms", pct(90))
          .num("p99_ms", pct(99))
          .num("max_ms", pct(100));
    return o.done();
  }
};

void emit(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// ----------------------------------------------------------------- network --

struct Target {
  sockaddr_in server{};
  std::vector<sockaddr_in> sources;  // client addresses to spread over; empty: any
  std::string host_header;           // "127.0.0.1:8080"
  int port = 0;
};

Target make_target(Args& a) {
  Target t;
  std::string host = a.str("host", "127.0.0.1");
  t.port = static_cast<int>(a.num("port", 0));
  if (t.port <= 0 || t.port > 65535) die("--port is required");
  t.server.sin_family = AF_INET;
  t.server.sin_port = htons(static_cast<std::uint16_t>(t.port));
  if (inet_pton(AF_INET, host.c_str(), &t.server.sin_addr) != 1) die("bad --host");
  t.host_header = host + ":" + std::to_string(t.port);
  auto sources = a.num("sources", 0);
  for (std::int64_t i = 0; i < sources && i < 250; ++i) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_addr.s_addr = htonl(0x7f000002u + static_cast<std::uint32_t>(i));  // 127.0.0.2 ...
    t.sources.push_back(s);
  }
  return t;
}

// A non-blocking socket with its connect started; -1 (errno set) on failure.
int open_connection(const Target& t, std::size_t n, int rcvbuf = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (!t.sources.empty()) {
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    const sockaddr_in& src = t.sources[n % t.sources.size()];
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0) {
      int e = errno;
      ::close(fd);
      errno = e;
      return -1;
    }
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&t.server), sizeof t.server) != 0 &&
      errno != EINPROGRESS) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err;
}

class Poller {
 public:
  Poller() : ep_(::epoll_create1(EPOLL_CLOEXEC)), events_(1024) {
    if (ep_ < 0) die("epoll_create1 failed");
  }
  ~Poller() { ::close(ep_); }
  void add(int fd, std::uint64_t key, std::uint32_t ev) { ctl(EPOLL_CTL_ADD, fd, key, ev); }
  void mod(int fd, std::uint64_t key, std::uint32_t ev) { ctl(EPOLL_CTL_MOD, fd, key, ev); }
  // Calls f(key, events) for what is ready, waiting at most `ms`.
  template <class F>
  void wait(int ms, F&& f) {
    int n = ::epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), ms);
    for (int i = 0; i < n; ++i) f(events_[i].data.u64, events_[i].events);
  }

 private:
  void ctl(int op, int fd, std::uint64_t key, std::uint32_t ev) {
    epoll_event e{};
    e.events = ev;
    e.data.u64 = key;
    ::epoll_ctl(ep_, op, fd, &e);
  }
  int ep_;
  std::vector<epoll_event> events_;
};

// Sends what the kernel takes now; the rest stays in `out`. False when the
// connection failed.
bool send_some(int fd, std::string& out) {
  while (!out.empty()) {
    ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  return true;
}

// Reads everything there is. Returns false at EOF or on an error.
bool read_all(int fd, std::string* into) {
  static char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      if (into) into->append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

// The first HTTP response in `in`: its status, whether it says
// Connection: close, and its length with the body (Content-Length; none:
// head only). False while it is not all there.
struct Response {
  int status = 0;
  bool close = false;
  std::size_t length = 0;
};

bool parse_response(std::string_view in, Response& r) {
  auto end = in.find("\r\n\r\n");
  if (end == std::string_view::npos || in.size() < 12 || in.substr(0, 5) != "HTTP/") return false;
  r.status = std::atoi(std::string(in.substr(9, 3)).c_str());
  std::string head(in.substr(0, end + 2));
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  r.close = head.find("\r\nconnection: close\r\n") != std::string::npos;
  std::size_t body = 0;
  auto cl = head.find("\r\ncontent-length:");
  if (cl != std::string::npos) body = std::strtoull(head.c_str() + cl + 17, nullptr, 10);
  r.length = end + 4 + body;
  return in.size() >= r.length;
}

// --------------------------------------------------------------- WebSocket --

std::mt19937_64& rng() {
  static std::mt19937_64 r{std::random_device{}()};
  return r;
}

// A masked client frame (FIN set).
std::string client_frame(std::uint8_t opcode, std::string_view payload) {
  std::string f;
  f += static_cast<char>(0x80 | opcode);
  std::size_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n < 65536) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i)
      f += static_cast<char>((static_cast<std::uint64_t>(n) >> (i * 8)) & 0xff);
  }
  auto key = static_cast<std::uint32_t>(rng()());
  char mask[4] = {static_cast<char>(key >> 24), static_cast<char>(key >> 16),
                  static_cast<char>(key >> 8), static_cast<char>(key)};
  f.append(mask, 4);
  for (std::size_t i = 0; i < n; ++i) f += static_cast<char>(payload[i] ^ mask[i & 3]);
  return f;
}

std::string subscribe_frame(std::string_view topic, const char* type = "subscribe") {
  return client_frame(0x1,
                      std::string("{\"type\":\"") + type + "\",\"topic\":" + jstr(topic) + "}");
}

std::string ws_handshake(const Target& t) {
  // The key is not checked by this client: any 16 bytes in base64 will do.
  return "GET /live HTTP/1.1\r\nHost: " + t.host_header +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: aG9zdGlsZS1sb2FkLWtleQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

struct WsFrame {
  std::uint8_t opcode;
  std::string_view payload;
};

// Whole server frames at the front of `in`; returns the bytes they take.
std::size_t parse_frames(std::string_view in, std::vector<WsFrame>& out) {
  std::size_t pos = 0;
  for (;;) {
    std::size_t avail = in.size() - pos;
    if (avail < 2) break;
    auto b0 = static_cast<unsigned char>(in[pos]);
    auto b1 = static_cast<unsigned char>(in[pos + 1]);
    std::uint64_t len = b1 & 0x7f;
    std::size_t hdr = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (static_cast<std::uint64_t>(static_cast<unsigned char>(in[pos + 2])) << 8) |
            static_cast<unsigned char>(in[pos + 3]);
      hdr = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(in[pos + 2 + i]);
      hdr = 10;
    }
    if (avail < hdr + len) break;
    out.push_back(WsFrame{static_cast<std::uint8_t>(b0 & 0x0f), in.substr(pos + hdr, len)});
    pos += hdr + len;
  }
  return pos;
}

std::string close_reason(std::string_view payload) {
  if (payload.size() < 2) return "close";
  int code = (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
  return std::to_string(code) + " " + std::string(payload.substr(2));
}

// ------------------------------------------------------------------- probe --

// The normal reader, in two phases. Pages: GETs start on schedule whatever
// the earlier ones are doing (open loop), each on a fresh connection;
// latency runs from the connect call to the last byte of the body. Live:
// entries are POSTed on schedule; latency runs from just before an entry's
// POST to the receipt of its event by the subscriber.
int run_probe(Args& a) {
  Target t = make_target(a);
  std::string page = a.str("page", "/healthz");
  double page_rate = a.real("page-rate", 100);
  std::int64_t page_timeout = a.num("page-timeout-ms", 5000) * kMs;
  std::int64_t page_seconds = a.num("page-seconds", 5);
  std::int64_t live_seconds = a.num("live-seconds", 5);
  std::string token = a.str("token", "");
  std::string ticker = a.str("ticker", "de");
  double pub_rate = a.real("publish-rate", 20);
  std::string pad(static_cast<std::size_t>(a.num("pad", 0)), 'x');  // after "t=<ns> " in each body
  a.check();
  if (token.empty() && pub_rate > 0) die("--token is required to publish");

  Poller poll;
  enum Kind : std::uint64_t { kPage = 1, kWs = 2, kPub = 3 };
  auto key = [](Kind k, std::size_t i) { return (static_cast<std::uint64_t>(k) << 32) | i; };

  struct PageReq {
    int fd = -1;
    bool sent = false;
    std::int64_t start = 0;
    std::string in;
  };
  std::vector<PageReq> reqs;
  std::vector<std::size_t> free_reqs;
  Dist page_lat;
  std::int64_t page_started = 0, page_ok = 0;
  std::map<std::string, std::int64_t> page_errors;
  std::string get = "GET " + page + " HTTP/1.1\r\nHost: " + t.host_header +
                    "\r\nAccept-Encoding: identity\r\n\r\n";

  auto end_req = [&](std::size_t i, const char* error) {
    PageReq& r = reqs[i];
    std::int64_t now = now_ns();
    if (error) {
      page_errors[error]++;
      if (std::strcmp(error, "timeout") == 0) page_lat.add(now - r.start);
    } else {
      page_ok++;
      page_lat.add(now - r.start);
    }
    ::close(r.fd);
    r = PageReq{};
    free_reqs.push_back(i);
  };
  auto start_req = [&] {
    std::size_t i;
    if (!free_reqs.empty()) {
      i = free_reqs.back();
      free_reqs.pop_back();
    } else {
      i = reqs.size();
      reqs.emplace_back();
    }
    PageReq& r = reqs[i];
    r.start = now_ns();
    page_started++;
    r.fd = open_connection(t, 0);
    if (r.fd < 0) {
      page_errors[std::string("connect: ") + std::strerror(errno)]++;
      r = PageReq{};
      free_reqs.push_back(i);
      return;
    }
    poll.add(r.fd, key(kPage, i), EPOLLOUT | EPOLLIN | EPOLLRDHUP);
  };
  auto on_page = [&](std::size_t i, std::uint32_t ev) {
    PageReq& r = reqs[i];
    if (r.fd < 0) return;
    if (!r.sent) {
      if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      if (int err = socket_error(r.fd)) {
        page_errors[std::string("connect: ") + std::strerror(err)]++;
        ::close(r.fd);
        r = PageReq{};
        free_reqs.push_back(i);
        return;
      }
      std::string out = get;
      if (!send_some(r.fd, out) || !out.empty()) return end_req(i, "send");
      r.sent = true;
      poll.mod(r.fd, key(kPage, i), EPOLLIN | EPOLLRDHUP);
      return;
    }
    bool open = read_all(r.fd, &r.in);
    Response resp;
    if (parse_response(r.in, resp)) {
      if (resp.status != 200) {
        std::string e = "status " + std::to_string(resp.status);
        page_errors[e]++;
        ::close(r.fd);
        r = PageReq{};
        free_reqs.push_back(i);
        return;
      }
      return end_req(i, nullptr);
    }
    if (!open) end_req(i, "closed before the response");
  };

  // The live subscriber.
  struct Ws {
    int fd = -1;
    bool upgraded = false, subscribed = false;
    std::string in, out;
    std::uint64_t seq = 0;
  } ws;
  std::int64_t ws_reconnects = 0, ws_received = 0, foreign = 0;
  std::map<std::string, std::int64_t> ws_closes;
  Dist live_lat;
  std::set<std::int64_t> awaited;  // t= of entries POSTed and acknowledged, not yet received
  std::set<std::int64_t> early;    // received before their POST was acknowledged
  std::string topic = "ticker:" + ticker;
  auto ws_open = [&] {
    ws = Ws{ws.fd, false, false, {}, {}, ws.seq};
    if (ws.fd >= 0) ::close(ws.fd);
    ws.fd = open_connection(t, 0);
    if (ws.fd < 0) die("cannot connect the live subscriber");
    ws.out = ws_handshake(t);
    std::string sub = "{\"type\":\"subscribe\",\"topic\":" + jstr(topic) +
                      (ws.seq ? ",\"since\":" + std::to_string(ws.seq) : std::string()) + "}";
    ws.out += client_frame(0x1, sub);
    poll.add(ws.fd, key(kWs, 0), EPOLLOUT | EPOLLIN | EPOLLRDHUP);
  };
  auto on_ws = [&](std::uint32_t ev) {
    if (ev & EPOLLOUT) {
      if (!send_some(ws.fd, ws.out)) {
        ws_reconnects++;
        return ws_open();
      }
      if (ws.out.empty()) poll.mod(ws.fd, key(kWs, 0), EPOLLIN | EPOLLRDHUP);
    }
    bool open = read_all(ws.fd, &ws.in);
    std::int64_t now = now_ns();
    if (!ws.upgraded) {
      auto end = ws.in.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (!open) die("live subscriber: closed during the handshake");
        return;
      }
      if (ws.in.rfind("HTTP/1.1 101", 0) != 0)
        die("live subscriber: " + ws.in.substr(0, ws.in.find("\r\n")));
      ws.in.erase(0, end + 4);
      ws.upgraded = true;
    }
    std::vector<WsFrame> frames;
    std::size_t used = parse_frames(ws.in, frames);
    for (const auto& f : frames) {
      if (f.opcode == 0x9) {
        ws.out += client_frame(0xA, f.payload);
        send_some(ws.fd, ws.out);
      } else if (f.opcode == 0x8) {
        ws_closes[close_reason(f.payload)]++;
        open = false;
      } else if (f.opcode == 0x1) {
        std::string_view m = f.payload;
        if (m.find("\"type\":\"subscribed\"") != std::string_view::npos) ws.subscribed = true;
        if (m.find("\"type\":\"event\"") == std::string_view::npos) continue;
        auto s = m.find("\"seq\":");
        if (s != std::string_view::npos)
          ws.seq = std::strtoull(std::string(m.substr(s + 6, 24)).c_str(), nullptr, 10);
        auto b = m.find("\"body\":\"t=");
        if (b == std::string_view::npos) {
          foreign++;
          continue;
        }
        std::int64_t sent = std::strtoll(std::string(m.substr(b + 10, 24)).c_str(), nullptr, 10);
        if (awaited.erase(sent) == 0) early.insert(sent);
        ws_received++;
        live_lat.add(now - sent);
      }
    }
    ws.in.erase(0, used);
    if (!open) {
      ws_reconnects++;
      ws_open();
    }
  };

  // The publisher: a keep-alive connection per entry in flight (up to 32).
  struct Pub {
    int fd = -1;
    bool waiting = false;
    std::int64_t t = 0;
    std::string in;
  };
  std::vector<Pub> pubs;
  std::int64_t published = 0, publish_errors = 0;
  auto post = [&] {
    std::size_t i = pubs.size(), spare = pubs.size();
    for (std::size_t k = 0; k < pubs.size(); ++k) {
      if (!pubs[k].waiting && pubs[k].fd >= 0) {
        i = k;
        break;
      }
      if (pubs[k].fd < 0) spare = k;
    }
    if (i == pubs.size()) {
      if (spare == pubs.size() && pubs.size() >= 32) {
        publish_errors++;
        return;
      }
      i = spare;
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&t.server), sizeof t.server) != 0) {
        ::close(fd);
        publish_errors++;
        return;
      }
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      if (i == pubs.size())
        pubs.push_back(Pub{fd, false, 0, {}});
      else
        pubs[i] = Pub{fd, false, 0, {}};
      poll.add(fd, key(kPub, i), EPOLLIN | EPOLLRDHUP);
    }
    Pub& p = pubs[i];
    p.t = now_ns();
    std::string body =
        "{\"body\":\"t=" + std::to_string(p.t) + (pad.empty() ? "" : " ") + pad + "\"}";
    std::string req =
        "POST /api/v1/tickers/" + ticker + "/entries HTTP/1.1\r\nHost: " + t.host_header +
        "\r\nAuthorization: Bearer " + token +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    // Loopback takes a request this size at once; a short write is an error.
    if (!send_some(p.fd, req) || !req.empty()) {
      publish_errors++;
      ::close(p.fd);
      p.fd = -1;
      return;
    }
    p.waiting = true;
  };
  auto on_pub = [&](std::size_t i) {
    Pub& p = pubs[i];
    if (p.fd < 0) return;
    bool open = read_all(p.fd, &p.in);
    Response r;
    if (p.waiting && parse_response(p.in, r)) {
      p.in.erase(0, r.length);
      p.waiting = false;
      if (r.status == 201) {
        published++;
        if (early.erase(p.t) == 0) awaited.insert(p.t);
      } else {
        publish_errors++;
      }
      if (r.close) open = false;
    }
    if (!open) {
      if (p.waiting) publish_errors++;
      ::close(p.fd);
      p.fd = -1;
      p.waiting = false;
    }
  };

  ws_open();
  // Wait for the subscription before measuring.
  std::int64_t deadline = now_ns() + 10 * kSec;
  while (!ws.subscribed) {
    if (now_ns() > deadline) die("live subscriber: not subscribed within 10 s");
    poll.wait(20, [&](std::uint64_t k, std::uint32_t ev) {
      if ((k >> 32) == kWs) on_ws(ev);
    });
  }
  // The page phase first, then the live phase: entries invalidate cached
  // pages, so pages are read while none are posted.
  std::int64_t start = now_ns(), page_end = start + page_seconds * kSec;
  std::int64_t live_start = 0, live_end = 0;
  std::int64_t page_interval = page_rate > 0 ? static_cast<std::int64_t>(kSec / page_rate) : 0;
  std::int64_t pub_interval = pub_rate > 0 ? static_cast<std::int64_t>(kSec / pub_rate) : 0;
  std::int64_t next_page = start, next_pub = 0;
  auto dispatch = [&](std::uint64_t k, std::uint32_t ev) {
    std::size_t i = k & 0xffffffffu;
    switch (k >> 32) {
      case kPage: on_page(i, ev); break;
      case kWs: on_ws(ev); break;
      case kPub: on_pub(i); break;
    }
  };
  for (;;) {
    std::int64_t now = now_ns();
    if (g_stop) break;
    bool pages_left = reqs.size() != free_reqs.size();
    if (now < page_end) {
      while (page_interval && next_page <= now) {
        start_req();
        next_page += page_interval;
      }
    } else if (!live_start && (!pages_left || now > page_end + page_timeout)) {
      live_start = now;
      live_end = now + live_seconds * kSec;
      next_pub = now;
    }
    bool live = live_start && now < live_end;
    if (live) {
      while (pub_interval && next_pub <= now) {
        post();
        next_pub += pub_interval;
      }
    }
    // Done: wait for the last events (2 s at most).
    if (live_start && now >= live_end && (awaited.empty() || now > live_end + 2 * kSec)) break;
    for (std::size_t i = 0; i < reqs.size(); ++i)
      if (reqs[i].fd >= 0 && now - reqs[i].start > page_timeout) end_req(i, "timeout");
    std::int64_t next = now + 20 * kMs;
    if (now < page_end && page_interval) next = std::min(next, next_page);
    if (live && pub_interval) next = std::min(next, next_pub);
    poll.wait(static_cast<int>(std::clamp<std::int64_t>((next - now) / kMs, 0, 20)), dispatch);
  }
  for (auto& r : reqs)
    if (r.fd >= 0) {
      page_errors["unfinished"]++;
      ::close(r.fd);
    }
  Obj page_o;
  page_o.str("path", page)
      .num("rate", page_rate)
      .num("started", static_cast<double>(page_started))
      .num("ok", static_cast<double>(page_ok))
      .counts("errors", page_errors)
      .raw("latency", page_lat.json());
  Obj live_o;
  live_o.str("topic", topic)
      .num("rate", pub_rate)
      .num("published", static_cast<double>(published))
      .num("publish_errors", static_cast<double>(publish_errors))
      .num("received", static_cast<double>(ws_received))
      .num("lost", static_cast<double>(awaited.size()))
      .num("foreign", static_cast<double>(foreign))
      .num("reconnects", static_cast<double>(ws_reconnects))
      .counts("closes", ws_closes)
      .raw("latency", live_lat.json());
  Obj o;
  o.str("mode", "probe")
      .num("seconds", static_cast<double>(now_ns() - start) / 1e9)
      .num("page_seconds", static_cast<double>(page_seconds))
      .num("live_seconds", static_cast<double>(live_seconds))
      .raw("page", page_o.done())
      .raw("live", live_o.done());
  emit(o.done());
  return 0;
}

// ------------------------------------------------------------------- busy --

// Posts large entries to a ticker at a fixed rate on one keep-alive
// connection (closed loop: a slow server gets fewer), until SIGTERM or
// --count entries.
int run_busy(Args& a) {
  Target t = make_target(a);
  std::string ticker = a.str("ticker", "en");
  double rate = a.real("rate", 5);
  std::int64_t pad = a.num("pad", 16000);
  std::string token = a.str("token", "");
  std::int64_t seconds = a.num("seconds", 3600);
  std::int64_t count = a.num("count", 0);  // 0: until stopped
  a.check();
  if (token.empty()) die("--token is required");
  std::string body = "{\"body\":\"" + std::string(static_cast<std::size_t>(pad), 'x') + "\"}";
  std::string req =
      "POST /api/v1/tickers/" + ticker + "/entries HTTP/1.1\r\nHost: " + t.host_header +
      "\r\nAuthorization: Bearer " + token +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  std::int64_t ok = 0, failed = 0;
  int fd = -1;
  std::string in;
  std::int64_t start = now_ns(), stop = start + seconds * kSec, next = start;
  auto interval = static_cast<std::int64_t>(kSec / std::max(rate, 0.1));
  while (!g_stop && now_ns() < stop && (count == 0 || ok < count)) {
    if (fd < 0) {
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      timeval tv{5, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&t.server), sizeof t.server) != 0) {
        ::close(fd);
        fd = -1;
        failed++;
        usleep(100'000);
        continue;
      }
    }
    bool sent =
        ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
    Response r;
    in.clear();
    char buf[16384];
    while (sent && !parse_response(in, r)) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
    }
    if (sent && parse_response(in, r) && r.status == 201) {
      ok++;
    } else {
      failed++;
      ::close(fd);
      fd = -1;
    }
    next += interval;
    std::int64_t wait = next - now_ns();
    if (wait > 0) {
      timespec ts{static_cast<time_t>(wait / kSec), static_cast<long>(wait % kSec)};
      nanosleep(&ts, nullptr);
    }
  }
  if (fd >= 0) ::close(fd);
  double secs = static_cast<double>(now_ns() - start) / 1e9;
  emit(Obj()
           .str("mode", "busy")
           .str("ticker", ticker)
           .num("rate", rate)
           .num("pad", static_cast<double>(pad))
           .num("published", static_cast<double>(ok))
           .num("failed", static_cast<double>(failed))
           .num("achieved_rate", secs > 0 ? static_cast<double>(ok) / secs : 0)
           .done());
  return 0;
}

// -------------------------------------------------- slowloris and slowbody --

// Connections that start a request and then send it a little at a time, so
// that only the server's timeout can end them. slowloris: the head, one
// byte per interval, never its blank line (every `keepalive-every`-th
// connection first sends one whole request and reads its answer, then
// trickles the next one). slowbody: a whole head with Content-Length L, then
// `chunk` bytes of body per interval, never all L (every `stall-every`-th
// connection sends L - 1 bytes at once and then nothing: the most body a
// server holds for one connection). Time to close runs from the first byte
// of the trickled request to the server's FIN or RST.
int run_trickle(Args& a, bool body) {
  Target t = make_target(a);
  auto n = static_cast<std::size_t>(a.num("conns", body ? 2000 : 10000));
  std::int64_t interval = a.num("interval-ms", body ? 1000 : 2000) * kMs;
  std::int64_t seconds = a.num("seconds", 600);
  auto inflight_max = static_cast<std::size_t>(a.num("inflight", 512));
  // The second kind of connection: keep-alive first (slowloris), or a body
  // sent at once but for its last byte (slowbody).
  std::int64_t second_every = body ? a.num("stall-every", 10) : a.num("keepalive-every", 2);
  std::int64_t content_length = body ? a.num("content-length", 1'000'000) : 0;
  auto chunk = static_cast<std::size_t>(body ? a.num("chunk", 16) : 1);
  std::string path = a.str("path", body ? "/api/v1/articles" : "/en/");
  // Spread the first opening of the connections over this long (the read
  // timeout, say), so that they do not all time out, and come back, at once.
  std::int64_t ramp = a.num("ramp-ms", 0) * kMs;
  a.check();

  enum class Phase : std::uint8_t { down, connecting, first, slow };
  struct Conn {
    int fd = -1;
    Phase phase = Phase::down;
    bool second = false;
    std::int64_t t_slow = 0, next_send = 0, reopen_at = 0;
    std::int64_t sent = 0;
    std::string in;
  };
  std::vector<Conn> conns(n);
  for (std::size_t i = 0; i < n; ++i)
    conns[i].second = second_every > 0 && i % static_cast<std::size_t>(second_every) == 1;
  Poller poll;
  std::size_t connecting = 0, slow = 0, max_slow = 0;
  std::int64_t opened = 0, connect_errors = 0, ramp_ns = 0;
  std::map<std::string, std::int64_t> errors, responses;
  Dist close_first, close_second;
  std::int64_t closed_first = 0, closed_second = 0, bytes_before_close = 0;
  std::string first = "GET /healthz HTTP/1.1\r\nHost: " + t.host_header + "\r\n\r\n";
  std::string head = body ? "POST " + path + " HTTP/1.1\r\nHost: " + t.host_header +
                                "\r\nContent-Type: application/json\r\nContent-Length: " +
                                std::to_string(content_length) + "\r\n\r\n"
                          : "GET " + path + " HTTP/1.1\r\nHost: " + t.host_header + "\r\nX-Slow: ";
  std::uniform_int_distribution<std::int64_t> jitter(0, interval);

  auto down = [&](std::size_t i, std::int64_t reopen_in) {
    Conn& c = conns[i];
    if (c.phase == Phase::connecting) --connecting;
    if (c.phase == Phase::slow) --slow;
    ::close(c.fd);
    c.fd = -1;
    c.phase = Phase::down;
    c.in.clear();
    c.reopen_at = now_ns() + reopen_in;
  };
  auto start_slow = [&](std::size_t i) {
    Conn& c = conns[i];
    std::string out = head;
    if (!send_some(c.fd, out) || !out.empty()) {
      errors["send"]++;
      return down(i, 100 * kMs);
    }
    c.phase = Phase::slow;
    c.t_slow = now_ns();
    c.sent = 0;
    c.next_send = c.t_slow + jitter(rng());
    max_slow = std::max(max_slow, ++slow);
  };
  auto on_event = [&](std::size_t i, std::uint32_t ev) {
    Conn& c = conns[i];
    if (c.fd < 0) return;
    if (c.phase == Phase::connecting) {
      if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      --connecting;
      c.phase = Phase::first;  // not counted as slow yet
      if (int err = socket_error(c.fd)) {
        connect_errors++;
        errors[std::string("connect: ") + std::strerror(err)]++;
        c.phase = Phase::down;
        ::close(c.fd);
        c.fd = -1;
        c.reopen_at = now_ns() + 100 * kMs;
        return;
      }
      poll.mod(c.fd, i, EPOLLIN | EPOLLRDHUP);
      if (body || !c.second) return start_slow(i);
      std::string out = first;
      if (!send_some(c.fd, out) || !out.empty()) {
        errors["send"]++;
        return down(i, 100 * kMs);
      }
      return;
    }
    bool open = read_all(c.fd, &c.in);
    if (c.phase == Phase::first) {
      Response r;
      if (parse_response(c.in, r)) {
        c.in.erase(0, r.length);
        return start_slow(i);
      }
      if (!open) {
        errors["closed during the first request"]++;
        down(i, 100 * kMs);
      }
      return;
    }
    // The server answered (408, 431, 413 ...) or closed: either way it ends the attempt.
    Response r;
    if (parse_response(c.in, r)) {
      responses[std::to_string(r.status)]++;
      c.in.clear();
    }
    if (!open) {
      std::int64_t took = now_ns() - c.t_slow;
      (c.second ? close_second : close_first).add(took);
      (c.second ? closed_second : closed_first)++;
      bytes_before_close += c.sent;
      down(i, 0);
    }
  };

  std::int64_t start = now_ns(), stop = start + seconds * kSec;
  for (std::size_t i = 0; i < n; ++i)
    conns[i].reopen_at =
        start + (ramp > 0 ? ramp * static_cast<std::int64_t>(i) / static_cast<std::int64_t>(n) : 0);
  bool ramped = false;
  std::size_t cursor = 0;
  while (!g_stop && now_ns() < stop) {
    std::int64_t now = now_ns();
    // Open what is down, a bounded number at a time.
    for (std::size_t k = 0; k < n && connecting < inflight_max; ++k) {
      std::size_t i = (cursor + k) % n;
      Conn& c = conns[i];
      if (c.phase != Phase::down || c.reopen_at > now) continue;
      c.fd = open_connection(t, i);
      if (c.fd < 0) {
        connect_errors++;
        errors[std::string("connect: ") + std::strerror(errno)]++;
        c.reopen_at = now + 100 * kMs;
        continue;
      }
      opened++;
      c.phase = Phase::connecting;
      ++connecting;
      poll.add(c.fd, i, EPOLLOUT | EPOLLIN | EPOLLRDHUP);
      cursor = i + 1;
    }
    // Trickle.
    for (std::size_t i = 0; i < n; ++i) {
      Conn& c = conns[i];
      if (c.phase != Phase::slow || c.next_send > now) continue;
      std::string out;
      if (body) {
        std::size_t left = static_cast<std::size_t>(content_length - 1 - c.sent);
        out.assign(std::min(c.second ? std::size_t{65536} : chunk, left), 'x');
      } else {
        out = "a";
      }
      c.next_send = c.second && body ? now : c.next_send + interval;
      if (out.empty()) continue;
      c.sent += static_cast<std::int64_t>(out.size());
      // The server may have closed already; its FIN or RST shows up as an event.
      send_some(c.fd, out);
      c.sent -= static_cast<std::int64_t>(out.size());  // what the kernel did not take
    }
    if (!ramped && slow >= n - n / 100) {  // all but the few the server just closed
      ramped = true;
      ramp_ns = now_ns() - start;
      emit(Obj().num("ramped", 1).num("seconds", static_cast<double>(ramp_ns) / 1e9).done());
    }
    poll.wait(20, on_event);
  }
  std::int64_t open_at_end = static_cast<std::int64_t>(slow);
  for (std::size_t i = 0; i < n; ++i)
    if (conns[i].fd >= 0) ::close(conns[i].fd);
  Obj o;
  o.str("mode", body ? "slowbody" : "slowloris")
      .num("conns", static_cast<double>(n))
      .num("interval_ms", static_cast<double>(interval / kMs))
      .num("ramp_seconds", ramped ? static_cast<double>(ramp_ns) / 1e9 : -1)
      .num("ramp_spread_ms", static_cast<double>(ramp / kMs))
      .num("opened", static_cast<double>(opened))
      .num("max_open", static_cast<double>(max_slow))
      .num("open_at_end", static_cast<double>(open_at_end))
      .num("connect_errors", static_cast<double>(connect_errors))
      .counts("errors", errors)
      .counts("responses", responses)
      .num("closed_by_server", static_cast<double>(closed_first + closed_second))
      .num("bytes_per_closed_conn", closed_first + closed_second
                                        ? static_cast<double>(bytes_before_close) /
                                              static_cast<double>(closed_first + closed_second)
                                        : 0);
  if (body)
    o.num("content_length", static_cast<double>(content_length))
        .num("chunk", static_cast<double>(chunk))
        .num("stall_every", static_cast<double>(second_every))
        .raw("close_trickle", close_first.json())
        .raw("close_stall", close_second.json());
  else
    o.num("keepalive_every", static_cast<double>(second_every))
        .raw("close_fresh", close_first.json())
        .raw("close_keepalive", close_second.json());
  emit(o.done());
  return 0;
}

// ----------------------------------------------------------------- slowread --

// WebSocket connections that read the upgrade and the answer to their
// subscribe and then never read again. Once silent, each is watched with
// FIONREAD (bytes waiting in its receive buffer: the server has started to
// send) and epoll (which reports a reset or hang-up even with no events
// asked for): the server's slow-reader policy ends with a reset.
struct Silent {
  int fd = -1;
  std::string in, out;
  std::int64_t t_sub = 0, t_data = 0;
  bool silent = false, resync = false;
};

// Connects `c` and sends `hello`; false on failure.
bool open_silent(Poller& poll, const Target& t, Silent& c, std::size_t i, int rcvbuf,
                 const std::string& hello) {
  c = Silent{};
  c.fd = open_connection(t, i, rcvbuf);
  if (c.fd < 0) return false;
  c.out = hello;
  poll.add(c.fd, i, EPOLLOUT | EPOLLIN | EPOLLRDHUP);
  return true;
}

// Handles an event of a connection not yet silent; returns false when it
// failed. It goes silent once `subscribed` came (a `resync` right behind it
// is noted).
bool on_silent_event(Poller& poll, Silent& c, std::size_t i) {
  if (!c.out.empty()) {
    if (socket_error(c.fd)) return false;
    if (!send_some(c.fd, c.out)) return false;
    if (c.out.empty()) poll.mod(c.fd, i, EPOLLIN | EPOLLRDHUP);
  }
  bool open = read_all(c.fd, &c.in);
  auto sub = c.in.find("\"type\":\"subscribed\"");
  if (sub != std::string::npos) {
    c.resync = c.in.find("\"type\":\"resync\"", sub) != std::string::npos;
    c.silent = true;
    c.t_sub = now_ns();
    std::string().swap(c.in);
    poll.mod(c.fd, i, 0);  // from now on only a reset or hang-up is reported
    return true;
  }
  return open;
}

// Whether the server has started sending to a silent connection.
bool has_waiting_bytes(int fd) {
  int n = 0;
  return ::ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

// Readers of --topic that never read, in cohorts: a cohort connects, its
// readers go silent, and the cohort ends when the server has reset them
// all (or --cohort-max-seconds pass); then the next. Time to close: from
// the first bytes the server sent a reader after it went silent to the
// reset.
int run_slowread(Args& a) {
  Target t = make_target(a);
  auto n = static_cast<std::size_t>(a.num("conns", 2000));
  std::string topic = a.str("topic", "ticker:de");
  int rcvbuf = static_cast<int>(a.num("rcvbuf", 4096));
  std::int64_t seconds = a.num("seconds", 600);
  std::int64_t cohort_max = a.num("cohort-max-seconds", 60) * kSec;
  auto inflight_max = static_cast<std::size_t>(a.num("inflight", 256));
  a.check();
  std::string hello = ws_handshake(t) + subscribe_frame(topic);
  std::int64_t start = now_ns(), stop = start + seconds * kSec;
  std::int64_t cohorts = 0, subscribed = 0, failed = 0, reset = 0, never_sent = 0, left_open = 0;
  Dist close_time;
  bool ramped = false;
  while (!g_stop && now_ns() < stop) {
    Poller poll;
    std::vector<Silent> conns(n);
    std::size_t next = 0, pending = 0, done = 0;
    std::int64_t cohort_start = now_ns();
    auto end = [&](Silent& c, bool by_server) {
      if (by_server) {
        ++reset;
        if (c.t_data) close_time.add(now_ns() - c.t_data);
      } else if (!c.silent) {
        ++failed;
      }
      ::close(c.fd);
      c.fd = -1;
      ++done;
    };
    while (!g_stop && done < n && now_ns() - cohort_start < cohort_max) {
      while (next < n && pending < inflight_max) {
        if (open_silent(poll, t, conns[next], next, rcvbuf, hello))
          ++pending;
        else
          ++failed, ++done;
        ++next;
      }
      poll.wait(20, [&](std::uint64_t i, std::uint32_t ev) {
        Silent& c = conns[i];
        if (c.fd < 0) return;
        if (c.silent) {
          if (ev & (EPOLLERR | EPOLLHUP)) end(c, true);
          return;
        }
        if (!on_silent_event(poll, c, i)) {
          --pending;
          return end(c, false);
        }
        if (c.silent) {
          --pending;
          ++subscribed;
        }
      });
      if (!ramped && next >= n && pending == 0) {
        ramped = true;
        emit(Obj()
                 .num("ramped", 1)
                 .num("seconds", static_cast<double>(now_ns() - start) / 1e9)
                 .done());
      }
      for (auto& c : conns)
        if (c.fd >= 0 && c.silent && !c.t_data && has_waiting_bytes(c.fd)) c.t_data = now_ns();
    }
    ++cohorts;
    for (auto& c : conns)
      if (c.fd >= 0) {
        if (c.silent && !c.t_data) ++never_sent;
        if (c.silent) ++left_open;
        ::close(c.fd);
      }
  }
  emit(Obj()
           .str("mode", "slowread")
           .str("topic", topic)
           .num("conns", static_cast<double>(n))
           .num("rcvbuf", rcvbuf)
           .num("cohorts", static_cast<double>(cohorts))
           .num("subscribed", static_cast<double>(subscribed))
           .num("failed", static_cast<double>(failed))
           .num("closed_by_server", static_cast<double>(reset))
           .num("not_closed", static_cast<double>(left_open))
           .num("never_sent_to", static_cast<double>(never_sent))
           .raw("close", close_time.json())
           .done());
  return 0;
}

// Connections that resume --topic from seq 0 (its whole history) and then
// never read; each one the server ends is opened again at once: a flood of
// resumes. Counts how many were answered with a replay and how many told
// to resync, and how soon the replayed ones were reset.
int run_resume(Args& a) {
  Target t = make_target(a);
  auto n = static_cast<std::size_t>(a.num("conns", 500));
  std::string topic = a.str("topic", "ticker:en");
  int rcvbuf = static_cast<int>(a.num("rcvbuf", 4096));
  std::int64_t seconds = a.num("seconds", 600);
  a.check();
  std::string hello =
      ws_handshake(t) +
      client_frame(0x1, "{\"type\":\"subscribe\",\"topic\":" + jstr(topic) + ",\"since\":0}");
  Poller poll;
  std::vector<Silent> conns(n);
  std::int64_t attempts = 0, replayed = 0, resyncs = 0, failed = 0, reset = 0;
  Dist close_time;
  std::int64_t start = now_ns(), stop = start + seconds * kSec;
  for (std::size_t i = 0; i < n; ++i) {
    if (open_silent(poll, t, conns[i], i, rcvbuf, hello)) ++attempts;
  }
  std::size_t upgraded = 0;
  bool ramped = false;
  auto reopen = [&](std::size_t i) {
    ::close(conns[i].fd);
    if (!g_stop && open_silent(poll, t, conns[i], i, rcvbuf, hello)) ++attempts;
  };
  while (!g_stop && now_ns() < stop) {
    poll.wait(20, [&](std::uint64_t i, std::uint32_t ev) {
      Silent& c = conns[i];
      if (c.fd < 0) return;
      if (c.silent) {
        if (ev & (EPOLLERR | EPOLLHUP)) {
          ++reset;
          close_time.add(now_ns() - c.t_sub);
          reopen(i);
        }
        return;
      }
      if (!on_silent_event(poll, c, i)) {
        ++failed;
        return reopen(i);
      }
      if (c.silent) {
        ++upgraded;
        ++(c.resync ? resyncs : replayed);
      }
    });
    if (!ramped && upgraded >= n) {
      ramped = true;
      emit(Obj()
               .num("ramped", 1)
               .num("seconds", static_cast<double>(now_ns() - start) / 1e9)
               .done());
    }
  }
  std::int64_t open = 0;
  for (auto& c : conns)
    if (c.fd >= 0) {
      open += c.silent;
      ::close(c.fd);
    }
  emit(Obj()
           .str("mode", "resume")
           .str("topic", topic)
           .num("conns", static_cast<double>(n))
           .num("attempts", static_cast<double>(attempts))
           .num("replayed", static_cast<double>(replayed))
           .num("resync", static_cast<double>(resyncs))
           .num("failed", static_cast<double>(failed))
           .num("closed_by_server", static_cast<double>(reset))
           .num("open_at_end", static_cast<double>(open))
           .raw("close", close_time.json())
           .done());
  return 0;
}

// ----------------------------------------------------------------- smuggle --

struct SmuggleCase {
  const char* name;
  std::string request;  // before the pipelined request
  std::vector<int> expect;
};

std::vector<SmuggleCase> smuggle_cases() {
  // A request that reached a handler would count under /robots.txt in the
  // metrics, the pipelined one under /sitemap.xml; bench/hostile checks both.
  const std::string h = "POST /robots.txt HTTP/1.1\r\nHost: t\r\n";
  return {
      {"cl-te", h + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX", {400}},
      {"te-cl", h + "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nX", {400}},
      {"cl-cl", h + "Content-Length: 0\r\nContent-Length: 6\r\n\r\nXXXXXX", {400}},
      {"cl-list", h + "Content-Length: 0, 6\r\n\r\nXXXXXX", {400}},
      {"cl-plus", h + "Content-Length: +6\r\n\r\nXXXXXX", {400}},
      {"cl-negative", h + "Content-Length: -1\r\n\r\n", {400}},
      {"cl-hex", h + "Content-Length: 0x6\r\n\r\nXXXXXX", {400}},
      {"cl-space", h + "Content-Length: 6 0\r\n\r\nXXXXXX", {400}},
      {"cl-overflow", h + "Content-Length: 99999999999999999999999\r\n\r\n", {400, 413}},
      {"te-xchunked", h + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", {400}},
      {"te-chunked-identity", h + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", {400}},
      {"te-twice",
       h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       {400}},
      {"te-gzip", h + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", {400, 501}},
      {"te-quoted", h + "Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n", {400}},
      {"te-vtab",
       h + "Transfer-Encoding: \x0b"
           "chunked\r\n\r\n0\r\n\r\n",
       {400}},
      {"te-space-before-colon", h + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", {400}},
      {"te-http10",
       "POST /robots.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       {400}},
      {"obs-fold-te", h + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", {400}},
      {"obs-fold-cl", h + "Content-Length:\r\n 0\r\n\r\n", {400}},
      {"obs-fold-other", h + "Content-Length: 0\r\nX-A: 1\r\n\t2\r\n\r\n", {400}},
      {"ws-line-after-start",
       "POST /robots.txt HTTP/1.1\r\n Host: t\r\nContent-Length: 0\r\n\r\n",
       {400}},
      {"chunk-size-overflow",
       h + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nX\r\n0\r\n\r\n",
       {400}},
      {"chunk-bad-end", h + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n", {400}},
      {"chunk-negative", h + "Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", {400}},
      {"chunk-bare-lf", h + "Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n", {400}},
      {"nul-in-field",
       h + "Content-Length: 0\r\nX-A: a" + std::string(1, '\0') + "b\r\n\r\n",
       {400}},
      {"two-hosts",
       "POST /robots.txt HTTP/1.1\r\nHost: t\r\nHost: u\r\nContent-Length: 0\r\n\r\n",
       {400}},
      {"no-host", "POST /robots.txt HTTP/1.1\r\nContent-Length: 0\r\n\r\n", {400}},
      {"bare-lf", "POST /robots.txt HTTP/1.1\nHost: t\nContent-Length: 0\n\n", {400}},
      {"bare-cr", "POST /robots.txt HTTP/1.1\rHost: t\r\nContent-Length: 0\r\n\r\n", {400}},
      {"space-in-name", h + "Content Length: 0\r\n\r\n", {400}},
      {"double-space-target",
       "POST  /robots.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
       {400}},
      {"bad-version", "POST /robots.txt HTTP/1.2\r\nHost: t\r\nContent-Length: 0\r\n\r\n", {400}},
  };
}

// Each attempt on a fresh connection: the case, then a pipelined request;
// it passes when exactly one answer comes, with an expected status and
// Connection: close, and the server then closes.
int run_smuggle(Args& a) {
  Target t = make_target(a);
  double rate = a.real("rate", 200);
  std::int64_t seconds = a.num("seconds", 600);
  std::int64_t timeout = a.num("timeout-ms", 3000) * kMs;
  a.check();
  const std::string marker = "GET /sitemap.xml HTTP/1.1\r\nHost: t\r\n\r\n";
  auto cases = smuggle_cases();
  struct Tally {
    std::int64_t attempts = 0, ok = 0, answered_twice = 0, kept_open = 0, no_close_header = 0;
    std::map<std::string, std::int64_t> statuses;
  };
  std::vector<Tally> tally(cases.size());
  struct Attempt {
    int fd = -1;
    std::size_t which = 0;
    bool sent = false;
    std::int64_t start = 0;
    std::string in;
  };
  std::vector<Attempt> att;
  std::vector<std::size_t> free_att;
  Poller poll;
  std::int64_t connect_errors = 0;
  Dist close_time;

  auto finish = [&](std::size_t i, bool closed) {
    Attempt& x = att[i];
    Tally& c = tally[x.which];
    c.attempts++;
    std::vector<Response> rs;
    std::string_view in = x.in;
    Response r;
    while (parse_response(in, r)) {
      rs.push_back(r);
      in.remove_prefix(std::min(r.length, in.size()));
    }
    if (rs.empty()) {
      c.statuses[in.empty() ? "none" : "unparsed"]++;
    } else {
      c.statuses[std::to_string(rs[0].status)]++;
    }
    bool status_ok =
        !rs.empty() && std::find(cases[x.which].expect.begin(), cases[x.which].expect.end(),
                                 rs[0].status) != cases[x.which].expect.end();
    if (rs.size() > 1) c.answered_twice++;
    if (!closed) c.kept_open++;
    if (!rs.empty() && !rs[0].close) c.no_close_header++;
    if (status_ok && rs.size() == 1 && rs[0].close && closed) c.ok++;
    if (closed) close_time.add(now_ns() - x.start);
    ::close(x.fd);
    x = Attempt{};
    free_att.push_back(i);
  };
  std::int64_t start = now_ns(), stop = start + seconds * kSec;
  std::int64_t interval = static_cast<std::int64_t>(kSec / std::max(rate, 0.1));
  std::int64_t next = start;
  std::size_t k = 0;
  bool ramped = false;
  while (!g_stop && now_ns() < stop) {
    std::int64_t now = now_ns();
    while (next <= now) {
      next += interval;
      std::size_t i;
      if (!free_att.empty()) {
        i = free_att.back();
        free_att.pop_back();
      } else {
        i = att.size();
        att.emplace_back();
      }
      Attempt& x = att[i];
      x.which = k++ % cases.size();
      x.start = now;
      x.fd = open_connection(t, i);
      if (x.fd < 0) {
        connect_errors++;
        x = Attempt{};
        free_att.push_back(i);
        continue;
      }
      poll.add(x.fd, i, EPOLLOUT | EPOLLIN | EPOLLRDHUP);
    }
    if (!ramped) {
      ramped = true;
      emit(Obj().num("ramped", 1).num("seconds", 0).done());
    }
    for (std::size_t i = 0; i < att.size(); ++i)
      if (att[i].fd >= 0 && now - att[i].start > timeout) finish(i, false);
    poll.wait(10, [&](std::uint64_t i, std::uint32_t ev) {
      Attempt& x = att[i];
      if (x.fd < 0) return;
      if (!x.sent) {
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        if (socket_error(x.fd)) {
          connect_errors++;
          ::close(x.fd);
          x = Attempt{};
          free_att.push_back(i);
          return;
        }
        std::string out = cases[x.which].request + marker;
        send_some(x.fd, out);
        x.sent = true;
        poll.mod(x.fd, i, EPOLLIN | EPOLLRDHUP);
        return;
      }
      if (!read_all(x.fd, &x.in)) finish(i, true);
    });
  }
  for (std::size_t i = 0; i < att.size(); ++i)
    if (att[i].fd >= 0) ::close(att[i].fd);
  Obj per_case;
  std::int64_t attempts = 0, ok = 0, twice = 0, open = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Tally& c = tally[i];
    attempts += c.attempts;
    ok += c.ok;
    twice += c.answered_twice;
    open += c.kept_open;
    per_case.raw(cases[i].name, Obj()
                                    .num("attempts", static_cast<double>(c.attempts))
                                    .num("ok", static_cast<double>(c.ok))
                                    .num("answered_twice", static_cast<double>(c.answered_twice))
                                    .num("kept_open", static_cast<double>(c.kept_open))
                                    .num("no_close_header", static_cast<double>(c.no_close_header))
                                    .counts("statuses", c.statuses)
                                    .done());
  }
  Obj o;
  o.str("mode", "smuggle")
      .num("rate", rate)
      .num("cases", static_cast<double>(cases.size()))
      .num("attempts", static_cast<double>(attempts))
      .num("refused_and_closed", static_cast<double>(ok))
      .num("answered_twice", static_cast<double>(twice))
      .num("kept_open", static_cast<double>(open))
      .num("connect_errors", static_cast<double>(connect_errors))
      .raw("close", close_time.json())
      .raw("per_case", per_case.done());
  emit(o.done());
  return 0;
}

// ---------------------------------------------------------------- subflood --

// WebSocket connections that flood subscribes, each of one kind (by index):
//   unknown   a burst of subscribes to tickers that do not exist (each one a store lookup)
//   prefix    a burst of subscribes to topics no policy routes
//   long      a burst of subscribes with 3,000-character topics
//   oversized one message larger than live.max_message_bytes
//   topics    distinct real topics, 15 a second (within the message rate), past
//             live.max_subscriptions
// A closed connection is opened again after --reconnect-ms. --steady
// connections subscribe and unsubscribe within every limit, and must stay open.
int run_subflood(Args& a) {
  Target t = make_target(a);
  auto n = static_cast<std::size_t>(a.num("conns", 200));
  auto steady = static_cast<std::size_t>(a.num("steady", 1));
  std::int64_t burst = a.num("burst", 100);
  std::int64_t reconnect = a.num("reconnect-ms", 1000) * kMs;
  std::int64_t seconds = a.num("seconds", 600);
  std::int64_t big = a.num("big", 65536);
  std::string topics_arg = a.str("topics", "ticker:de,ticker:en,ticker:ru");
  a.check();
  std::vector<std::string> topics;
  for (std::size_t p = 0; p <= topics_arg.size();) {
    auto comma = std::min(topics_arg.find(',', p), topics_arg.size());
    if (comma > p) topics.push_back(topics_arg.substr(p, comma - p));
    p = comma + 1;
  }
  const std::vector<std::string> kinds = {"unknown", "prefix", "long", "oversized", "topics"};
  struct PerKind {
    std::int64_t opened = 0, sent = 0, errors = 0, subscribed = 0, eof = 0;
    std::map<std::string, std::int64_t> closes, error_codes;
    Dist close_time;
  };
  std::map<std::string, PerKind> per;

  enum class Phase : std::uint8_t { down, connecting, handshake, open };
  struct Conn {
    int fd = -1;
    Phase phase = Phase::down;
    std::string kind;
    std::string in, out;
    std::int64_t t_first = 0, next_send = 0, reopen_at = 0, sent = 0;
    std::size_t topic = 0;
  };
  std::size_t total = n + steady;
  std::vector<Conn> conns(total);
  for (std::size_t i = 0; i < total; ++i)
    conns[i].kind = i < n ? kinds[i % kinds.size()] : "steady";
  Poller poll;
  std::size_t upgraded_once = 0;
  std::vector<bool> seen(total, false);
  bool ramped = false;
  std::int64_t start = now_ns(), stop = start + seconds * kSec;

  auto down = [&](std::size_t i) {
    Conn& c = conns[i];
    ::close(c.fd);
    c = Conn{-1, Phase::down, c.kind, {}, {}, 0, 0, now_ns() + reconnect, 0, 0};
  };
  auto push = [&](std::size_t i, const std::string& frame) {
    Conn& c = conns[i];
    c.out += frame;
    per[c.kind].sent++;
    c.sent++;
    if (!send_some(c.fd, c.out)) return down(i);
    if (!c.out.empty()) poll.mod(c.fd, i, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  };
  auto on_upgraded = [&](std::size_t i) {
    Conn& c = conns[i];
    c.phase = Phase::open;
    c.t_first = now_ns();
    if (!seen[i]) {
      seen[i] = true;
      ++upgraded_once;
    }
    std::string frames;
    if (c.kind == "unknown") {
      for (std::int64_t k = 0; k < burst; ++k)
        frames += subscribe_frame("ticker:nope-" + std::to_string(i) + "-" + std::to_string(k));
    } else if (c.kind == "prefix") {
      for (std::int64_t k = 0; k < burst; ++k) frames += subscribe_frame("zz:" + std::to_string(k));
    } else if (c.kind == "long") {
      for (std::int64_t k = 0; k < burst; ++k)
        frames += subscribe_frame("ticker:" + std::string(3000, static_cast<char>('a' + k % 26)));
    } else if (c.kind == "oversized") {
      frames = client_frame(0x1, "{\"type\":\"subscribe\",\"topic\":\"" +
                                     std::string(static_cast<std::size_t>(big), 'x') + "\"}");
    } else {
      c.next_send = c.t_first;  // topics and steady: paced in the loop
      return;
    }
    std::int64_t count = c.kind == "oversized" ? 1 : burst;
    c.out += frames;
    per[c.kind].sent += count;
    c.sent += count;
    if (!send_some(c.fd, c.out)) return down(i);
    if (!c.out.empty()) poll.mod(c.fd, i, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  };
  auto on_event = [&](std::size_t i, std::uint32_t ev) {
    Conn& c = conns[i];
    if (c.fd < 0) return;
    PerKind& k = per[c.kind];
    if (c.phase == Phase::connecting) {
      if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      if (socket_error(c.fd)) return down(i);
      c.phase = Phase::handshake;
      k.opened++;
      c.out = ws_handshake(t);
    }
    if (!c.out.empty() && !send_some(c.fd, c.out)) return down(i);
    if (c.out.empty()) poll.mod(c.fd, i, EPOLLIN | EPOLLRDHUP);
    bool open = read_all(c.fd, &c.in);
    if (c.phase == Phase::handshake) {
      auto end = c.in.find("\r\n\r\n");
      if (end != std::string::npos) {
        if (c.in.rfind("HTTP/1.1 101", 0) != 0) {
          k.closes["refused " + c.in.substr(9, 3)]++;
          return down(i);
        }
        c.in.erase(0, end + 4);
        on_upgraded(i);
        if (c.fd < 0) return;
      }
    }
    if (c.phase == Phase::open) {
      std::vector<WsFrame> frames;
      std::size_t used = parse_frames(c.in, frames);
      for (const auto& f : frames) {
        if (f.opcode == 0x8) {
          k.closes[close_reason(f.payload)]++;
          k.close_time.add(now_ns() - c.t_first);
          c.out +=
              client_frame(0x8, f.payload.substr(0, std::min<std::size_t>(2, f.payload.size())));
          send_some(c.fd, c.out);
          return down(i);
        }
        if (f.opcode == 0x9) {
          c.out += client_frame(0xA, f.payload);
          continue;
        }
        std::string_view m = f.payload;
        if (m.find("\"type\":\"subscribed\"") != std::string_view::npos) k.subscribed++;
        if (m.find("\"type\":\"error\"") != std::string_view::npos) {
          k.errors++;
          auto code = m.find("\"code\":\"");
          if (code != std::string_view::npos) {
            auto e = m.find('"', code + 8);
            k.error_codes[std::string(m.substr(code + 8, e - code - 8))]++;
          }
        }
      }
      c.in.erase(0, used);
    }
    if (!open) {
      k.eof++;
      down(i);
    }
  };

  while (!g_stop && now_ns() < stop) {
    std::int64_t now = now_ns();
    for (std::size_t i = 0; i < total; ++i) {
      Conn& c = conns[i];
      if (c.phase == Phase::down && c.reopen_at <= now) {
        c.fd = open_connection(t, i);
        if (c.fd < 0) {
          c.reopen_at = now + reconnect;
          continue;
        }
        c.phase = Phase::connecting;
        poll.add(c.fd, i, EPOLLOUT | EPOLLIN | EPOLLRDHUP);
      } else if (c.phase == Phase::open && (c.kind == "topics" || c.kind == "steady") &&
                 c.next_send <= now && !topics.empty()) {
        if (c.kind == "topics") {
          // 15 a second: within the message rate, past the subscription limit.
          push(i, subscribe_frame(topics[c.topic++ % topics.size()]));
          c.next_send += kSec / 15;
        } else {
          // subscribe unknown, subscribe real, unsubscribe real: 12 a second in all.
          std::size_t step = c.topic++;
          const std::string& real = topics[(step / 3) % topics.size()];
          if (step % 3 == 0)
            push(i, subscribe_frame("ticker:nope-steady-" + std::to_string(step)));
          else if (step % 3 == 1)
            push(i, subscribe_frame(real));
          else
            push(i, subscribe_frame(real, "unsubscribe"));
          c.next_send += kSec / 12;
        }
      }
    }
    if (!ramped && upgraded_once >= total) {
      ramped = true;
      emit(Obj()
               .num("ramped", 1)
               .num("seconds", static_cast<double>(now_ns() - start) / 1e9)
               .done());
    }
    poll.wait(10, on_event);
  }
  std::int64_t steady_open = 0;
  for (std::size_t i = 0; i < total; ++i) {
    if (conns[i].kind == "steady" && conns[i].phase == Phase::open) steady_open++;
    if (conns[i].fd >= 0) ::close(conns[i].fd);
  }
  Obj kinds_o;
  std::int64_t closed = 0;
  for (auto& [name, k] : per) {
    for (const auto& [why, count] : k.closes) closed += count;
    kinds_o.raw(name, Obj()
                          .num("opened", static_cast<double>(k.opened))
                          .num("messages", static_cast<double>(k.sent))
                          .num("subscribed", static_cast<double>(k.subscribed))
                          .num("errors", static_cast<double>(k.errors))
                          .counts("error_codes", k.error_codes)
                          .counts("closes", k.closes)
                          .num("eof_without_close", static_cast<double>(k.eof))
                          .raw("close_time", k.close_time.json())
                          .done());
  }
  Obj o;
  o.str("mode", "subflood")
      .num("conns", static_cast<double>(n))
      .num("steady", static_cast<double>(steady))
      .num("steady_open_at_end", static_cast<double>(steady_open))
      .num("burst", static_cast<double>(burst))
      .num("topics", static_cast<double>(topics.size()))
      .num("closed_by_server", static_cast<double>(closed))
      .raw("kinds", kinds_o.done());
  emit(o.done());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    die("usage: hostile_load probe|busy|slowloris|slowbody|slowread|resume|smuggle|subflood --port "
        "P ...");
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::string mode = argv[1];
  Args a(argc, argv);
  if (mode == "probe") return run_probe(a);
  if (mode == "busy") return run_busy(a);
  if (mode == "slowloris") return run_trickle(a, false);
  if (mode == "slowbody") return run_trickle(a, true);
  if (mode == "slowread") return run_slowread(a);
  if (mode == "resume") return run_resume(a);
  if (mode == "smuggle") return run_smuggle(a);
  if (mode == "subflood") return run_subflood(a);
  die("unknown mode " + mode);
}
