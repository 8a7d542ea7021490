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
#include <thread>

#include "hub_client.hpp"
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
// NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): ASan defines it
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace depesche;
using hub_test::Client;
using hub_test::handshake;
using hub_test::MemoryLog;
using live::Hub;
using live::HubOptions;

namespace {

net::Request without(std::string name) {
  net::Request req = handshake();
  std::erase_if(req.headers, [&](const auto& h) { return h.first == name; });
  return req;
}

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

TEST_F(HubTest, CatchUpDeliversWhatTheBusNeverBrought) {
  Client c(*hub);
  subscribe(c, "ticker:de");
  commit("ticker:de", 1);
  // Committed while the bus was disconnected: no message will ever come.
  log.add("ticker:de", 2);
  log.add("ticker:de", 3);
  hub->catch_up();
  EXPECT_EQ(c.event_seqs(3), (std::vector<std::uint64_t>{1, 2, 3}));
  commit("ticker:de", 4);
  EXPECT_EQ(c.event_seqs(1), (std::vector<std::uint64_t>{4}));
  EXPECT_EQ(hub->stats().gaps_filled, 2u);
  EXPECT_EQ(hub->stats().resyncs, 0u);
}

TEST_F(HubTest, CatchUpWithNothingMissedChangesNothing) {
  Client c(*hub);
  subscribe(c, "ticker:de");
  commit("ticker:de", 1);
  hub->catch_up();
  hub->catch_up();
  commit("ticker:de", 2);
  EXPECT_EQ(c.event_seqs(2), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(hub->stats().gaps_filled, 0u);
  EXPECT_EQ(hub->stats().duplicates, 0u);
}

TEST_F(HubTest, CatchUpPastWhatTheLogStillHoldsIsAResync) {
  Client c(*hub);
  subscribe(c, "ticker:de");
  commit("ticker:de", 1);
  log.add("ticker:de", 2);
  log.add("ticker:de", 3);
  log.drop("ticker:de", 2);  // pruned before anyone noticed it was missing
  hub->catch_up();
  EXPECT_EQ(c.event_seqs(1), (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(c.event_seqs(1), (std::vector<std::uint64_t>{0})) << "a resync, not a silent skip";
  commit("ticker:de", 4);
  EXPECT_EQ(c.event_seqs(1), (std::vector<std::uint64_t>{4}));
  EXPECT_EQ(hub->stats().resyncs, 1u);
}

TEST_F(HubTest, CatchUpLeavesTopicsNobodyFollowsAlone) {
  Client c(*hub);
  subscribe(c, "ticker:de");
  c.send({{"type", "unsubscribe"}, {"topic", "ticker:de"}});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (hub->stats().topics != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  ASSERT_EQ(hub->stats().topics, 0);
  log.add("ticker:de", 1);
  hub->catch_up();  // nothing followed: nothing to read
  EXPECT_EQ(hub->stats().topics, 0);
  EXPECT_EQ(hub->stats().gaps_filled, 0u);
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
