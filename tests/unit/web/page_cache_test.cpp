#include "web/page_cache.hpp"

#include <brotli/decode.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>

#include "web/static_files.hpp"

using namespace depesche;
using namespace depesche::web;

namespace {
net::Request request(std::string target, std::string accept_encoding = "", std::string inm = "") {
  net::Request r;
  r.target = std::move(target);
  if (!accept_encoding.empty()) r.headers.emplace_back("accept-encoding", accept_encoding);
  if (!inm.empty()) r.headers.emplace_back("if-none-match", inm);
  return r;
}
std::string gunzip(const std::string& in) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}
}  // namespace

TEST(PageCache, ServesStoredPagesUntilContentChanges) {
  std::atomic<std::uint64_t> generation{1};
  PageCache cache(100, [&] { return generation.load(); });
  EXPECT_FALSE(cache.lookup(request("/en/")));
  std::string html = "<html>" + std::string(4000, 'x') + "</html>";
  auto first =
      cache.store(request("/en/"), 1, 200, "text/html; charset=utf-8", html, "public, max-age=30");
  EXPECT_EQ(first.body_view(), html);
  auto hit = cache.lookup(request("/en/"));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->body_view(), html);
  EXPECT_NE(hit->shared_head->find("Content-Security-Policy"), std::string::npos);
  generation = 2;
  EXPECT_FALSE(cache.lookup(request("/en/"))) << "stale after a content change";
}

TEST(PageCache, CompressesForClientsThatAcceptGzip) {
  PageCache cache(100, [] { return 1; });
  std::string html = "<p>" + std::string(5000, 'a') + "</p>";
  cache.store(request("/de/"), 1, 200, "text/html", html, "public");
  auto gz = cache.lookup(request("/de/", "gzip, deflate"));
  ASSERT_TRUE(gz);
  EXPECT_NE(gz->shared_head->find("Content-Encoding: gzip"), std::string::npos);
  EXPECT_EQ(gunzip(std::string(gz->body_view())), html);
  auto plain = cache.lookup(request("/de/", "gzip;q=0"));
  EXPECT_EQ(plain->body_view(), html);
}

TEST(PageCache, PrefersBrotliWhenTheClientAcceptsIt) {
  PageCache cache(100, [] { return 1; });
  std::string html = "<p>" + std::string(5000, 'b') + "</p>";
  cache.store(request("/ru/"), 1, 200, "text/html", html, "public");
  auto br = cache.lookup(request("/ru/", "gzip, deflate, br"));
  ASSERT_TRUE(br);
  EXPECT_NE(br->shared_head->find("Content-Encoding: br"), std::string::npos);
  std::string out(html.size() + 64, '\0');
  std::size_t size = out.size();
  auto body = br->body_view();
  ASSERT_EQ(BrotliDecoderDecompress(body.size(), reinterpret_cast<const std::uint8_t*>(body.data()),
                                    &size, reinterpret_cast<std::uint8_t*>(out.data())),
            BROTLI_DECODER_RESULT_SUCCESS);
  out.resize(size);
  EXPECT_EQ(out, html);
  EXPECT_FALSE(accepts_encoding("gzip, brotli-x", "br")) << "whole tokens only";
  EXPECT_FALSE(accepts_encoding("br;q=0", "br"));
  EXPECT_TRUE(accepts_encoding("deflate, br;q=0.5", "br"));
}

TEST(PageCache, AnswersRevalidationWith304) {
  PageCache cache(100, [] { return 1; });
  cache.store(request("/ru/"), 1, 200, "text/html", "<p>hi</p>", "public");
  auto etag = std::string(cache.lookup(request("/ru/"))->shared_head->substr(0));
  auto pos = etag.find("ETag: ");
  std::string tag = etag.substr(pos + 6, etag.find("\r\n", pos) - pos - 6);
  auto r = cache.lookup(request("/ru/", "", "W/" + tag));
  EXPECT_EQ(r->status, 304);
  EXPECT_TRUE(r->body_view().empty());
  EXPECT_EQ(cache.lookup(request("/ru/", "", "\"other\""))->status, 200);
}

TEST(PageCache, StaysWithinItsBound) {
  PageCache cache(3, [] { return 1; });
  for (int i = 0; i < 10; ++i)
    cache.store(request("/p" + std::to_string(i)), 1, 200, "text/html", "x", "public");
  EXPECT_LE(cache.size(), 3u);
}

TEST(StaticFiles, RefusesNamesThatCouldEscape) {
  EXPECT_TRUE(is_safe_file_name("harbour.svg"));
  for (const char* bad : {"", "..", "../x", "a/b", ".hidden", "-x", "a b", "x%2f", "a\\b"})
    EXPECT_FALSE(is_safe_file_name(bad)) << bad;
  EXPECT_EQ(content_type_for("x.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("x.unknown"), "application/octet-stream");
}
