// The hub's pieces that need no connection: the handshake check (method,
// headers, key, version, Origin) and the per-topic seq it reports to pages.
// Connections, fanout and resume are covered end to end by
// tests/integration/test_live.py.
#include "live/hub.hpp"

#include <gtest/gtest.h>

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

class HubHandshakeTest : public ::testing::Test {
 protected:
  Hub hub{HubOptions{}, [](std::string_view) { return true; }};

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

bus::Event event(std::string topic, std::uint64_t seq) {
  return bus::Event{std::move(topic), "ticker.entry", R"({"id":1})", seq};
}

TEST(HubSeq, ATopicWithoutEventsIsAtTheBase) {
  Hub plain{HubOptions{}, [](std::string_view) { return true; }};
  EXPECT_EQ(plain.current_seq("ticker:de"), 0u);
  HubOptions opts;
  opts.seq_base = 1'800'000'000'000'000;
  Hub based{opts, [](std::string_view) { return true; }};
  EXPECT_EQ(based.current_seq("ticker:de"), 1'800'000'000'000'000u);
}

TEST(HubSeq, FollowsTheLatestPublishedSeqPerTopic) {
  HubOptions opts;
  opts.seq_base = 1000;
  Hub hub{opts, [](std::string_view) { return true; }};
  hub.publish(event("ticker:de", 1001));
  hub.publish(event("ticker:de", 1002));
  hub.publish(event("ticker:en", 1001));
  EXPECT_EQ(hub.current_seq("ticker:de"), 1002u);
  EXPECT_EQ(hub.current_seq("ticker:en"), 1001u);
  EXPECT_EQ(hub.current_seq("ticker:ru"), 1000u);
  EXPECT_EQ(hub.stats().events, 3u);
  EXPECT_EQ(hub.stats().connections, 0);
}

}  // namespace
