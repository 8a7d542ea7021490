#include "mail/address.hpp"

#include <gtest/gtest.h>

using namespace depesche::mail;

TEST(Address, AcceptsOrdinaryAddresses) {
  for (const char* good :
       {"a@b.co", "reader@example.com", "first.last+news@mail.example.org", "o'brien@example.ie",
        "x_y-z@sub.domain-name.example", "1@2.3", "user@xn--mller-kva.de"})
    EXPECT_TRUE(is_valid_address(good)) << good;
}

TEST(Address, RejectsWhatServersWouldRefuseOrMisread) {
  std::string local65(65, 'a');
  std::string long_domain = "a@" + std::string(250, 'b') + ".de";
  for (const std::string& bad : {std::string(""),
                                 std::string("plain"),
                                 std::string("@example.com"),
                                 std::string("a@"),
                                 std::string("a@b@example.com"),
                                 std::string("a@localhost"),
                                 std::string("a b@example.com"),
                                 std::string("a@exa mple.com"),
                                 std::string("<a@example.com>"),
                                 std::string("\"a\"@example.com"),
                                 std::string("a@example.com\r\nBcc: x@y.z"),
                                 std::string("a@example..com"),
                                 std::string("a@.example.com"),
                                 std::string("a@example.com."),
                                 std::string(".a@example.com"),
                                 std::string("a.@example.com"),
                                 std::string("a..b@example.com"),
                                 std::string("a,b@example.com"),
                                 std::string("a;b@example.com"),
                                 std::string("a@[127.0.0.1]"),
                                 std::string("jürgen@example.de"),
                                 std::string("a@müller.de"),
                                 std::string("a\t@example.com"),
                                 std::string("a\x7f@example.com"),
                                 local65 + "@example.com",
                                 long_domain})
    EXPECT_FALSE(is_valid_address(bad)) << bad;
}

TEST(Address, AcceptsTheLongestAllowedAddress) {
  std::string address = std::string(64, 'a') + "@" + std::string(184, 'b') + ".test";
  ASSERT_EQ(address.size(), 254u);
  EXPECT_TRUE(is_valid_address(address));
  EXPECT_FALSE(is_valid_address(address + "x"));
}

TEST(Address, SplitsMailboxesIntoNameAndAddress) {
  Mailbox m = split_mailbox("Depesche <noreply@news.example.org>");
  EXPECT_EQ(m.name, "Depesche");
  EXPECT_EQ(m.address, "noreply@news.example.org");
  m = split_mailbox("  reader@example.com ");
  EXPECT_EQ(m.name, "");
  EXPECT_EQ(m.address, "reader@example.com");
  m = split_mailbox("\"Smith, \\\"Jo\\\"\" <jo@example.com>");
  EXPECT_EQ(m.name, "Smith, \"Jo\"");
  EXPECT_EQ(m.address, "jo@example.com");
  m = split_mailbox("<only@example.com>");
  EXPECT_EQ(m.name, "");
  EXPECT_EQ(m.address, "only@example.com");
}

TEST(Address, FindsTheDomain) {
  EXPECT_EQ(domain_of("a@news.example.org"), "news.example.org");
  EXPECT_EQ(domain_of("nobody"), "");
}
