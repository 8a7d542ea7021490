// Host, Transfer-Encoding and line folding rules of RFC 9112 that the
// server checks on every request head.
#include <gtest/gtest.h>

#include "net/http.hpp"

using namespace depesche::net;

namespace {
std::optional<int> te_status(std::vector<std::string_view> values, bool length = false,
                             bool http11 = true) {
  auto e = check_transfer_encoding(values, length, http11);
  return e ? std::optional<int>(e->status) : std::nullopt;
}
}  // namespace

TEST(HttpFraming, ValidHostsAreRegNamesIpv4OrBracketedIpv6WithAnOptionalPort) {
  for (std::string_view h : {"news.example", "news.example:8080", "127.0.0.1", "[::1]", "[::1]:80",
                             "[2001:db8::7]:443", "a-b_c~d.example", "caf%C3%A9.example", "t:"})
    EXPECT_TRUE(is_valid_host(h)) << h;
  for (std::string_view h : {"", "a b", "a\001b", "a\x7f", "u@t", "t:8o", "t:123456", "[::1",
                             "[::1]x", "[zz]", ":80", "t/x", "t%G0", "caf\xc3\xa9.example"})
    EXPECT_FALSE(is_valid_host(h)) << h;
}

TEST(HttpFraming, Http11NeedsExactlyOneHost) {
  EXPECT_FALSE(check_host({"t"}, true));
  EXPECT_FALSE(check_host({}, false)) << "HTTP/1.0 predates Host";
  EXPECT_EQ(check_host({}, true)->status, 400);
  EXPECT_EQ(check_host({"t", "t"}, true)->status, 400);
  EXPECT_EQ(check_host({"a b"}, false)->status, 400);
}

TEST(HttpFraming, TransferEncodingMustEndInChunkedAppliedOnce) {
  EXPECT_EQ(te_status({}), std::nullopt);
  EXPECT_EQ(te_status({"chunked"}), std::nullopt);
  EXPECT_EQ(te_status({"Chunked"}), std::nullopt);
  EXPECT_EQ(te_status({" chunked , "}), std::nullopt) << "empty list elements are ignored";
  for (std::vector<std::string_view> v :
       std::vector<std::vector<std::string_view>>{{"xchunked"},
                                                  {"identity"},
                                                  {"chunked, identity"},
                                                  {""},
                                                  {" , "},
                                                  {"chunked, chunked"},
                                                  {"chunked", "chunked"},
                                                  {"chun ked"}})
    EXPECT_EQ(te_status(v), 400) << v.front();
  EXPECT_EQ(te_status({"chunked"}, true), 400) << "with Content-Length";
  EXPECT_EQ(te_status({"chunked"}, false, false), 400) << "in HTTP/1.0";
}

TEST(HttpFraming, UnsupportedCodingsBeforeChunkedAre501) {
  EXPECT_EQ(te_status({"gzip, chunked"}), 501);
  EXPECT_EQ(te_status({"gzip", "chunked"}), 501);
  EXPECT_EQ(te_status({"deflate;q=1, chunked"}), 501);
  EXPECT_NE(check_transfer_encoding({"gzip, chunked"}, false, true)->message.find("gzip"),
            std::string::npos);
}

TEST(HttpFraming, LinesStartingWithWhitespaceAreRefusedAsObsoleteFolding) {
  EXPECT_FALSE(check_line_folding("POST / HTTP/1.1\r\nHost: t\r\nX-A: 1 2\r\n"));
  EXPECT_FALSE(check_line_folding("GET / HTTP/1.1\r\nHost: t\r\nX-A:\t1\r\n")) << "OWS is fine";
  EXPECT_FALSE(check_line_folding("GET / HTTP/1.1\r\n"));
  for (std::string_view head :
       {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n\t2\r\n", "POST / HTTP/1.1\r\n Host: t\r\n"}) {
    auto e = check_line_folding(head);
    ASSERT_TRUE(e) << head;
    EXPECT_EQ(e->status, 400);
  }
}
