// Session and CSRF cookies and the same-origin check for browser requests.
#include "net/browser_guard.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <sstream>

using namespace depesche::net;

namespace {

Request request(std::vector<std::pair<std::string, std::string>> headers) {
  Request r;
  r.method = Method::post;
  r.headers = std::move(headers);
  return r;
}

// "a=b; Path=/; HttpOnly" → {"a=b", "Path=/", "HttpOnly"}
std::vector<std::string> attributes(std::string_view cookie) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in{std::string(cookie)};
  while (std::getline(in, item, ';')) {
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    out.push_back(item);
  }
  return out;
}

bool has(const std::vector<std::string>& attrs, std::string_view a) {
  for (const auto& x : attrs)
    if (x == a) return true;
  return false;
}

std::vector<std::string> set_cookies(const Response& res) {
  std::vector<std::string> out;
  for (const auto& [k, v] : res.headers)
    if (k == "Set-Cookie") out.push_back(v);
  return out;
}

const std::string kToken(43, 'T');

}  // namespace

TEST(BrowserGuard, CookieNamesCarryTheHostPrefixOnlyUnderHttps) {
  BrowserGuard https("https://news.example");
  EXPECT_TRUE(https.secure());
  EXPECT_EQ(https.session_cookie_name(), "__Host-depesche_session");
  EXPECT_EQ(https.csrf_cookie_name(), "__Host-depesche_csrf");
  for (std::string url : {"http://news.example", "", "news.example"}) {
    BrowserGuard plain(url);
    EXPECT_FALSE(plain.secure()) << url;
    EXPECT_EQ(plain.session_cookie_name(), "depesche_session") << url;
    EXPECT_EQ(plain.csrf_cookie_name(), "depesche_csrf") << url;
  }
  BrowserGuard later;
  later.set_public_url("HTTPS://News.Example:8443/base/");
  EXPECT_TRUE(later.secure());
  EXPECT_EQ(later.session_cookie_name(), "__Host-depesche_session");
}

TEST(BrowserGuard, SessionCookieIsHttpOnlyLaxAndSecureOnlyUnderHttps) {
  auto https = attributes(BrowserGuard("https://news.example").session_cookie("s3cret", 3600));
  EXPECT_EQ(https[0], "__Host-depesche_session=s3cret");
  EXPECT_TRUE(has(https, "Path=/"));
  EXPECT_TRUE(has(https, "Max-Age=3600"));
  EXPECT_TRUE(has(https, "HttpOnly"));
  EXPECT_TRUE(has(https, "SameSite=Lax"));
  EXPECT_TRUE(has(https, "Secure"));
  for (const auto& a : https) EXPECT_FALSE(a.starts_with("Domain")) << "__Host- forbids Domain";

  auto http = attributes(BrowserGuard("http://localhost:8080").session_cookie("s3cret", 60));
  EXPECT_EQ(http[0], "depesche_session=s3cret");
  EXPECT_TRUE(has(http, "HttpOnly"));
  EXPECT_TRUE(has(http, "SameSite=Lax"));
  EXPECT_FALSE(has(http, "Secure")) << "a Secure cookie would never come back over plain HTTP";
}

TEST(BrowserGuard, ClearingTheSessionCookieExpiresItWithTheSameAttributes) {
  auto c = attributes(BrowserGuard("https://news.example").clear_session_cookie());
  EXPECT_EQ(c[0], "__Host-depesche_session=");
  EXPECT_TRUE(has(c, "Max-Age=0"));
  EXPECT_TRUE(has(c, "Path=/"));
  EXPECT_TRUE(has(c, "Secure")) << "browsers ignore a __Host- cookie without Secure";
}

