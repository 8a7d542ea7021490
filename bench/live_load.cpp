// live_load: WebSocket load generator for Depesche's live protocol (bench/live).
//
// Opens N subscribers to one topic (spread over several loopback source
// addresses), waits until every one is subscribed and the server is idle,
// publishes M entries through the HTTP API at a fixed rate, and measures
// what arrives: delivered, lost, latency p50/p99/max, server CPU per
// delivery (/proc/PID/stat) and server memory per idle subscriber
// (/proc/PID/status, sampled before connecting and once idle).
//
// Each entry's body is "t=<ns>", the CLOCK_MONOTONIC time just before its
// POST was written; latency is the receive time minus that timestamp. Both
// clocks are read in this process, so there is no clock skew.
//
// Build: g++ -O2 -std=c++20 bench/live_load.cpp -o live_load -lpthread
// No dependencies beyond libc: raw sockets, epoll, a small SHA-1 to check
// Sec-WebSocket-Accept. Client frames are masked (RFC 6455 5.3), pings are
// answered with pongs, frames may span reads and several may share one.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace {

// ------------------------------------------------------------------ options --

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path = "/live";
  int subscribers = 100;
  std::string topic = "ticker:de";
  int entries = 10;
  double rate = 10;
  std::string token;
  int publish_port = 0;  // 0: same as --port
  int sources = 4;       // client addresses 127.0.0.2 .. 127.0.0.(K+1); 0: no bind
  int pid = 0;           // server pid for /proc sampling; 0: none
  bool json = false;
  int threads = 1;                 // receiver threads
  int inflight = 256;              // connections being set up at once
  int connect_timeout_ms = 60000;  // for all subscribers to be subscribed
  int idle_ms = 1500;              // silence that counts as idle
  int idle_max_ms = 20000;         // give up waiting for idle after this
  int drain_ms = 15000;            // wait for deliveries after the last POST
  std::string perf_out;            // perf record -g -p PID -o FILE during publishing
  std::string label;               // copied into the JSON result
  int server_cpu = -1;             // CPU the server is pinned to: report how busy it was
  int pad = 0;                     // extra characters in each entry's body (bigger frames)
};

[[noreturn]] void usage(const char* msg) {
  if (msg) std::fprintf(stderr, "live_load: %s\n", msg);
  std::fprintf(stderr,
               "usage: live_load --port P [--host H] [--path /live] [--subscribers N]\n"
               "         [--topic ticker:de] [--entries M] [--rate R] --token T\n"
               "         [--publish-port P] [--sources K] [--pid PID] [--json]\n"
               "         [--threads T] [--inflight C] [--connect-timeout-ms MS]\n"
               "         [--idle-ms MS] [--idle-max-ms MS] [--drain-ms MS]\n"
               "         [--perf FILE] [--label TEXT] [--server-cpu N] [--pad BYTES]\n");
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  auto need = [&](int& i) -> const char* {
    if (i + 1 >= argc) usage((std::string("missing value for ") + argv[i]).c_str());
    return argv[++i];
  };
  auto to_int = [](const char* s, const char* name) {
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 100'000'000) usage((std::string("bad ") + name).c_str());
    return static_cast<int>(v);
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--host")
      o.host = need(i);
    else if (a == "--port")
      o.port = to_int(need(i), "--port");
    else if (a == "--path")
      o.path = need(i);
    else if (a == "--subscribers")
      o.subscribers = to_int(need(i), "--subscribers");
    else if (a == "--topic")
      o.topic = need(i);
    else if (a == "--entries")
      o.entries = to_int(need(i), "--entries");
    else if (a == "--rate") {
      const char* s = need(i);
      char* end = nullptr;
      o.rate = std::strtod(s, &end);
      if (!*s || *end || !(o.rate > 0)) usage("bad --rate");
    } else if (a == "--token")
      o.token = need(i);
    else if (a == "--publish-port")
      o.publish_port = to_int(need(i), "--publish-port");
    else if (a == "--sources")
      o.sources = to_int(need(i), "--sources");
    else if (a == "--pid")
      o.pid = to_int(need(i), "--pid");
    else if (a == "--json")
      o.json = true;
    else if (a == "--threads")
      o.threads = std::max(1, to_int(need(i), "--threads"));
    else if (a == "--inflight")
      o.inflight = std::max(1, to_int(need(i), "--inflight"));
    else if (a == "--connect-timeout-ms")
      o.connect_timeout_ms = to_int(need(i), a.data());
    else if (a == "--idle-ms")
      o.idle_ms = to_int(need(i), a.data());
    else if (a == "--idle-max-ms")
      o.idle_max_ms = to_int(need(i), a.data());
    else if (a == "--drain-ms")
      o.drain_ms = to_int(need(i), a.data());
    else if (a == "--perf")
      o.perf_out = need(i);
    else if (a == "--label")
      o.label = need(i);
    else if (a == "--server-cpu")
      o.server_cpu = to_int(need(i), "--server-cpu");
    else if (a == "--pad")
      o.pad = to_int(need(i), "--pad");
    else if (a == "-h" || a == "--help")
      usage(nullptr);
    else
      usage((std::string("unknown option ") + argv[i]).c_str());
  }
  if (o.port <= 0 || o.port > 65535) usage("--port is required");
  if (o.publish_port == 0) o.publish_port = o.port;
  if (o.entries > 0 && o.token.empty()) usage("--token is required to publish");
  if (o.topic.rfind("ticker:", 0) != 0) usage("--topic must be ticker:<id>");
  if (o.sources > 250) usage("--sources must be at most 250");
  return o;
}

// -------------------------------------------------------------------- utils --

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void sleep_until_ns(std::int64_t t) {
  timespec ts{static_cast<time_t>(t / 1'000'000'000), static_cast<long>(t % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out += c;
        }
    }
  }
  return out;
}

