#include "net/browser_guard.hpp"

#include <sys/random.h>

#include <stdexcept>

namespace depesche::net {
namespace {

constexpr long long kCsrfMaxAgeS = 30LL * 24 * 3600;

// 32 random bytes from the kernel, base64url without padding.
std::string random_token() {
  unsigned char raw[32];
  if (getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw))
    throw std::runtime_error("getrandom failed");
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned bits = 0, value = 0;
  for (unsigned char c : raw) {
    value = (value << 8) | c;
    bits += 8;
    while (bits >= 6) {
      out += kAlphabet[(value >> (bits - 6)) & 63];
      bits -= 6;
    }
  }
  if (bits > 0) out += kAlphabet[(value << (6 - bits)) & 63];
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// "scheme://host[:port]" of a URL, lower-cased; empty when it has none.
std::string origin_of(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  auto host_end = url.find_first_of("/?#", scheme_end + 3);
  std::string out(url.substr(0, host_end));
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

BrowserGuard::BrowserGuard(const std::string& public_url) { set_public_url(public_url); }

void BrowserGuard::set_public_url(const std::string& public_url) {
  origin_ = origin_of(public_url);
  secure_ = origin_.starts_with("https://");
  // __Host- cookies must be Secure, path=/ and without Domain: a subdomain
  // or a plain-HTTP page cannot then plant a session or CSRF cookie.
  session_name_ = secure_ ? "__Host-depesche_session" : "depesche_session";
  csrf_name_ = secure_ ? "__Host-depesche_csrf" : "depesche_csrf";
}

std::optional<std::string_view> BrowserGuard::session_secret(const Request& req) const {
  return req.cookie(session_name_);
}

std::string BrowserGuard::session_cookie(std::string_view secret, long long max_age_s) const {
  std::string c = session_name_ + "=" + std::string(secret) +
                  "; Path=/; Max-Age=" + std::to_string(max_age_s) + "; HttpOnly; SameSite=Lax";
  if (secure_) c += "; Secure";
  return c;
}

std::string BrowserGuard::clear_session_cookie() const {
  std::string c = session_name_ + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax";
  if (secure_) c += "; Secure";
  return c;
}

std::string BrowserGuard::csrf_token(const Request& req, Response& res) const {
  if (auto existing = req.cookie(csrf_name_);
      existing && existing->size() >= 32 && existing->size() <= 64)
    return std::string(*existing);
  std::string token = random_token();
  std::string c = csrf_name_ + "=" + token + "; Path=/; Max-Age=" + std::to_string(kCsrfMaxAgeS) +
                  "; HttpOnly; SameSite=Strict";
  if (secure_) c += "; Secure";
  res.header("Set-Cookie", std::move(c));
  return token;
}

std::optional<std::string> BrowserGuard::claimed_origin(const Request& req) {
  if (std::string_view origin = req.header("origin"); !origin.empty()) return lower(origin);
  if (std::string_view referer = req.header("referer"); !referer.empty()) return origin_of(referer);
  return std::nullopt;
}

bool BrowserGuard::names_this_site(const Request& req,
                                   const std::optional<std::string>& from) const {
  // "null" comes from sandboxed frames and some redirects: never trusted.
  if (!from || from->empty() || *from == "null") return false;
  if (!origin_.empty() && *from == origin_) return true;
  std::string host = lower(req.header("host"));
  if (host.empty()) return false;
  return *from == "http://" + host || *from == "https://" + host;
}

bool BrowserGuard::same_origin(const Request& req) const {
  auto from = claimed_origin(req);
  // Browsers send Origin with every cross-site POST; a request with neither
  // header comes from a script, and acts on no session here.
  if (!from) return true;
  return names_this_site(req, from);
}

bool BrowserGuard::check(const Request& req, std::string_view sent_token) const {
  // Unlike same_origin(), a missing Origin and Referer is not given the
  // benefit of the doubt: the request carries a session cookie, and a
  // browser's POST always names where it comes from (docs/accounts.md).
  if (!names_this_site(req, claimed_origin(req))) return false;
  auto cookie = req.cookie(csrf_name_);
  return cookie && !cookie->empty() && !sent_token.empty() &&
         constant_time_equal(*cookie, sent_token);
}

}  // namespace depesche::net
