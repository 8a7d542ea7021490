#pragma once
// Who is calling the API: a machine with a bearer token, a browser with a
// session cookie, or nobody. Session callers of state-changing requests
// must pass the CSRF checks; bearer callers carry no ambient authority and
// need none.

#include <optional>

#include "base/error.hpp"
#include "domain/account_service.hpp"
#include "domain/token_service.hpp"
#include "net/browser_guard.hpp"
#include "net/http.hpp"

namespace depesche::api {

struct Caller {
  std::optional<domain::Role> role;        // nullopt: anonymous
  std::optional<domain::Account> account;  // set for session callers
  std::optional<std::int64_t> token_id;    // set for bearer callers
};

class CallerAuth {
 public:
  CallerAuth(domain::TokenService& tokens, domain::AccountService& accounts,
             const net::BrowserGuard& guard)
      : tokens_(tokens), accounts_(accounts), guard_(guard) {}

  /// The caller; unauthorized for a bad token or session, forbidden when a
  /// state-changing session request fails the CSRF checks.
  Result<Caller> identify(const net::Request& req, bool state_changing) const;
  /// identify() plus at least `role`.
  Result<Caller> require(const net::Request& req, domain::Role role, bool state_changing) const;

 private:
  domain::TokenService& tokens_;
  domain::AccountService& accounts_;
  const net::BrowserGuard& guard_;
};

}  // namespace depesche::api