// SHA-1 (FIPS 180-1), only to check Sec-WebSocket-Accept.
std::string sha1(std::string_view data) {
  std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  std::string msg(data);
  std::uint64_t bits = static_cast<std::uint64_t>(data.size()) * 8;
  msg += static_cast<char>(0x80);
  while (msg.size() % 64 != 56) msg += '\0';
  for (int i = 7; i >= 0; --i) msg += static_cast<char>((bits >> (i * 8)) & 0xff);
  auto rol = [](std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); };
  for (std::size_t off = 0; off < msg.size(); off += 64) {
    std::uint32_t w[80];
    for (int i = 0; i < 16; ++i) {
      const auto* p = reinterpret_cast<const unsigned char*>(msg.data() + off + i * 4);
      w[i] = (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) |
             (std::uint32_t(p[2]) << 8) | p[3];
    }
    for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      std::uint32_t f, k;
      if (i < 20)
        f = (b & c) | (~b & d), k = 0x5A827999;
      else if (i < 40)
        f = b ^ c ^ d, k = 0x6ED9EBA1;
      else if (i < 60)
        f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
      else
        f = b ^ c ^ d, k = 0xCA62C1D6;
      std::uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d, d = c, c = rol(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
  std::string out;
  for (std::uint32_t v : h)
    for (int i = 3; i >= 0; --i) out += static_cast<char>((v >> (i * 8)) & 0xff);
  return out;
}

std::string base64(std::string_view in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    std::uint32_t v = (std::uint32_t(static_cast<unsigned char>(in[i])) << 16) |
                      (std::uint32_t(static_cast<unsigned char>(in[i + 1])) << 8) |
                      static_cast<unsigned char>(in[i + 2]);
    out += tbl[v >> 18], out += tbl[(v >> 12) & 63], out += tbl[(v >> 6) & 63], out += tbl[v & 63];
  }
  if (i + 1 == in.size()) {
    std::uint32_t v = std::uint32_t(static_cast<unsigned char>(in[i])) << 16;
    out += tbl[v >> 18], out += tbl[(v >> 12) & 63], out += "==";
  } else if (i + 2 == in.size()) {
    std::uint32_t v = (std::uint32_t(static_cast<unsigned char>(in[i])) << 16) |
                      (std::uint32_t(static_cast<unsigned char>(in[i + 1])) << 8);
    out += tbl[v >> 18], out += tbl[(v >> 12) & 63], out += tbl[(v >> 6) & 63], out += '=';
  }
  return out;
}

std::string accept_for(std::string_view key) {
  return base64(sha1(std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
}

// xorshift128+ for masking keys and handshake keys (one per thread).
struct Rng {
  std::uint64_t s[2];
  explicit Rng(std::uint64_t seed) {
    std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                      static_cast<std::uint32_t>(std::random_device{}())};
    std::uint32_t v[4];
    seq.generate(v, v + 4);
    s[0] = (std::uint64_t(v[0]) << 32) | v[1] | 1;
    s[1] = (std::uint64_t(v[2]) << 32) | v[3];
  }
  std::uint64_t next() {
    std::uint64_t x = s[0], y = s[1];
    s[0] = y;
    x ^= x << 23;
    s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return s[1] + y;
  }
};

// A masked client frame (FIN set).
std::string client_frame(Rng& rng, std::uint8_t opcode, std::string_view payload) {
  std::string f;
  f += static_cast<char>(0x80 | opcode);
  std::size_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n < 65536) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8), f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((std::uint64_t(n) >> (i * 8)) & 0xff);
  }
  std::uint32_t key = static_cast<std::uint32_t>(rng.next());
  char mask[4] = {char(key >> 24), char(key >> 16), char(key >> 8), char(key)};
  f.append(mask, 4);
  for (std::size_t i = 0; i < n; ++i) f += static_cast<char>(payload[i] ^ mask[i & 3]);
  return f;
}

// ---------------------------------------------------------------- /proc -----

struct CpuSample {
  std::uint64_t ticks = 0;  // utime + stime
  bool ok = false;
};

CpuSample read_cpu(int pid) {
  CpuSample s;
  if (pid <= 0) return s;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return s;
  char buf[4096];
  std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  // Fields after the command name (which may hold spaces and parens).
  char* p = std::strrchr(buf, ')');
  if (!p) return s;
  p += 2;  // ") "
  // p is at field 3 (state); utime is field 14, stime field 15.
  int field = 3;
  char* save = nullptr;
  std::uint64_t ut = 0, st = 0;
  for (char* tok = strtok_r(p, " ", &save); tok; tok = strtok_r(nullptr, " ", &save), ++field) {
    if (field == 14) ut = std::strtoull(tok, nullptr, 10);
    if (field == 15) {
      st = std::strtoull(tok, nullptr, 10);
      s.ticks = ut + st;
      s.ok = true;
      break;
    }
  }
  return s;
}

// One CPU's line of /proc/stat: total and busy (not idle, not iowait) ticks.
struct CoreSample {
  std::uint64_t total = 0, busy = 0;
  bool ok = false;
};

CoreSample read_core(int cpu) {
  CoreSample s;
  if (cpu < 0) return s;
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return s;
  char line[512];
  char want[16];
  std::snprintf(want, sizeof want, "cpu%d ", cpu);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, want, std::strlen(want)) != 0) continue;
    std::uint64_t v[10] = {};
    int n = std::sscanf(line + std::strlen(want),
                        "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                        " %" SCNu64 " %" SCNu64,
                        &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    if (n >= 4) {
      for (int i = 0; i < n; ++i) s.total += v[i];
      s.busy = s.total - v[3] - (n > 4 ? v[4] : 0);
      s.ok = true;
    }
    break;
  }
  std::fclose(f);
  return s;
}

