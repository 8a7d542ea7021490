// Who the client is behind a reverse proxy: only listed proxies are believed.

#include "net/trusted_proxies.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using depesche::net::TrustedProxies;

namespace {

TrustedProxies proxies(std::vector<std::string> entries) {
  auto t = TrustedProxies::parse(entries);
  EXPECT_TRUE(t) << (t ? "" : t.error().message);
  return t.value_or(TrustedProxies{});
}

}  // namespace

TEST(TrustedProxies, NoneListedMeansThePeerIsTheClient) {
  TrustedProxies none = proxies({});
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.client_address("127.0.0.1", "203.0.113.9"), "127.0.0.1");
}

TEST(TrustedProxies, AStrangerCannotNameAnotherClient) {
  TrustedProxies t = proxies({"10.0.0.1"});
  EXPECT_EQ(t.client_address("198.51.100.7", "203.0.113.9"), "198.51.100.7");
}

TEST(TrustedProxies, ATrustedProxyNamesTheClient) {
  TrustedProxies t = proxies({"10.0.0.1"});
  EXPECT_EQ(t.client_address("10.0.0.1", "203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(t.client_address("10.0.0.1", " 203.0.113.9 "), "203.0.113.9");
  EXPECT_EQ(t.client_address("10.0.0.1", ""), "10.0.0.1") << "no header: the proxy itself";
}

TEST(TrustedProxies, TheLeftEndIsNotBelievedPastAStranger) {
  // The client wrote "1.1.1.1" itself; its proxy appended what it saw.
  TrustedProxies t = proxies({"10.0.0.0/8"});
  EXPECT_EQ(t.client_address("10.0.0.1", "1.1.1.1, 203.0.113.9"), "203.0.113.9");
  // Chained trusted proxies are skipped.
  EXPECT_EQ(t.client_address("10.0.0.1", "203.0.113.9, 10.1.2.3, 10.4.5.6"), "203.0.113.9");
  // Every hop trusted: the leftmost is the best there is.
  EXPECT_EQ(t.client_address("10.0.0.1", "10.9.9.9, 10.1.2.3"), "10.9.9.9");
}

TEST(TrustedProxies, AMalformedElementEndsTheWalk) {
  TrustedProxies t = proxies({"10.0.0.0/8"});
  EXPECT_EQ(t.client_address("10.0.0.1", "203.0.113.9, unknown"), "10.0.0.1");
  EXPECT_EQ(t.client_address("10.0.0.1", "203.0.113.9, garbage, 10.2.2.2"), "10.2.2.2");
  EXPECT_EQ(t.client_address("10.0.0.1", ",,,"), "10.0.0.1");
}

TEST(TrustedProxies, NetworksMatchByPrefix) {
  TrustedProxies t = proxies({"192.168.4.0/22", "fd00::/8", "::1"});
  EXPECT_TRUE(t.contains("192.168.4.1"));
  EXPECT_TRUE(t.contains("192.168.7.255"));
  EXPECT_FALSE(t.contains("192.168.8.0"));
  EXPECT_FALSE(t.contains("192.168.3.255"));
  EXPECT_TRUE(t.contains("fd12:3456::1"));
  EXPECT_FALSE(t.contains("fe80::1"));
  EXPECT_TRUE(t.contains("::1"));
  EXPECT_FALSE(t.contains("::2"));
  EXPECT_FALSE(t.contains("not an address"));
  EXPECT_TRUE(proxies({"0.0.0.0/0"}).contains("8.8.8.8"));
  EXPECT_FALSE(proxies({"0.0.0.0/0"}).contains("2001:db8::1")) << "families never mix";
}

TEST(TrustedProxies, IPv4MappedAddressesAreIPv4) {
  TrustedProxies t = proxies({"127.0.0.1"});
  EXPECT_TRUE(t.contains("::ffff:127.0.0.1"));
  EXPECT_EQ(t.client_address("::ffff:127.0.0.1", "::ffff:203.0.113.9"), "203.0.113.9");
}

TEST(TrustedProxies, BadEntriesAreRefusedWithTheirText) {
  for (std::string bad : {"localhost", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8x",
                          "10.0.0.0/-1", "300.1.1.1"}) {
    auto t = TrustedProxies::parse({bad});
    ASSERT_FALSE(t) << bad;
    EXPECT_NE(t.error().message.find(bad), std::string::npos) << t.error().message;
  }
  EXPECT_TRUE(TrustedProxies::parse({" 10.0.0.1 ", ""})) << "blanks around entries are fine";
}
