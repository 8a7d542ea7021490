// The hub: the handshake check (method, headers, key, version, Origin),
// and over real sockets (socketpair) with an in-memory event log: gaps in
// the bus stream filled from the log, repeats dropped, resumes replayed
// from the log, epochs, memory that follows the live topics, and the
// inbound path with identities. Fanout and resume end to end against the
// real server are in tests/integration/test_live.py.
#include "live/hub.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "net/blocking_pool.hpp"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEPESCHE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define DEPESCHE_ASAN 1
#endif
#ifdef DEPESCHE_ASAN
// ASan's own count of live heap bytes (its header is not always installed).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace depesche;
using live::Hub;
using live::HubOptions;

namespace {

net::Request handshake(std::vector<std::pair<std::string, std::string>> extra = {}) {
  net::Request req;
  req.method = net::Method::get;
  req.target = req.path = "/live";
  req.headers = {{"host", "news.example.org"},
                 {"upgrade", "websocket"},
                 {"connection", "Upgrade"},
                 {"sec-websocket-version", "13"},
                 {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="}};
  // Later values replace earlier ones of the same name.
  for (auto& [name, value] : extra) {
    bool replaced = false;
    for (auto& h : req.headers)
      if (h.first == name) {
        h.second = value;
        replaced = true;
      }
    if (!replaced) req.headers.emplace_back(name, value);
  }
  return req;
}

net::Request without(std::string name) {
  net::Request req = handshake();
  std::erase_if(req.headers, [&](const auto& h) { return h.first == name; });
  return req;
}

// The event log as the hub sees it, in memory: what a test appends.
class MemoryLog final : public live::EventSource {
 public:
  std::uint64_t epoch = 77;
  std::size_t largest_read = 0;  // the most events asked for in one after()
  void add(const std::string& topic, std::uint64_t seq) {
    std::lock_guard lock(mutex_);
    events_[topic].push_back(event(topic, seq));
  }
  /// Makes room for a topic's events now, so that adding them later
  /// allocates nothing (short names and payloads fit in the strings).
  void reserve(const std::string& topic) {
    std::lock_guard lock(mutex_);
    events_[topic].reserve(2);
  }
  /// The log lost (pruned) this event.
  void drop(const std::string& topic, std::uint64_t seq) {
    std::lock_guard lock(mutex_);
    std::erase_if(events_[topic], [&](const bus::Event& e) { return e.seq == seq; });
  }
  static bus::Event event(const std::string& topic, std::uint64_t seq) {
    return bus::Event{topic, "ticker.entry", R"({"n":)" + std::to_string(seq) + "}", seq};
  }
  Result<live::TopicStart> head(std::string_view topic) override {
    std::lock_guard lock(mutex_);
    auto& v = events_[std::string(topic)];
    return live::TopicStart{v.empty() ? 0 : v.back().seq, epoch};
  }
  Result<std::vector<bus::Event>> after(std::string_view topic, std::uint64_t seq,
                                        std::size_t limit) override {
    std::lock_guard lock(mutex_);
    largest_read = std::max(largest_read, limit);
    std::vector<bus::Event> out;
    for (const auto& e : events_[std::string(topic)])
      if (e.seq > seq && out.size() < limit) out.push_back(e);
    return out;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<bus::Event>> events_;
};

class HubHandshakeTest : public ::testing::Test {
 protected:
  MemoryLog log;
  net::BlockingPool pool{1};
  Hub hub{HubOptions{}, log, [this](std::function<void()> f) { pool.post(std::move(f)); }};

  int status_of(const net::Request& req) {
    auto r = hub.check_handshake(req);
    return r ? r->status : 101;
  }
};

TEST_F(HubHandshakeTest, AcceptsAWellFormedHandshake) {
  EXPECT_EQ(status_of(handshake()), 101);
  EXPECT_EQ(status_of(handshake({{"upgrade", "WebSocket"}})), 101);
  EXPECT_EQ(status_of(handshake({{"connection", "keep-alive, Upgrade"}})), 101);
  EXPECT_EQ(status_of(handshake({{"connection", "upgrade ,keep-alive"}})), 101);
}

TEST_F(HubHandshakeTest, RefusesOtherMethods) {
  auto req = handshake();
  req.method = net::Method::post;
  EXPECT_EQ(status_of(req), 405);
}

TEST_F(HubHandshakeTest, AnswersPlainRequestsWithUpgradeRequired) {
  for (const auto& req :
       {without("upgrade"), without("connection"), handshake({{"upgrade", "h2c"}}),
        handshake({{"connection", "keep-alive"}}), handshake({{"connection", "upgrade-please"}})}) {
    auto r = hub.check_handshake(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 426);
    EXPECT_EQ(r->find_header("Upgrade"), "websocket");
  }
}

TEST_F(HubHandshakeTest, RequiresVersion13) {
  for (const auto& req :
       {without("sec-websocket-version"), handshake({{"sec-websocket-version", "8"}}),
        handshake({{"sec-websocket-version", "13, 8"}})}) {
    auto r = hub.check_handshake(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 426);
    EXPECT_EQ(r->find_header("Sec-WebSocket-Version"), "13");
  }
}

TEST_F(HubHandshakeTest, RequiresAWellFormedKey) {
  EXPECT_EQ(status_of(without("sec-websocket-key")), 400);
  EXPECT_EQ(status_of(handshake({{"sec-websocket-key", "short=="}})), 400);
  EXPECT_EQ(status_of(handshake({{"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ"}})), 400);
}

TEST_F(HubHandshakeTest, AcceptsThisSitesOriginAndScriptsWithoutOne) {
  EXPECT_EQ(status_of(handshake({{"origin", "https://news.example.org"}})), 101);
  EXPECT_EQ(status_of(handshake({{"origin", "http://news.example.org"}})), 101);
  EXPECT_EQ(status_of(handshake({{"origin", "HTTPS://News.Example.ORG"}})), 101);
  EXPECT_EQ(status_of(handshake({{"host", "127.0.0.1:8080"}, {"origin", "http://127.0.0.1:8080"}})),
            101);
  EXPECT_EQ(
      status_of(handshake({{"host", "News.Example.org"}, {"origin", "https://news.example.org"}})),
      101);
  EXPECT_EQ(status_of(without("origin")), 101);
}

TEST_F(HubHandshakeTest, RefusesOtherSitesOrigins) {
  for (const char* origin : {"https://evil.example", "https://news.example.org.evil.example",
                             "https://evil.example/news.example.org",
                             "http://news.example.org:8080", "null", "news.example.org"}) {
    SCOPED_TRACE(origin);
    auto r = hub.check_handshake(handshake({{"origin", origin}}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403);
  }
  // Without a Host header, only the public URL could match.
  EXPECT_EQ(status_of(handshake({{"host", ""}, {"origin", "https://news.example.org"}})), 403);
}

TEST_F(HubHandshakeTest, ThePublicUrlNamesAnotherAllowedOrigin) {
  // Behind a proxy the Host header is the backend's; the public URL is what browsers show.
  auto proxied = handshake({{"host", "127.0.0.1:8080"}, {"origin", "https://Depesche.example/"}});
  EXPECT_EQ(status_of(proxied), 403);
  hub.set_public_url("https://depesche.example/some/path");
  EXPECT_EQ(status_of(proxied), 101);
  EXPECT_EQ(status_of(handshake({{"host", "127.0.0.1:8080"}, {"origin", "https://evil.example"}})),
            403);
  EXPECT_EQ(
      status_of(handshake({{"host", "127.0.0.1:8080"}, {"origin", "http://depesche.example"}})),
      403)
      << "the scheme is part of the origin";
}

// --- seqs ------------------------------------------------------------------------

// A WebSocket client on the other end of a socketpair the hub adopted.
class Client {
 public:
  Client(Hub& hub, std::vector<std::pair<std::string, std::string>> headers = {}) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    fd_ = fds[0];
    hub.adopt(fds[1], handshake(std::move(headers)), "");
    auto head = read_until("\r\n\r\n");
    EXPECT_TRUE(head.starts_with("HTTP/1.1 101")) << head;
  }
  ~Client() { ::close(fd_); }

  void send(const nlohmann::json& message) {
    std::string payload = message.dump();
    std::string frame = "\x81";
    // Masked, with a zero key: the payload goes as it is.
    if (payload.size() < 126) {
      frame += static_cast<char>(0x80 | payload.size());
    } else {
      frame += static_cast<char>(0x80 | 126);
      frame += static_cast<char>(payload.size() >> 8);
      frame += static_cast<char>(payload.size() & 0xff);
    }
    frame += std::string(4, '\0') + payload;
    ASSERT_EQ(::write(fd_, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  }

  /// The next text message, or null after `timeout`.
  nlohmann::json next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (buf_.size() >= 2) {
        std::size_t len = static_cast<unsigned char>(buf_[1]) & 0x7f, at = 2;
        if (len == 126 && buf_.size() >= 4) {
          len = (static_cast<unsigned char>(buf_[2]) << 8) | static_cast<unsigned char>(buf_[3]);
          at = 4;
        } else if (len == 127 && buf_.size() >= 10) {
          len = 0;
          for (int i = 2; i < 10; ++i) len = (len << 8) | static_cast<unsigned char>(buf_[i]);
          at = 10;
        }
        if ((len < 126 || at > 2) && buf_.size() >= at + len) {
          int opcode = buf_[0] & 0x0f;
          std::string payload = buf_.substr(at, len);
          buf_.erase(0, at + len);
          if (opcode == 1) return nlohmann::json::parse(payload);
          if (opcode == 8)
            return nlohmann::json{
                {"type", "closed"},
                {"code", payload.size() < 2 ? 0
                                            : (static_cast<unsigned char>(payload[0]) << 8) |
                                                  static_cast<unsigned char>(payload[1])}};
          continue;  // pings
        }
      }
      if (!fill(deadline)) return nullptr;
    }
  }

  /// Messages until one of `type` arrives (that one last).
  std::vector<nlohmann::json> until(std::string_view type) {
    std::vector<nlohmann::json> out;
    for (;;) {
      auto m = next();
      if (m.is_null()) {
        ADD_FAILURE() << "no " << type << " message";
        return out;
      }
      out.push_back(m);
      if (m["type"] == type) return out;
    }
  }

  std::vector<std::uint64_t> event_seqs(std::size_t count) {
    std::vector<std::uint64_t> out;
    while (out.size() < count) {
      auto m = next();
      if (m.is_null()) break;
      if (m["type"] == "event") out.push_back(m["seq"]);
      if (m["type"] == "resync") out.push_back(0);  // 0 marks a resync in the sequence
    }
    return out;
  }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    ssize_t n = ::read(fd_, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  std::string read_until(std::string_view end) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (buf_.find(end) == std::string::npos)
      if (!fill(deadline)) return buf_;
    auto at = buf_.find(end) + end.size();
    std::string head = buf_.substr(0, at);
    buf_.erase(0, at);
    return head;
  }
  int fd_ = -1;
  std::string buf_;
};

class HubTest : public ::testing::Test {
 protected:
  MemoryLog log;
  net::BlockingPool pool{2};
  HubOptions opts = [] {
    HubOptions o;
    o.history = 4;
    return o;
  }();
  std::unique_ptr<Hub> hub;

  void SetUp() override { start(); }
  void TearDown() override {
    hub->stop();
    pool.stop();
  }
  void start() {
    hub = std::make_unique<Hub>(opts, log,
                                [this](std::function<void()> f) { pool.post(std::move(f)); });
    hub->add_policy("ticker:", [](std::string_view name, const live::Identity&) -> Result<void> {
      if (name == "de" || name == "en") return {};
      return fail(ErrorCode::not_found, "unknown topic");
    });
    hub->add_policy(
        "article:", [](std::string_view, const live::Identity&) -> Result<void> { return {}; });
    hub->start();
  }
  /// An event the store committed and the relay published.
  void commit(const std::string& topic, std::uint64_t seq) {
    log.add(topic, seq);
    hub->publish(MemoryLog::event(topic, seq));
  }
  nlohmann::json subscribe(Client& c, const std::string& topic, nlohmann::json extra = {}) {
    nlohmann::json m{{"type", "subscribe"}, {"topic", topic}};
    for (auto& [k, v] : extra.items()) m[k] = v;
    c.send(m);
    auto got = c.until("subscribed");
    return got.empty() ? nlohmann::json{} : got.back();
  }
};

TEST_F(HubTest, SubscribedCarriesTheLogsSeqAndEpoch) {
  log.add("ticker:de", 1);
  log.add("ticker:de", 2);
  Client c(*hub);
  auto s = subscribe(c, "ticker:de");
  EXPECT_EQ(s, (nlohmann::json{
                   {"type", "subscribed"}, {"topic", "ticker:de"}, {"seq", 2}, {"epoch", 77}}));
}

TEST_F(HubTest, AGapInTheBusStreamIsFilledFromTheLog) {
  Client c(*hub);
  subscribe(c, "ticker:de");
  commit("ticker:de", 1);
  log.add("ticker:de", 2);  // committed, but its bus message was lost
  log.add("ticker:de", 3);
  hub->publish(MemoryLog::event("ticker:de", 3));
  commit("ticker:de", 4);
  EXPECT_EQ(c.event_seqs(4), (std::vector<std::uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(hub->stats().gaps_filled, 1u);
  EXPECT_EQ(hub->stats().resyncs, 0u);
}

TEST_F(HubTest, AGapTheLogNoLongerHoldsIsAResyncNotASkip) {
  Client c(*hub);
  subscribe(c, "ticker:de");
  commit("ticker:de", 1);
  hub->publish(MemoryLog::event("ticker:de", 3));  // 2 is in neither bus nor log
  commit("ticker:de", 4);
  log.add("ticker:de", 3);
  EXPECT_EQ(c.event_seqs(4), (std::vector<std::uint64_t>{1, 0, 3, 4}));
  EXPECT_EQ(hub->stats().resyncs, 1u);
}

TEST_F(HubTest, RepeatsFromTheBusAreDropped) {
  Client c(*hub);
  subscribe(c, "ticker:de");
  commit("ticker:de", 1);
  hub->publish(MemoryLog::event("ticker:de", 1));  // a relay's repeat after a restart
  commit("ticker:de", 2);
  EXPECT_EQ(c.event_seqs(2), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(hub->stats().duplicates, 1u);
}

TEST_F(HubTest, AResumeOlderThanMemoryIsReplayedFromTheLog) {
  Client watcher(*hub);
  subscribe(watcher, "ticker:de");  // keeps the topic live, memory holds the last 4
  for (std::uint64_t s = 1; s <= 10; ++s) commit("ticker:de", s);
  EXPECT_EQ(watcher.event_seqs(10).size(), 10u);
  Client late(*hub);
  auto s = subscribe(late, "ticker:de", {{"since", 2}, {"epoch", 77}});
  EXPECT_EQ(s["seq"], 10);
  commit("ticker:de", 11);
  std::vector<std::uint64_t> expected{3, 4, 5, 6, 7, 8, 9, 10, 11};
  EXPECT_EQ(late.event_seqs(9), expected) << "in order, once, no resync";
}

TEST_F(HubTest, AResumeAcrossARestartIsReplayedFromTheLog) {
  for (std::uint64_t s = 1; s <= 5; ++s) log.add("ticker:de", s);
  // A new hub (a restarted server) knows nothing in memory.
  hub->stop();
  start();
  Client c(*hub);
  auto s = subscribe(c, "ticker:de", {{"since", 3}, {"epoch", 77}});
  EXPECT_EQ(s["seq"], 5);
  EXPECT_EQ(c.event_seqs(2), (std::vector<std::uint64_t>{4, 5}));
}

TEST_F(HubTest, AReplayFromTheLogStopsAtTheQueueLimitAndTheReaderResumes) {
  // Frames read from the log are one reader's own: no more of them than its
  // queue may hold, read a batch at a time, then 1013 and a resume.
  hub->stop();
  opts.max_queue_bytes = 4096;
  start();
  for (std::uint64_t s = 1; s <= 2000; ++s) log.add("ticker:de", s);
  Client c(*hub);
  EXPECT_EQ(subscribe(c, "ticker:de", {{"since", 0}, {"epoch", 77}})["seq"], 2000);
  std::vector<std::uint64_t> seqs;
  std::size_t bytes = 0;
  nlohmann::json m;
  while (!(m = c.next()).is_null() && m["type"] == "event") {
    seqs.push_back(m["seq"]);
    bytes += m.dump().size();
  }
  EXPECT_EQ(m, (nlohmann::json{{"type", "closed"}, {"code", 1013}}));
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.front(), 1u);
  EXPECT_EQ(seqs.back(), seqs.size()) << "consecutive from 1";
  EXPECT_LT(bytes, 4096u + 200) << "at most one frame past the queue limit";
  EXPECT_LE(log.largest_read, 64u);
  EXPECT_EQ(hub->stats().slow_closes, 1u);
  // Resuming from the last one it got goes on from there.
  Client again(*hub);
  subscribe(again, "ticker:de", {{"since", seqs.back()}, {"epoch", 77}});
  EXPECT_EQ(again.event_seqs(1), std::vector<std::uint64_t>{seqs.back() + 1});
}

TEST_F(HubTest, ResumesFromTheLogShareAByteBudgetAndPastItAreToldToResync) {
  hub->stop();
  opts.log_replay_bytes_per_second = 1000;  // less than one replay below
  start();
  for (std::uint64_t s = 1; s <= 100; ++s) log.add("ticker:de", s);
  Client first(*hub);
  subscribe(first, "ticker:de", {{"since", 0}, {"epoch", 77}});
  EXPECT_EQ(first.event_seqs(100).size(), 100u) << "the budget was there: replayed";
  EXPECT_GT(hub->stats().log_replay_bytes, 1000u);
  // The bucket is in debt now: the next resume refetches over HTTP.
  Client second(*hub);
  subscribe(second, "ticker:de", {{"since", 0}, {"epoch", 77}});
  EXPECT_EQ(second.next(), (nlohmann::json{{"type", "resync"}, {"topic", "ticker:de"}}));
  EXPECT_EQ(hub->stats().resyncs, 1u);
}

TEST_F(HubTest, ASeqOfAnotherHistoryIsAResync) {
  for (std::uint64_t s = 1; s <= 5; ++s) log.add("ticker:de", s);
  Client c(*hub);
  subscribe(c, "ticker:de", {{"since", 3}, {"epoch", 12345}});
  auto m = c.next();
  EXPECT_EQ(m, (nlohmann::json{{"type", "resync"}, {"topic", "ticker:de"}}));
}

TEST_F(HubTest, UnknownTopicsAreAnErrorAndChangeNothing) {
  Client c(*hub);
  for (std::string topic : {"ticker:xx", "chat:de", "", "ticker:"}) {
    c.send({{"type", "subscribe"}, {"topic", topic}});
    auto m = c.next();
    EXPECT_EQ(m["type"], "error") << topic;
    EXPECT_EQ(m["code"], "not_found") << topic;
  }
  EXPECT_EQ(hub->stats().topics, 0);
  EXPECT_EQ(hub->stats().subscriptions, 0);
}

std::size_t heap_in_use() {
#ifdef DEPESCHE_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  return mallinfo2().uordblks;
#endif
}

TEST_F(HubTest, MemoryFollowsTheLiveTopicsNotEveryTopicEverSeen) {
  hub->stop();
  opts.max_messages_per_second = 1'000'000;  // this client is fast on purpose
  start();
  Client c(*hub);
  auto round = [&](int first, int count) {
    // 16 at a time: a connection may hold 32 subscriptions.
    for (int i = first; i < first + count; i += 16) {
      for (int k = i; k < i + 16; ++k)
        c.send({{"type", "subscribe"}, {"topic", "article:" + std::to_string(k)}});
      for (int k = i; k < i + 16; ++k) c.until("subscribed");
      for (int k = i; k < i + 16; ++k) commit("article:" + std::to_string(k), 1);
      EXPECT_EQ(c.event_seqs(16).size(), 16u);
      for (int k = i; k < i + 16; ++k)
        c.send({{"type", "unsubscribe"}, {"topic", "article:" + std::to_string(k)}});
    }
  };
  // The log (the test's stand-in for the store) holds every topic's event
  // from the start, so only the hub's memory is measured.
  for (int k = 0; k < 11'000; ++k) log.reserve("article:" + std::to_string(k));
  round(0, 160);  // warm up: the hub's tables, the pool, the client
  c.send({{"type", "subscribe"}, {"topic", "ticker:de"}});
  c.until("subscribed");  // every unsubscribe before it is done
  c.send({{"type", "unsubscribe"}, {"topic", "ticker:de"}});
  c.send({{"type", "subscribe"}, {"topic", "ticker:en"}});
  c.until("presence");
  c.send({{"type", "unsubscribe"}, {"topic", "ticker:en"}});
  c.send({{"type", "subscribe"}, {"topic", "ticker:de"}});
  c.until("subscribed");
  c.send({{"type", "unsubscribe"}, {"topic", "ticker:de"}});
  std::size_t before = heap_in_use();
  round(1000, 10'000);
  c.send({{"type", "subscribe"}, {"topic", "ticker:de"}});
  c.until("subscribed");
  c.send({{"type", "unsubscribe"}, {"topic", "ticker:de"}});
  c.send({{"type", "subscribe"}, {"topic", "ticker:en"}});
  c.until("subscribed");
  c.until("presence");  // the hub's presence round has passed: its lists are done
  std::size_t after = heap_in_use();
  EXPECT_EQ(hub->stats().topics, 1) << "only ticker:en is followed";
  EXPECT_LE(after, before + before / 10) << "before " << before << " after " << after;
  std::printf("[ hub memory ] before %zu bytes, after 10,000 topics %zu bytes\n", before, after);
}

TEST_F(HubTest, ClientMessagesGoToTheirHandlerAndAreAnsweredByIdOnly) {
  hub->stop();
  hub = std::make_unique<Hub>(opts, log,
                              [this](std::function<void()> f) { pool.post(std::move(f)); });
  hub->set_identify([](const live::UpgradeInfo& info) {
    live::Identity who;
    if (info.cookie == "s=alice") {
      who.account_id = 7;
      who.display_name = "Alice";
      who.can_write = true;
    }
    return who;
  });
  std::mutex seen_mutex;
  std::vector<std::int64_t> seen;
  hub->on_message("publish", [&](const live::Inbound& m) -> Result<std::string> {
    std::lock_guard lock(seen_mutex);
    seen.push_back(m.who.account_id);
    if (m.topic == "chat:closed") return fail(ErrorCode::forbidden, "the room is closed");
    return std::string(R"({"echo":)") + nlohmann::json(std::string(m.id)).dump() + "}";
  });
  hub->start();
  Client alice(*hub, {{"cookie", "s=alice"}, {"origin", "http://news.example.org"}});
  alice.send({{"type", "publish"}, {"id", "c1"}, {"topic", "chat:x"}, {"body", "hi"}});
  EXPECT_EQ(alice.next(),
            (nlohmann::json{
                {"type", "ack"}, {"id", "c1"}, {"topic", "chat:x"}, {"data", {{"echo", "c1"}}}}));
  alice.send({{"type", "publish"}, {"id", "c2"}, {"topic", "chat:closed"}});
  auto refused = alice.next();
  EXPECT_EQ(refused["type"], "error");
  EXPECT_EQ(refused["id"], "c2");
  EXPECT_EQ(refused["code"], "forbidden");
  alice.send({{"type", "shout"}, {"id", "c3"}});
  EXPECT_EQ(alice.next()["message"], "unknown message type");
  alice.send({{"type", "publish"}, {"id", 5}});
  EXPECT_EQ(alice.next()["code"], "invalid") << "an id must be a string";
  // The same session without this site's Origin (a script): read-only.
  Client script(*hub, {{"cookie", "s=alice"}});
  script.send({{"type", "publish"}, {"id", "c1"}, {"topic", "chat:x"}});
  auto ro = script.next();
  EXPECT_EQ(ro["type"], "error");
  EXPECT_EQ(ro["code"], "unauthorized");
  Client anonymous(*hub, {{"origin", "http://news.example.org"}});
  anonymous.send({{"type", "publish"}, {"id", "c1"}, {"topic", "chat:x"}});
  EXPECT_EQ(anonymous.next()["message"], "log in to take part");
  std::lock_guard lock(seen_mutex);
  EXPECT_EQ(seen, (std::vector<std::int64_t>{7, 7})) << "only Alice's site connection got through";
}

}  // namespace