long read_rss_kib(int pid) {
  if (pid <= 0) return -1;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      kib = std::strtol(line + 6, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kib;
}

// ----------------------------------------------------------- subscribers ----

enum class State : std::uint8_t { idle, connecting, handshake, open, closed };

struct Conn {
  int fd = -1;
  State state = State::idle;
  bool subscribed = false;
  bool fragmented = false;
  std::uint8_t frag_opcode = 0;
  int attempts = 0;
  std::uint32_t source = 0;    // index of the source address
  std::uint64_t sub_seq = 0;   // seq reported by "subscribed"
  std::uint64_t last_seq = 0;  // last event seq received
  std::uint32_t events = 0;    // events counted as delivered
  std::string in;              // unparsed bytes
  std::string out;             // bytes the kernel did not take yet
  std::string frag;            // fragmented message being assembled
  std::string accept;          // expected Sec-WebSocket-Accept
};

struct alignas(64) Counters {
  std::atomic<std::int64_t> subscribed{0};
  std::atomic<std::int64_t> failed{0};  // gave up connecting/subscribing
  std::atomic<std::int64_t> delivered{0};
  std::atomic<std::int64_t> last_frame_ns{0};
};

struct Shared {
  const Options* opt;
  std::vector<sockaddr_in> sources;  // empty: no bind
  sockaddr_in server{};
  std::atomic<bool> stop{false};
  std::atomic<bool> measuring{false};  // publish phase: count deliveries
};

struct ThreadResult {
  std::vector<std::int64_t> latencies_ns;
  std::int64_t delivered = 0;
  std::int64_t duplicates = 0;
  std::int64_t out_of_order = 0;  // seq gaps seen (seq > last_seq + 1)
  std::int64_t foreign = 0;       // events without our "t=" body
  std::int64_t presence = 0;
  std::int64_t resync = 0;
  std::int64_t errors = 0;  // {"type":"error"} messages
  std::int64_t pings = 0;
  std::int64_t closed_by_server = 0;
  std::int64_t eof = 0;  // connections that ended without a close frame
  std::int64_t connect_errors = 0;
  std::int64_t handshake_errors = 0;
  std::int64_t retries = 0;
  std::map<std::string, std::int64_t> close_reasons;
  std::map<std::string, std::int64_t> error_samples;
  std::vector<std::uint32_t> per_conn_events;  // events received, per subscribed connection
};

class Worker {
 public:
  Worker(Shared& sh, Counters& ctr, int index, int count, int first_conn)
      : sh_(sh), ctr_(ctr), rng_(0x9e3779b97f4a7c15ULL * (index + 1)), index_(index) {
    conns_.resize(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      conns_[static_cast<std::size_t>(i)].source =
          sh.sources.empty() ? 0 : static_cast<std::uint32_t>((first_conn + i) % sh.sources.size());
    }
    inflight_max_ = std::max(1, sh.opt->inflight / sh.opt->threads);
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
      std::perror("live_load: epoll_create1");
      std::exit(1);
    }
    subscribe_msg_ = "{\"type\":\"subscribe\",\"topic\":\"" + json_escape(sh.opt->topic) + "\"}";
  }
  ~Worker() {
    for (auto& c : conns_)
      if (c.fd >= 0) ::close(c.fd);
    if (ep_ >= 0) ::close(ep_);
  }

  void run() {
    std::vector<epoll_event> evs(1024);
    while (!sh_.stop.load(std::memory_order_relaxed)) {
      start_more();
      int n = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), 20);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::perror("live_load: epoll_wait");
        std::exit(1);
      }
      for (int i = 0; i < n; ++i) {
        Conn& c = conns_[evs[i].data.u64];
        std::uint32_t e = evs[i].events;
        if (c.fd < 0) continue;
        if (c.state == State::connecting) {
          if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(c);
          continue;
        }
        if (e & EPOLLOUT) flush(c);
        if (c.fd >= 0 && (e & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))) on_readable(c);
      }
    }
    res_.per_conn_events.reserve(conns_.size());
    for (auto& c : conns_)
      if (c.subscribed) res_.per_conn_events.push_back(c.events);
  }

  ThreadResult& result() { return res_; }

  // Called after the threads stopped.
  void close_all() {
    for (auto& c : conns_)
      if (c.fd >= 0) {
        ::close(c.fd);
        c.fd = -1;
      }
  }

 private:
  void start_more() {
    while (inflight_ < inflight_max_ && next_ < conns_.size()) {
      Conn& c = conns_[next_];
      std::size_t idx = next_++;
      open(c, idx);
    }
    while (inflight_ < inflight_max_ && !retry_.empty()) {
      std::size_t idx = retry_.back();
      retry_.pop_back();
      open(conns_[idx], idx);
    }
  }

  void open(Conn& c, std::size_t idx) {
    Conn fresh;
    fresh.attempts = c.attempts;
    fresh.source = c.source;
    c = std::move(fresh);
    c.attempts++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_setup(c, idx, std::string("socket: ") + std::strerror(errno), true);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!sh_.sources.empty()) {
      setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      const sockaddr_in& src = sh_.sources[c.source];
      if (bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0) {
        std::string err = std::string("bind: ") + std::strerror(errno);
        ::close(fd);
        return fail_setup(c, idx, err, true);
      }
    }
    c.fd = fd;
    c.state = State::connecting;
    ++inflight_;
    int r = connect(fd, reinterpret_cast<const sockaddr*>(&sh_.server), sizeof sh_.server);
    int connect_errno = errno;
    epoll_event ev{};
    ev.data.u64 = idx;
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      std::perror("live_load: epoll_ctl");
      std::exit(1);
    }
    if (r != 0 && connect_errno != EINPROGRESS) {
      std::string err = std::string("connect: ") + std::strerror(connect_errno);
      return fail_setup(c, idx, err, false);
    }
  }

  void on_connected(Conn& c) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    std::size_t idx = static_cast<std::size_t>(&c - conns_.data());
    if (err != 0) return fail_setup(c, idx, std::string("connect: ") + std::strerror(err), false);
    char raw[16];
    for (int i = 0; i < 16; i += 8) {
      std::uint64_t v = rng_.next();
      std::memcpy(raw + i, &v, 8);
    }
    std::string key = base64(std::string_view(raw, 16));
    c.accept = accept_for(key);
    c.state = State::handshake;
    epoll_event ev{};
    ev.data.u64 = idx;
    ev.events = EPOLLIN | EPOLLRDHUP;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    char host[64];
    std::snprintf(host, sizeof host, "%s:%d", sh_.opt->host.c_str(), sh_.opt->port);
    std::string req = "GET " + sh_.opt->path + " HTTP/1.1\r\nHost: " + host +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                      "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    write(c, req);
  }

  void write(Conn& c, std::string_view data) {
    if (c.fd < 0) return;
    if (c.out.empty()) {
      ssize_t n = ::send(c.fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n == static_cast<ssize_t>(data.size())) return;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return lost(c, "send");
      if (n < 0) n = 0;
      c.out.assign(data.substr(static_cast<std::size_t>(n)));
      want_write(c, true);
      return;
    }
    c.out.append(data);
  }

  void flush(Conn& c) {
    while (!c.out.empty()) {
      ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        return lost(c, "send");
      }
      c.out.erase(0, static_cast<std::size_t>(n));
    }
    std::string().swap(c.out);
    want_write(c, false);
  }

  void want_write(Conn& c, bool on) {
    epoll_event ev{};
    ev.data.u64 = static_cast<std::uint64_t>(&c - conns_.data());
    ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  // A connection failed before it was subscribed: retry a few times.
  void fail_setup(Conn& c, std::size_t idx, const std::string& why, bool fatal_resource) {
    if (c.fd >= 0) {
      ::close(c.fd);
      c.fd = -1;
      --inflight_;
    }
    c.state = State::closed;
    if (why.rfind("connect", 0) == 0)
      ++res_.connect_errors;
    else
      ++res_.handshake_errors;
    res_.error_samples[why]++;
    if (!fatal_resource && c.attempts < 5 && !sh_.stop.load()) {
      ++res_.retries;
      retry_.push_back(idx);
      return;
    }
    ctr_.failed.fetch_add(1, std::memory_order_relaxed);
  }

  // An established connection ended.
  void lost(Conn& c, const char* why) {
    if (c.state == State::handshake || (c.state == State::open && !c.subscribed)) {
      std::size_t idx = static_cast<std::size_t>(&c - conns_.data());
      return fail_setup(c, idx, std::string("handshake: ") + why, false);
    }
    if (c.state != State::closed) {
      if (std::strcmp(why, "close frame") != 0) {
        ++res_.eof;
        res_.close_reasons[why]++;
      }
    }
    c.state = State::closed;
    if (c.fd >= 0) {
      ::close(c.fd);
      c.fd = -1;
    }
  }

  void on_readable(Conn& c) {
    static thread_local char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        std::int64_t t = now_ns();
        ctr_.last_frame_ns.store(t, std::memory_order_relaxed);
        bool more = static_cast<std::size_t>(n) == sizeof buf;
        if (c.in.empty() && c.state == State::open) {
          // Common case: parse straight from the read buffer, keep the rest.
          std::size_t used = parse_frames(c, std::string_view(buf, static_cast<std::size_t>(n)), t);
          if (c.fd < 0) return;
          if (used < static_cast<std::size_t>(n)) c.in.assign(buf + used, buf + n);
        } else {
          c.in.append(buf, static_cast<std::size_t>(n));
          if (c.state == State::handshake && !on_handshake(c)) return;
          if (c.state == State::open && !c.in.empty()) {
            std::size_t used = parse_frames(c, c.in, t);
            if (c.fd < 0) return;
            c.in.erase(0, used);
          }
          if (c.in.empty()) std::string().swap(c.in);
        }
        if (!more) return;
        continue;
      }
      if (n == 0) return lost(c, c.state == State::open ? "eof" : "eof during handshake");
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      return lost(c, "recv error");
    }
  }

  // True when the connection is still usable.
  bool on_handshake(Conn& c) {
    auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (c.in.size() > 8192) {
        lost(c, "oversized handshake response");
        return false;
      }
      return true;
    }
    std::string_view head(c.in.data(), end);
    bool ok = head.rfind("HTTP/1.1 101", 0) == 0;
    // Header names are case-insensitive, the accept value is not.
    std::string lower(head);
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    constexpr std::string_view kAccept = "\r\nsec-websocket-accept:";
    auto at = lower.find(kAccept);
    if (ok && at == std::string::npos) ok = false;
    if (ok) {
      std::size_t v = at + kAccept.size();
      std::size_t e = head.find("\r\n", v);
      std::string_view value = head.substr(v, e == std::string_view::npos ? head.npos : e - v);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      ok = value == c.accept;
    }
    if (!ok) {
      std::string first(head.substr(0, head.find("\r\n")));
      std::size_t idx = static_cast<std::size_t>(&c - conns_.data());
      fail_setup(c, idx, "handshake: " + first, false);
      return false;
    }
    c.in.erase(0, end + 4);
    c.state = State::open;
    write(c, client_frame(rng_, 0x1, subscribe_msg_));
    return c.fd >= 0;
  }

  // Parses whole frames from `data`; returns the bytes used.
  std::size_t parse_frames(Conn& c, std::string_view data, std::int64_t t) {
    std::size_t pos = 0;
    while (c.fd >= 0) {
      std::size_t avail = data.size() - pos;
      if (avail < 2) break;
      auto b0 = static_cast<unsigned char>(data[pos]);
      auto b1 = static_cast<unsigned char>(data[pos + 1]);
      bool fin = b0 & 0x80;
      std::uint8_t op = b0 & 0x0f;
      bool masked = b1 & 0x80;
      std::uint64_t len = b1 & 0x7f;
      std::size_t hdr = 2;
      if (len == 126) {
        if (avail < 4) break;
        len = (std::uint64_t(static_cast<unsigned char>(data[pos + 2])) << 8) |
              static_cast<unsigned char>(data[pos + 3]);
        hdr = 4;
      } else if (len == 127) {
        if (avail < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i)
          len = (len << 8) | static_cast<unsigned char>(data[pos + 2 + i]);
        hdr = 10;
      }
      if (masked) {
        lost(c, "masked server frame");
        break;
      }
      if (len > (64u << 20)) {
        lost(c, "oversized frame");
        break;
      }
      if (avail < hdr + len) break;
      std::string_view payload = data.substr(pos + hdr, static_cast<std::size_t>(len));
      pos += hdr + static_cast<std::size_t>(len);
      on_frame(c, fin, op, payload, t);
    }
    return pos;
  }

  void on_frame(Conn& c, bool fin, std::uint8_t op, std::string_view payload, std::int64_t t) {
    switch (op) {
      case 0x9:  // ping
        ++res_.pings;
        write(c, client_frame(rng_, 0xA, payload));
        return;
      case 0xA: return;  // pong
      case 0x8: {        // close
        std::string reason = "close";
        if (payload.size() >= 2) {
          int code = (static_cast<unsigned char>(payload[0]) << 8) |
                     static_cast<unsigned char>(payload[1]);
          reason = std::to_string(code) + " " + std::string(payload.substr(2));
        }
        ++res_.closed_by_server;
        res_.close_reasons[reason]++;
        if (!c.subscribed) {
          std::size_t idx = static_cast<std::size_t>(&c - conns_.data());
          res_.error_samples["closed before subscribed: " + reason]++;
          c.attempts = 99;  // the server said no: do not retry
          fail_setup(c, idx, "handshake: closed by server", false);
          return;
        }
        // Answer the close (same code) and drop the connection.
        std::string echo(payload.substr(0, std::min<std::size_t>(2, payload.size())));
        write(c, client_frame(rng_, 0x8, echo));
        lost(c, "close frame");
        return;
      }
      case 0x1:
      case 0x2:
        if (c.fragmented) return lost(c, "protocol: expected continuation");
        if (!fin) {
          c.fragmented = true;
          c.frag_opcode = op;
          c.frag.assign(payload);
          return;
        }
        return on_message(c, payload, t);
      case 0x0:
        if (!c.fragmented) return lost(c, "protocol: unexpected continuation");
        c.frag.append(payload);
        if (fin) {
          c.fragmented = false;
          std::string msg = std::move(c.frag);
          c.frag.clear();
          on_message(c, msg, t);
        }
        return;
      default: return lost(c, "protocol: unknown opcode");
    }
  }

  static std::string_view str_field(std::string_view json, std::string_view key) {
    // "key":"value" (value without escapes: enough for type and topic).
    std::string pat = "\"" + std::string(key) + "\":\"";
    auto p = json.find(pat);
    if (p == std::string_view::npos) return {};
    p += pat.size();
    auto e = json.find('"', p);
    if (e == std::string_view::npos) return {};
    return json.substr(p, e - p);
  }

  static bool num_field(std::string_view json, std::string_view key, std::uint64_t& out) {
    std::string pat = "\"" + std::string(key) + "\":";
    auto p = json.find(pat);
    if (p == std::string_view::npos) return false;
    p += pat.size();
    while (p < json.size() && json[p] == ' ') ++p;
    auto r = std::from_chars(json.data() + p, json.data() + json.size(), out);
    return r.ec == std::errc();
  }

  void on_message(Conn& c, std::string_view msg, std::int64_t t) {
    // Only the top-level fields come before "data", so search that prefix
    // for type/topic/seq.
    auto data_at = msg.find("\"data\":");
    std::string_view head = data_at == std::string_view::npos ? msg : msg.substr(0, data_at);
    std::string_view type = str_field(head, "type");
    if (type == "event") {
      std::uint64_t seq = 0;
      if (!num_field(head, "seq", seq) || str_field(head, "topic") != sh_.opt->topic) {
        ++res_.foreign;
        return;
      }
      if (seq <= c.last_seq) {
        ++res_.duplicates;
        return;
      }
      if (seq > c.last_seq + 1) ++res_.out_of_order;
      c.last_seq = seq;
      // The entry's body: "t=<ns>".
      auto b = msg.find("\"body\":\"t=", data_at == std::string_view::npos ? 0 : data_at);
      if (b == std::string_view::npos) {
        ++res_.foreign;
        return;
      }
      b += 10;
      std::int64_t sent = 0;
      auto r = std::from_chars(msg.data() + b, msg.data() + msg.size(), sent);
      if (r.ec != std::errc()) {
        ++res_.foreign;
        return;
      }
      ++c.events;
      ++res_.delivered;
      res_.latencies_ns.push_back(t - sent);
      ctr_.delivered.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (type == "subscribed") {
      if (!c.subscribed) {
        c.subscribed = true;
        std::uint64_t seq = 0;
        num_field(head, "seq", seq);
        c.sub_seq = seq;
        c.last_seq = seq;
        --inflight_;
        ctr_.subscribed.fetch_add(1, std::memory_order_relaxed);
      }
      return;
    }
    if (type == "presence") {
      ++res_.presence;
      return;
    }
    if (type == "resync") {
      ++res_.resync;
      return;
    }
    if (type == "error") {
      ++res_.errors;
      res_.error_samples["server error message: " + std::string(msg.substr(0, 200))]++;
      if (!c.subscribed) {
        std::size_t idx = static_cast<std::size_t>(&c - conns_.data());
        c.attempts = 99;
        fail_setup(c, idx, "subscribe refused", false);
      }
      return;
    }
    res_.error_samples["unknown message: " + std::string(msg.substr(0, 120))]++;
  }

  Shared& sh_;
  Counters& ctr_;
  Rng rng_;
  [[maybe_unused]] int index_;
  int ep_ = -1;
  std::vector<Conn> conns_;
  std::size_t next_ = 0;
  std::vector<std::size_t> retry_;
  int inflight_ = 0;
  int inflight_max_ = 1;
  std::string subscribe_msg_;
  ThreadResult res_;
};

