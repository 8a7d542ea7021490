#pragma once
// JSON API v1 for accounts: register, confirm, log in and out, password
// reset, the caller's own account (`/me`), and roles for admins.
//
// Browser protection: endpoints that act on a session need the session
// cookie, a same-site Origin and the CSRF token in X-CSRF-Token (from
// `GET auth/csrf` or the login answer). Endpoints that open a session or
// act on a mailed token need JSON and a same-site Origin, which no foreign
// page can send without the CORS preflight Depesche never grants.

#include "domain/account_service.hpp"
#include "domain/token_service.hpp"
#include "net/browser_guard.hpp"
#include "net/router.hpp"

namespace depesche::api {

class AuthApi {
 public:
  AuthApi(domain::AccountService& accounts, domain::TokenService& tokens,
          const net::BrowserGuard& guard, long long session_max_age_s)
      : accounts_(accounts),
        tokens_(tokens),
        guard_(guard),
        session_max_age_s_(session_max_age_s) {}

  void register_routes(net::Router& router);

 private:
  /// The logged-in account for a state-changing request: session cookie plus
  /// CSRF checks. forbidden for a failed CSRF check, unauthorized without a
  /// valid session.
  Result<domain::Authenticated> session_for_change(const net::Request& req);
  /// For requests without a session (register, login, ...): JSON and same site.
  Result<void> check_anonymous_post(const net::Request& req);

  net::Response register_account(net::Request& req);
  net::Response confirm(net::Request& req);
  net::Response resend(net::Request& req);
  net::Response login(net::Request& req);
  net::Response logout(net::Request& req);
  net::Response csrf(net::Request& req);
  net::Response reset_request(net::Request& req);
  net::Response reset(net::Request& req);
  net::Response confirm_email(net::Request& req);
  net::Response me(net::Request& req);
  net::Response update_me(net::Request& req);
  net::Response change_password(net::Request& req);
  net::Response change_email(net::Request& req);
  net::Response delete_me(net::Request& req);
  net::Response export_me(net::Request& req);
  net::Response set_role(net::Request& req);

  domain::AccountService& accounts_;
  domain::TokenService& tokens_;
  const net::BrowserGuard& guard_;
  long long session_max_age_s_;
};

}  // namespace depesche::api