TEST(BrowserGuard, SessionSecretComesFromTheCookieOfThisScheme) {
  BrowserGuard https("https://news.example");
  auto req = request({{"cookie", "depesche_session=planted; __Host-depesche_session=real"}});
  EXPECT_EQ(https.session_secret(req), "real");
  auto only_plain = request({{"cookie", "depesche_session=planted"}});
  EXPECT_FALSE(https.session_secret(only_plain))
      << "an unprefixed cookie may come from a subdomain";
  EXPECT_EQ(BrowserGuard("http://localhost").session_secret(only_plain), "planted");
  EXPECT_FALSE(https.session_secret(request({})));
}

TEST(BrowserGuard, CsrfTokenIsSetOnceAsAStrictCookie) {
  BrowserGuard guard("https://news.example");
  Response res;
  std::string token = guard.csrf_token(request({}), res);
  EXPECT_EQ(token.size(), 43u) << "256 bits, base64url";
  for (char c : token)
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << token;
  auto cookies = set_cookies(res);
  ASSERT_EQ(cookies.size(), 1u);
  auto attrs = attributes(cookies[0]);
  EXPECT_EQ(attrs[0], "__Host-depesche_csrf=" + token);
  EXPECT_TRUE(has(attrs, "Path=/"));
  EXPECT_TRUE(has(attrs, "SameSite=Strict"));
  EXPECT_TRUE(has(attrs, "Secure"));

  Response other;
  EXPECT_NE(guard.csrf_token(request({}), other), token) << "each new token is random";
}

TEST(BrowserGuard, CsrfTokenReusesAPlausibleCookieAndReplacesOthers) {
  BrowserGuard guard("http://localhost:8080");
  Response res;
  auto with_cookie = request({{"cookie", "a=b; depesche_csrf=" + kToken}});
  EXPECT_EQ(guard.csrf_token(with_cookie, res), kToken);
  EXPECT_TRUE(set_cookies(res).empty()) << "an existing token is kept";

  for (std::string bad : {std::string("short"), std::string(65, 'x'), std::string()}) {
    Response fresh;
    std::string token = guard.csrf_token(request({{"cookie", "depesche_csrf=" + bad}}), fresh);
    EXPECT_NE(token, bad);
    EXPECT_EQ(set_cookies(fresh).size(), 1u) << bad;
    EXPECT_FALSE(has(attributes(set_cookies(fresh).at(0)), "Secure")) << "plain HTTP";
  }
}

TEST(BrowserGuard, SameOriginAcceptsThisSiteByPublicUrlOrHost) {
  BrowserGuard guard("https://news.example");
  EXPECT_TRUE(guard.same_origin(request({{"origin", "https://news.example"}})));
  EXPECT_TRUE(guard.same_origin(request({{"origin", "HTTPS://NEWS.EXAMPLE"}})));
  EXPECT_TRUE(
      guard.same_origin(request({{"origin", "http://localhost:8080"}, {"host", "localhost:8080"}})))
      << "the Host header names this site too (a site reached by another name)";
  EXPECT_TRUE(
      guard.same_origin(request({{"referer", "https://news.example/account/settings?x=1"}})));
  EXPECT_TRUE(guard.same_origin(
      request({{"referer", "http://LocalHost:8080/"}, {"host", "localhost:8080"}})));
  EXPECT_TRUE(guard.same_origin(request({{"host", "news.example"}})))
      << "neither Origin nor Referer: not a browser; the token check still applies";
}

TEST(BrowserGuard, SameOriginRefusesOtherSitesAndTheNullOrigin) {
  BrowserGuard guard("https://news.example");
  for (std::string origin : {"https://evil.example", "https://news.example.evil.example",
                             "http://news.example", "https://news.example:8443", "null"})
    EXPECT_FALSE(guard.same_origin(request({{"origin", origin}, {"host", "other.example"}})))
        << origin;
  EXPECT_FALSE(guard.same_origin(request({{"origin", "null"}, {"host", "news.example"}})));
  EXPECT_FALSE(guard.same_origin(
      request({{"origin", "https://evil.example"}, {"referer", "https://news.example/"}})))
      << "Origin wins over Referer";
  for (std::string referer :
       {"https://evil.example/https://news.example", "https://news.example.evil.example/",
        "https://news.example@evil.example/", "/relative/path", "news.example/path"})
    EXPECT_FALSE(guard.same_origin(request({{"referer", referer}}))) << referer;
  EXPECT_FALSE(guard.same_origin(
      request({{"origin", "https://evil.example"}, {"host", "evil.example.test"}})));
}