// -------------------------------------------------------------- publisher ---

struct PublishResult {
  int sent = 0;
  int ok = 0;
  std::int64_t behind_max_ns = 0;  // latest send after its scheduled time
  int failed = 0;
  std::vector<std::int64_t> post_ns;  // request round trips
  std::map<std::string, int> failures;
  std::int64_t first_ns = 0, last_ns = 0;
};

// Posts entries on schedule, open loop: an entry goes out at its time even
// when earlier POSTs are still waiting for their answers (on another
// keep-alive connection of a small pool), so a slow server gets the offered
// rate and shows it as latency, rather than being offered less.
class Publisher {
 public:
  Publisher(const Options& o, PublishResult& pr) : o_(o), pr_(pr) {
    ticker_ = o.topic.substr(std::strlen("ticker:"));
  }
  ~Publisher() {
    for (auto& c : conns_)
      if (c.fd >= 0) ::close(c.fd);
  }

  // Sends entry i now.
  void post(int i) {
    Api* c = nullptr;
    for (auto& x : conns_)
      if (x.fd >= 0 && !x.busy) {
        c = &x;
        break;
      }
    if (!c) {
      if (static_cast<int>(conns_.size()) >= kMaxConns) {
        // Every connection waits for an answer: this entry waits too.
        pending_.push_back(i);
        return;
      }
      for (auto& x : conns_)
        if (x.fd < 0) c = &x;
      if (!c) {
        conns_.emplace_back();
        c = &conns_.back();
      }
      if (!open(*c)) {
        pr_.failed++;
        return;
      }
    }
    send_entry(*c, i, true);
  }

