#include "api/caller.hpp"

namespace depesche::api {

Result<Caller> CallerAuth::identify(const net::Request& req, bool state_changing) const {
  if (auto auth = req.header("authorization"); !auth.empty()) {
    if (!auth.starts_with("Bearer "))
      return fail(ErrorCode::unauthorized, "use Authorization: Bearer <token>");
    auto token = tokens_.authenticate(auth.substr(7));
    if (!token) return std::unexpected(token.error());
    return Caller{token->role, std::nullopt, token->id};
  }
  auto secret = guard_.session_secret(req);
  if (!secret) return Caller{};
  if (state_changing && !guard_.check(req, req.header("x-csrf-token")))
    return fail(ErrorCode::forbidden, "cross-site request refused: missing or wrong CSRF token");
  auto auth = accounts_.authenticate(*secret);
  if (!auth) return Caller{};  // a stale cookie: treat as anonymous
  return Caller{auth->account.role, auth->account};
}

Result<Caller> CallerAuth::require(const net::Request& req, domain::Role role,
                                   bool state_changing) const {
  auto c = identify(req, state_changing);
  if (!c) return c;
  if (!c->role) return fail(ErrorCode::unauthorized, "log in or send an editor's bearer token");
  if (!domain::role_at_least(*c->role, role))
    return fail(ErrorCode::forbidden,
                std::string("this needs the ") + domain::to_string(role) + " role");
  return c;
}

}  // namespace depesche::api