TEST(BrowserGuard, WithoutPublicUrlTheHostHeaderDecides) {
  BrowserGuard guard;
  EXPECT_TRUE(guard.same_origin(
      request({{"origin", "http://127.0.0.1:9000"}, {"host", "127.0.0.1:9000"}})));
  EXPECT_FALSE(guard.same_origin(
      request({{"origin", "http://127.0.0.1:9001"}, {"host", "127.0.0.1:9000"}})));
  EXPECT_FALSE(guard.same_origin(request({{"origin", "http://127.0.0.1:9000"}})))
      << "no Host, no public URL: nothing to compare with";
}

TEST(BrowserGuard, CheckNeedsSameOriginAndTheTokenOfTheCookie) {
  BrowserGuard guard("https://news.example");
  std::string cookie = "__Host-depesche_csrf=" + kToken;
  auto good = request({{"origin", "https://news.example"}, {"cookie", cookie}});
  EXPECT_TRUE(guard.check(good, kToken));
  EXPECT_FALSE(guard.check(good, std::string(43, 'U')));
  EXPECT_FALSE(guard.check(good, kToken.substr(1)));
  EXPECT_FALSE(guard.check(good, ""));
  EXPECT_FALSE(guard.check(request({{"origin", "https://news.example"}}), kToken)) << "no cookie";
  EXPECT_FALSE(guard.check(
      request({{"origin", "https://news.example"}, {"cookie", "depesche_csrf=" + kToken}}), kToken))
      << "under HTTPS only the __Host- cookie counts";
  EXPECT_FALSE(
      guard.check(request({{"origin", "https://evil.example"}, {"cookie", cookie}}), kToken))
      << "the right token from the wrong site";
  EXPECT_FALSE(guard.check(
      request({{"origin", "https://news.example"}, {"cookie", "__Host-depesche_csrf="}}), ""))
      << "an empty cookie matches nothing";
}

TEST(BrowserGuard, CheckWorksWithTheTokenItIssued) {
  BrowserGuard guard("http://localhost:8080");
  Response res;
  std::string token = guard.csrf_token(request({}), res);
  std::string set = set_cookies(res).at(0);
  std::string pair = set.substr(0, set.find(';'));  // what the browser sends back
  auto req = request({{"origin", "http://localhost:8080"}, {"cookie", pair}});
  EXPECT_TRUE(guard.check(req, token));
  Response again;
  EXPECT_EQ(guard.csrf_token(req, again), token);
  EXPECT_TRUE(set_cookies(again).empty());
}

TEST(BrowserGuard, CheckRefusesAStateChangeThatNamesNoOrigin) {
  // docs/accounts.md: a browser's state change needs Origin or Referer; a
  // request with neither is no browser's, and those use bearer tokens.
  BrowserGuard guard("https://news.example");
  std::string cookie = "__Host-depesche_csrf=" + kToken;
  EXPECT_FALSE(guard.check(request({{"cookie", cookie}}), kToken));
  EXPECT_FALSE(guard.check(request({{"cookie", cookie}, {"host", "news.example"}}), kToken));
  EXPECT_FALSE(guard.check(request({{"cookie", cookie}, {"origin", ""}, {"referer", ""}}), kToken));
  EXPECT_TRUE(
      guard.check(request({{"cookie", cookie}, {"referer", "https://news.example/x"}}), kToken))
      << "a Referer of this site is enough";
  EXPECT_TRUE(guard.same_origin(request({{"host", "news.example"}})))
      << "same_origin() alone, for requests that act on no session, still lets scripts through";
}