  // Reads answers until none is outstanding or `until` (monotonic ns).
  void pump(std::int64_t until) {
    for (;;) {
      std::vector<pollfd> fds;
      std::vector<Api*> who;
      for (auto& c : conns_)
        if (c.fd >= 0 && c.busy) {
          fds.push_back(pollfd{c.fd, POLLIN, 0});
          who.push_back(&c);
        }
      if (fds.empty()) return;
      std::int64_t now = now_ns();
      if (now >= until) return;
      int ms = static_cast<int>(std::min<std::int64_t>((until - now) / 1'000'000 + 1, 1000));
      int n = ::poll(fds.data(), fds.size(), ms);
      if (n < 0 && errno != EINTR) return;
      for (std::size_t k = 0; k < fds.size(); ++k)
        if (fds[k].revents) on_readable(*who[k]);
    }
  }

  void set_schedule(std::int64_t start, std::int64_t interval) {
    start_ = start;
    interval_ = interval;
  }

  bool outstanding() const {
    if (!pending_.empty()) return true;
    for (auto& c : conns_)
      if (c.fd >= 0 && c.busy) return true;
    return false;
  }
  int connections_used() const { return static_cast<int>(conns_.size()); }

 private:
  static constexpr int kMaxConns = 16;
  struct Api {
    int fd = -1;
    bool busy = false;
    int entry = -1;
    bool retried = false;
    std::int64_t sent_ns = 0;
    std::string buf;
  };

