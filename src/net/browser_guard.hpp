#pragma once
// Cookies and cross-site request forgery checks for browser requests.
//
// The session cookie is HttpOnly and SameSite=Lax, and `__Host-` prefixed
// and Secure when the site is served over HTTPS. A state-changing browser
// request must come from this site (Origin, else Referer, matches the Host
// header or the public URL) and carry the CSRF token: a random value in its
// own cookie that a form repeats in a hidden field and a script in the
// X-CSRF-Token header (double submit). Another site can make a browser send
// the cookie, but can neither read it nor set the field.

#include <optional>
#include <string>
#include <string_view>

#include "net/http.hpp"

namespace depesche::net {

class BrowserGuard {
 public:
  /// `public_url` is the site's base URL ("https://news.example"); HTTPS
  /// turns on Secure and the __Host- prefix.
  explicit BrowserGuard(const std::string& public_url = {});
  /// Set once the listening address is known (before serving).
  void set_public_url(const std::string& public_url);

  const std::string& session_cookie_name() const { return session_name_; }
  const std::string& csrf_cookie_name() const { return csrf_name_; }
  bool secure() const { return secure_; }

  std::optional<std::string_view> session_secret(const Request& req) const;
  /// Set-Cookie value opening a session for `max_age_s` seconds.
  std::string session_cookie(std::string_view secret, long long max_age_s) const;
  /// Set-Cookie value that removes the session cookie.
  std::string clear_session_cookie() const;

  /// The request's CSRF token; when it has none, a new one, and the
  /// Set-Cookie header for it is added to `res`.
  std::string csrf_token(const Request& req, Response& res) const;
  /// True when Origin (or, without it, Referer) names this site; true too
  /// when a non-browser client sends neither. For requests that act on no
  /// session (login, register): use check() for those that do.
  bool same_origin(const Request& req) const;
  /// For a state change made with the session cookie: Origin (or, without
  /// it, Referer) is present and names this site, and `sent_token` equals
  /// the CSRF cookie. A request with neither header is refused: browsers
  /// send Origin with every POST, and machine clients use bearer tokens.
  bool check(const Request& req, std::string_view sent_token) const;

 private:
  /// The origin the request says it comes from, lower-cased: Origin, else
  /// the origin of Referer (empty when the Referer has none); nullopt when
  /// it sends neither.
  static std::optional<std::string> claimed_origin(const Request& req);
  bool names_this_site(const Request& req, const std::optional<std::string>& from) const;

  std::string origin_;  // "https://news.example" without a trailing slash
  bool secure_ = false;
  std::string session_name_;
  std::string csrf_name_;
};

}  // namespace depesche::net