  bool open(Api& c) {
    c = Api{};
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(o_.publish_port));
    inet_pton(AF_INET, o_.host.c_str(), &a.sin_addr);
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{10, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      pr_.failures[std::string("API connect: ") + std::strerror(errno)]++;
      ::close(c.fd);
      c.fd = -1;
      return false;
    }
    return true;
  }

  void drop(Api& c) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    c.busy = false;
    c.buf.clear();
  }

  void send_entry(Api& c, int i, bool may_retry) {
    std::int64_t t = now_ns();
    if (pr_.first_ns == 0) pr_.first_ns = t;
    pr_.last_ns = t;
    std::string body = "{\"title\":\"bench " + std::to_string(i + 1) +
                       "\",\"body\":\"t=" + std::to_string(t) + (o_.pad > 0 ? " " : "") +
                       std::string(static_cast<std::size_t>(o_.pad), 'x') + "\"}";
    std::string req =
        "POST /api/v1/tickers/" + ticker_ + "/entries HTTP/1.1\r\nHost: " + o_.host + ":" +
        std::to_string(o_.publish_port) + "\r\nAuthorization: Bearer " + o_.token +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    std::string_view d = req;
    while (!d.empty()) {
      ssize_t n = ::send(c.fd, d.data(), d.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // A keep-alive connection the server closed in the meantime.
        drop(c);
        if (may_retry && open(c)) return send_entry(c, i, false);
        pr_.failures["send failed"]++;
        pr_.failed++;
        return;
      }
      d.remove_prefix(static_cast<std::size_t>(n));
    }
    c.busy = true;
    pr_.sent++;
    pr_.behind_max_ns = std::max(pr_.behind_max_ns, t - (start_ + interval_ * i));
    c.entry = i;
    c.retried = !may_retry;
    c.sent_ns = t;
  }

  void on_readable(Api& c) {
    char b[16384];
    ssize_t n = ::recv(c.fd, b, sizeof b, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      if (c.buf.empty() && !c.retried) {
        // Closed before answering (keep-alive race): send this entry again.
        int i = c.entry;
        drop(c);
        if (open(c)) return send_entry(c, i, false);
      }
      pr_.failures["no response"]++;
      pr_.failed++;
      drop(c);
      next_pending();
      return;
    }
    c.buf.append(b, static_cast<std::size_t>(n));
    int status = 0;
    bool close_after = false;
    std::string body;
    std::size_t used = parse(c.buf, status, close_after, body);
    if (used == 0) return;
    c.buf.erase(0, used);
    pr_.post_ns.push_back(now_ns() - c.sent_ns);
    if (status / 100 == 2) {
      pr_.ok++;
    } else {
      pr_.failed++;
      pr_.failures["HTTP " + std::to_string(status) + ": " + body.substr(0, 160)]++;
    }
    c.busy = false;
    if (close_after) drop(c);
    next_pending();
  }

  void next_pending() {
    if (pending_.empty()) return;
    int i = pending_.front();
    pending_.erase(pending_.begin());
    post(i);
  }

  // A complete response at the start of `buf`: returns its length, else 0.
  static std::size_t parse(const std::string& buf, int& status, bool& close_after,
                           std::string& body) {
    std::size_t end = buf.find("\r\n\r\n");
    if (end == std::string::npos) return 0;
    std::string lower = buf.substr(0, end);
    if (lower.size() < 12 || lower.rfind("HTTP/1.", 0) != 0) {
      status = 0;
      close_after = true;
      return buf.size();
    }
    status = std::atoi(lower.c_str() + 9);
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    close_after = lower.find("\r\nconnection: close") != std::string::npos;
    std::size_t pos = end + 4;
    if (auto p = lower.find("\r\ncontent-length:"); p != std::string::npos) {
      std::size_t len = std::strtoull(lower.c_str() + p + 17, nullptr, 10);
      if (buf.size() < pos + len) return 0;
      body = buf.substr(pos, len);
      return pos + len;
    }
    if (lower.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
      for (;;) {
        std::size_t le = buf.find("\r\n", pos);
        if (le == std::string::npos) return 0;
        std::size_t len = std::strtoull(buf.c_str() + pos, nullptr, 16);
        if (buf.size() < le + 2 + len + 2) return 0;
        body += buf.substr(le + 2, len);
        pos = le + 2 + len + 2;
        if (len == 0) return pos;
      }
    }
    // No length: only 1xx/204/304 are complete here; anything else is
    // treated as complete and the connection dropped.
    if (status != 204 && status != 304 && status / 100 != 1) close_after = true;
    return pos;
  }

  const Options& o_;
  PublishResult& pr_;
  std::string ticker_;
  std::deque<Api> conns_;  // deque: stable addresses
  std::vector<int> pending_;
  std::int64_t start_ = 0, interval_ = 0;
};

// ------------------------------------------------------------------ perf -----

pid_t start_perf(const Options& o) {
  if (o.perf_out.empty() || o.pid <= 0) return -1;
  pid_t p = fork();
  if (p == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    std::string pid = std::to_string(o.pid);
    execlp("perf", "perf", "record", "-g", "-q", "-p", pid.c_str(), "-o", o.perf_out.c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  sleep_ms(500);  // let perf attach
  return p;
}

void stop_perf(pid_t p) {
  if (p <= 0) return;
  kill(p, SIGINT);
  int st;
  waitpid(p, &st, 0);
}

// ---------------------------------------------------------------- report ----

double pct(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest rank.
  std::size_t rank = static_cast<std::size_t>(std::ceil(p / 100.0 * sorted.size()));
  if (rank == 0) rank = 1;
  return static_cast<double>(sorted[std::min(rank, sorted.size()) - 1]);
}

std::string fmt(double v, int prec = 3) {
  if (!std::isfinite(v)) return "null";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Options o = parse_options(argc, argv);

  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < static_cast<rlim_t>(o.subscribers) + 64) {
    std::fprintf(stderr,
                 "live_load: open files limit %llu is too low for %d subscribers (ulimit -n)\n",
                 static_cast<unsigned long long>(rl.rlim_cur), o.subscribers);
    return 1;
  }

  Shared sh;
  sh.opt = &o;
  sh.server.sin_family = AF_INET;
  sh.server.sin_port = htons(static_cast<std::uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &sh.server.sin_addr) != 1)
    usage("--host must be an IPv4 address");
  for (int i = 0; i < o.sources; ++i) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = 0;
    a.sin_addr.s_addr = htonl((127u << 24) | static_cast<std::uint32_t>(i + 2));
    sh.sources.push_back(a);
  }

  auto log = [&](const char* fmtstr, auto... args) {
    std::fprintf(stderr, "live_load: ");
    std::fprintf(stderr, fmtstr, args...);
    std::fprintf(stderr, "\n");
  };

  // Memory of the fresh server, before any subscriber.
  long rss_before = read_rss_kib(o.pid);

  int T = std::min(o.threads, std::max(1, o.subscribers));
  std::vector<Counters> ctrs(static_cast<std::size_t>(T));
  std::vector<std::unique_ptr<Worker>> workers;
  int first = 0;
  for (int i = 0; i < T; ++i) {
    int count = o.subscribers / T + (i < o.subscribers % T ? 1 : 0);
    workers.push_back(
        std::make_unique<Worker>(sh, ctrs[static_cast<std::size_t>(i)], i, count, first));
    first += count;
  }
  auto sum = [&](auto member) {
    std::int64_t s = 0;
    for (auto& c : ctrs) s += (c.*member).load(std::memory_order_relaxed);
    return s;
  };

  std::int64_t t_start = now_ns();
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });

  // Phase 1: every subscriber subscribed (or given up).
  std::int64_t deadline = t_start + std::int64_t(o.connect_timeout_ms) * 1'000'000;
  while (sum(&Counters::subscribed) + sum(&Counters::failed) < o.subscribers && now_ns() < deadline)
    sleep_ms(10);
  std::int64_t subscribed = sum(&Counters::subscribed);
  std::int64_t t_connected = now_ns();
  double connect_s = (t_connected - t_start) / 1e9;
  log("%lld/%d subscribed in %.2f s (%lld gave up)", static_cast<long long>(subscribed),
      o.subscribers, connect_s, static_cast<long long>(sum(&Counters::failed)));

  // Phase 2: idle (no frame for idle_ms), then memory.
  std::int64_t idle_deadline = now_ns() + std::int64_t(o.idle_max_ms) * 1'000'000;
  std::int64_t idle_start = now_ns();
  for (;;) {
    std::int64_t last = 0;
    for (auto& c : ctrs) last = std::max(last, c.last_frame_ns.load());
    std::int64_t now = now_ns();
    if (now - std::max(last, idle_start) >= std::int64_t(o.idle_ms) * 1'000'000) break;
    if (now > idle_deadline) {
      log("server never went idle within %d ms", o.idle_max_ms);
      break;
    }
    sleep_ms(20);
  }
  long rss_idle = read_rss_kib(o.pid);
  double idle_s = (now_ns() - t_connected) / 1e9;

  // Phase 3: publish at the rate, CPU sampled around it.
  PublishResult pr;
  Publisher pub(o, pr);
  pid_t perf = start_perf(o);
  CpuSample cpu0 = read_cpu(o.pid);
  CoreSample core0 = read_core(o.server_cpu);
  rusage self0{};
  getrusage(RUSAGE_SELF, &self0);
  std::int64_t pub_start = now_ns();
  std::int64_t interval = static_cast<std::int64_t>(1e9 / o.rate);
  pub.set_schedule(pub_start, interval);
  for (int i = 0; i < o.entries; ++i) {
    std::int64_t due = pub_start + interval * i;
    pub.pump(due);
    if (now_ns() < due) sleep_until_ns(due);
    pub.post(i);
  }
  pub.pump(now_ns() + std::int64_t(o.drain_ms) * 1'000'000);
  std::int64_t pub_end = now_ns();
  // Wait for the deliveries: all of them, or drain_ms after the last POST,
  // or 3 s without progress once the last POST was answered.
  std::int64_t expect_now = subscribed * pr.ok;
  std::int64_t drain_deadline = pub_end + std::int64_t(o.drain_ms) * 1'000'000;
  std::int64_t last_progress = now_ns(), last_count = -1;
  while (now_ns() < drain_deadline) {
    std::int64_t d = sum(&Counters::delivered);
    if (d >= expect_now) break;
    if (d != last_count) {
      last_count = d;
      last_progress = now_ns();
    } else if (now_ns() - last_progress > 3'000'000'000LL) {
      break;
    }
    sleep_ms(2);
  }
  std::int64_t t_done = now_ns();
  CpuSample cpu1 = read_cpu(o.pid);
  CoreSample core1 = read_core(o.server_cpu);
  rusage self1{};
  getrusage(RUSAGE_SELF, &self1);
  stop_perf(perf);
  long rss_end = read_rss_kib(o.pid);

  sh.stop.store(true);
  for (auto& t : threads) t.join();

  // Merge.
  ThreadResult all;
  std::vector<std::uint32_t> per_conn;
  for (auto& w : workers) {
    auto& r = w->result();
    all.latencies_ns.insert(all.latencies_ns.end(), r.latencies_ns.begin(), r.latencies_ns.end());
    all.delivered += r.delivered;
    all.duplicates += r.duplicates;
    all.out_of_order += r.out_of_order;
    all.foreign += r.foreign;
    all.presence += r.presence;
    all.resync += r.resync;
    all.errors += r.errors;
    all.pings += r.pings;
    all.closed_by_server += r.closed_by_server;
    all.eof += r.eof;
    all.connect_errors += r.connect_errors;
    all.handshake_errors += r.handshake_errors;
    all.retries += r.retries;
    for (auto& [k, v] : r.close_reasons) all.close_reasons[k] += v;
    for (auto& [k, v] : r.error_samples) all.error_samples[k] += v;
    per_conn.insert(per_conn.end(), r.per_conn_events.begin(), r.per_conn_events.end());
  }
  for (auto& w : workers) w->close_all();

  std::sort(all.latencies_ns.begin(), all.latencies_ns.end());
  std::int64_t expected = static_cast<std::int64_t>(o.subscribers) * o.entries;
  std::int64_t lost = expected - all.delivered;
  std::int64_t complete = 0, missing_some = 0;
  for (auto n : per_conn) (n >= static_cast<std::uint32_t>(pr.ok) ? complete : missing_some)++;
  std::vector<std::int64_t> posts = pr.post_ns;
  std::sort(posts.begin(), posts.end());
  long clk = sysconf(_SC_CLK_TCK);
  double cpu_us = (cpu0.ok && cpu1.ok) ? (cpu1.ticks - cpu0.ticks) * 1e6 / clk : NAN;
  double cpu_per_delivery = all.delivered > 0 ? cpu_us / all.delivered : NAN;
  double mem_per_sub = (rss_before >= 0 && rss_idle >= 0 && subscribed > 0)
                           ? (rss_idle - rss_before) * 1024.0 / subscribed
                           : NAN;
  double mean = 0;
  for (auto v : all.latencies_ns) mean += v;
  if (!all.latencies_ns.empty()) mean /= all.latencies_ns.size();
  double pub_s = (pub_end - pub_start) / 1e9;
  double achieved_rate = pr.sent > 1 && pr.last_ns > pr.first_ns
                             ? (pr.sent - 1) / ((pr.last_ns - pr.first_ns) / 1e9)
                             : NAN;

  auto ms = [](double ns) { return ns / 1e6; };
  std::string j = "{";
  auto kv = [&](const std::string& k, const std::string& v) {
    if (j.size() > 1) j += ",";
    j += "\"" + k + "\":" + v;
  };
  kv("label", "\"" + json_escape(o.label) + "\"");
  kv("subscribers", std::to_string(o.subscribers));
  kv("subscribed", std::to_string(subscribed));
  kv("gave_up", std::to_string(sum(&Counters::failed)));
  kv("topic", "\"" + json_escape(o.topic) + "\"");
  kv("entries", std::to_string(o.entries));
  kv("rate", fmt(o.rate, 3));
  kv("sources", std::to_string(o.sources));
  kv("threads", std::to_string(T));
  kv("published", std::to_string(pr.ok));
  kv("publish_failed", std::to_string(pr.failed));
  kv("publish_connections", std::to_string(pub.connections_used()));
  kv("publish_seconds", fmt(pub_s, 3));
  kv("publish_rate_achieved", fmt(achieved_rate, 3));
  kv("publish_behind_max_ms", fmt(ms(pr.behind_max_ns), 3));
  kv("post_ms", "{\"p50\":" + fmt(ms(pct(posts, 50))) + ",\"p99\":" + fmt(ms(pct(posts, 99))) +
                    ",\"max\":" + fmt(posts.empty() ? 0 : ms(posts.back())) + "}");
  kv("expected", std::to_string(expected));
  kv("delivered", std::to_string(all.delivered));
  kv("lost", std::to_string(lost));
  kv("subscribers_complete", std::to_string(complete));
  kv("subscribers_missing", std::to_string(missing_some + (o.subscribers - subscribed)));
  kv("duplicates", std::to_string(all.duplicates));
  kv("seq_gaps", std::to_string(all.out_of_order));
  kv("foreign_events", std::to_string(all.foreign));
  kv("latency_ms", "{\"p50\":" + fmt(ms(pct(all.latencies_ns, 50))) +
                       ",\"p99\":" + fmt(ms(pct(all.latencies_ns, 99))) + ",\"max\":" +
                       fmt(all.latencies_ns.empty() ? 0 : ms(all.latencies_ns.back())) +
                       ",\"mean\":" + fmt(ms(mean)) + "}");
  kv("server_cpu_us", fmt(cpu_us, 0));
  kv("cpu_us_per_delivery", fmt(cpu_per_delivery, 4));
  kv("clk_tck", std::to_string(clk));
  auto tv_us = [](const timeval& tv) { return tv.tv_sec * 1e6 + tv.tv_usec; };
  double self_us =
      tv_us(self1.ru_utime) + tv_us(self1.ru_stime) - tv_us(self0.ru_utime) - tv_us(self0.ru_stime);
  kv("loadgen_cpu_us", fmt(self_us, 0));
  kv("measure_seconds", fmt((t_done - pub_start) / 1e9, 3));
  // How busy the server's core was while measuring, and how much of that
  // was not the server (other processes: a noisy machine).
  if (core0.ok && core1.ok && core1.total > core0.total) {
    double total = static_cast<double>(core1.total - core0.total);
    double busy = 100.0 * (core1.busy - core0.busy) / total;
    double server = cpu0.ok && cpu1.ok ? 100.0 * (cpu1.ticks - cpu0.ticks) / total : NAN;
    kv("server_core_busy_pct", fmt(busy, 1));
    kv("server_core_server_pct", fmt(server, 1));
    kv("server_core_other_pct", fmt(busy - server, 1));
  }
  kv("rss_fresh_kib", std::to_string(rss_before));
  kv("rss_idle_kib", std::to_string(rss_idle));
  kv("rss_end_kib", std::to_string(rss_end));
  kv("mem_per_idle_subscriber_bytes", fmt(mem_per_sub, 1));
  kv("connect_seconds", fmt(connect_s, 3));
  kv("idle_wait_seconds", fmt(idle_s, 3));
  kv("drain_seconds", fmt((t_done - pub_end) / 1e9, 3));
  kv("presence_messages", std::to_string(all.presence));
  kv("resync_messages", std::to_string(all.resync));
  kv("error_messages", std::to_string(all.errors));
  kv("pings_answered", std::to_string(all.pings));
  kv("closed_by_server", std::to_string(all.closed_by_server));
  kv("connections_ended", std::to_string(all.eof));
  kv("connect_errors", std::to_string(all.connect_errors));
  kv("handshake_errors", std::to_string(all.handshake_errors));
  kv("retries", std::to_string(all.retries));
  auto map_json = [](const auto& m) {
    std::string s = "{";
    for (auto& [k, v] : m) {
      if (s.size() > 1) s += ",";
      s += "\"" + json_escape(k) + "\":" + std::to_string(v);
    }
    return s + "}";
  };
  kv("close_reasons", map_json(all.close_reasons));
  kv("errors", map_json(all.error_samples));
  kv("publish_errors", map_json(pr.failures));
  j += "}";

  if (o.json) {
    std::printf("%s\n", j.c_str());
  } else {
    std::printf("subscribers   %lld/%d subscribed in %.2f s (gave up: %lld, retries: %lld)\n",
                static_cast<long long>(subscribed), o.subscribers, connect_s,
                static_cast<long long>(sum(&Counters::failed)),
                static_cast<long long>(all.retries));
    std::printf("published     %d/%d entries in %.2f s (%.2f/s), POST p50 %.2f ms p99 %.2f ms\n",
                pr.ok, o.entries, pub_s, achieved_rate, ms(pct(posts, 50)), ms(pct(posts, 99)));
    std::printf("delivered     %lld of %lld, lost %lld, duplicates %lld, seq gaps %lld\n",
                static_cast<long long>(all.delivered), static_cast<long long>(expected),
                static_cast<long long>(lost), static_cast<long long>(all.duplicates),
                static_cast<long long>(all.out_of_order));
    std::printf("latency       p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
                ms(pct(all.latencies_ns, 50)), ms(pct(all.latencies_ns, 99)),
                all.latencies_ns.empty() ? 0.0 : ms(all.latencies_ns.back()));
    std::printf("server cpu    %.0f us, %.3f us per delivery\n", cpu_us, cpu_per_delivery);
    std::printf("server memory fresh %ld KiB, idle %ld KiB: %.0f bytes per idle subscriber\n",
                rss_before, rss_idle, mem_per_sub);
    std::printf("closed        by server %lld, ended %lld\n",
                static_cast<long long>(all.closed_by_server), static_cast<long long>(all.eof));
    if (!all.close_reasons.empty() || !all.error_samples.empty() || !pr.failures.empty())
      std::printf("details       %s\n", j.c_str());
  }
  return 0;
}
