#include "api/auth_api.hpp"

#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

#include "api/api_errors.hpp"
#include "api/json_body.hpp"

namespace depesche::api {

using net::Method;
using net::Request;
using net::Response;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxAuthBody = 16 * 1024;

json account_json(const domain::Account& a) {
  return {{"id", a.id},
          {"email", a.email},
          {"display_name", a.display_name},
          {"role", domain::to_string(a.role)},
          {"edition", a.edition},
          {"confirmed", a.confirmed()},
          {"may_post", domain::AccountService::may_post(a)},
          {"created_at", format_rfc3339(a.created_at)}};
}

// The body's string fields (api/json_body.hpp), within the size an auth
// request can need.
Result<StringFields> string_fields(const Request& req, std::initializer_list<const char*> required,
                                   std::initializer_list<const char*> optional = {}) {
  if (req.body.size() > kMaxAuthBody) return fail(ErrorCode::invalid, "the body is too large");
  return api::string_fields(std::string_view(req.body), required, optional);
}

Response accepted() {
  // The same answer whatever happens next, so it tells nothing about the address.
  return json_response(202, R"({"status":"accepted"})");
}

// A refused precondition: 415 for a body that is not JSON, else the error.
Response refused(const Error& e) {
  if (e.field == "content-type") return error_response(415, "unsupported_media_type", e.message);
  return error_response(e);
}

Response forbidden_cross_site() {
  return error_response(403, "forbidden",
                        "cross-site request refused: missing or wrong CSRF token");
}

}  // namespace

void AuthApi::register_routes(net::Router& router) {
  auto add = [&](Method m, const char* path, net::Access access,
                 Response (AuthApi::*fn)(Request&)) {
    router.add({m}, path, access, [this, fn](Request& r) { return (this->*fn)(r); });
  };
  using net::Via;
  using net::Who;
  // Acting on no session: JSON only (a foreign page cannot send it without a
  // preflight) and no foreign Origin (check_anonymous_post).
  const net::Access anyone{Who::anyone, Via::nothing};
  const net::Access own_session{Who::signed_in, Via::session};
  add(Method::post, "/api/v1/auth/register", anyone, &AuthApi::register_account);
  add(Method::post, "/api/v1/auth/confirm", anyone, &AuthApi::confirm);
  add(Method::post, "/api/v1/auth/resend", anyone, &AuthApi::resend);
  add(Method::post, "/api/v1/auth/login", anyone, &AuthApi::login);
  // Without a session it only clears the cookie; with one, the CSRF checks.
  add(Method::post, "/api/v1/auth/logout", {Who::anyone, Via::session}, &AuthApi::logout);
  add(Method::get, "/api/v1/auth/csrf", anyone, &AuthApi::csrf);
  add(Method::post, "/api/v1/auth/reset-request", anyone, &AuthApi::reset_request);
  add(Method::post, "/api/v1/auth/reset", anyone, &AuthApi::reset);
  add(Method::post, "/api/v1/auth/confirm-email", anyone, &AuthApi::confirm_email);
  add(Method::get, "/api/v1/me", own_session, &AuthApi::me);
  add(Method::patch, "/api/v1/me", own_session, &AuthApi::update_me);
  add(Method::post, "/api/v1/me/password", own_session, &AuthApi::change_password);
  add(Method::post, "/api/v1/me/email", own_session, &AuthApi::change_email);
  add(Method::post, "/api/v1/me/delete", own_session, &AuthApi::delete_me);
  add(Method::get, "/api/v1/me/export", own_session, &AuthApi::export_me);
  add(Method::post, "/api/v1/users/{id}/role", {Who::admin, Via::session_or_bearer},
      &AuthApi::set_role);
}

Result<void> AuthApi::check_anonymous_post(const Request& req) {
  if (!is_json(req))
    return fail(ErrorCode::invalid, "send Content-Type: application/json", "content-type");
  if (!guard_.same_origin(req)) return fail(ErrorCode::forbidden, "cross-site request refused");
  return {};
}

Result<domain::Authenticated> AuthApi::session_for_change(const Request& req) {
  auto secret = guard_.session_secret(req);
  if (!secret) return fail(ErrorCode::unauthorized, "not logged in");
  if (!guard_.check(req, req.header("x-csrf-token")))
    return fail(ErrorCode::forbidden, "cross-site request refused: missing or wrong CSRF token");
  return accounts_.authenticate(*secret);
}

Response AuthApi::register_account(Request& req) {
  if (auto ok = check_anonymous_post(req); !ok) return refused(ok.error());
  auto f = string_fields(req, {"email", "password", "display_name", "edition"});
  if (!f) return error_response(f.error());
  auto r = accounts_.register_account(
      {(*f)["email"], (*f)["password"], (*f)["display_name"], (*f)["edition"]}, req.remote_address);
  if (!r) return error_response(r.error());
  return accepted();
}

Response AuthApi::confirm(Request& req) {
  if (auto ok = check_anonymous_post(req); !ok) return refused(ok.error());
  auto f = string_fields(req, {"token"});
  if (!f) return error_response(f.error());
  auto a = accounts_.confirm((*f)["token"]);
  if (!a) return error_response(a.error());
  return json_response(200, json{{"account", account_json(*a)}}.dump());
}

Response AuthApi::resend(Request& req) {
  if (auto ok = check_anonymous_post(req); !ok) return refused(ok.error());
  auto f = string_fields(req, {"email"});
  if (!f) return error_response(f.error());
  if (auto r = accounts_.resend_confirmation((*f)["email"], req.remote_address); !r)
    return error_response(r.error());
  return accepted();
}

Response AuthApi::login(Request& req) {
  if (auto ok = check_anonymous_post(req); !ok) return refused(ok.error());
  auto f = string_fields(req, {"email", "password"});
  if (!f) return error_response(f.error());
  auto result = accounts_.login((*f)["email"], (*f)["password"], req.remote_address,
                                req.header("user-agent"));
  if (!result) return error_response(result.error());
  // A new session id at every login: a planted cookie never becomes a session.
  Response res = json_response(200, "");
  res.header("Set-Cookie", guard_.session_cookie(result->session_secret, session_max_age_s_));
  std::string csrf = guard_.csrf_token(req, res);
  res.body = json{{"account", account_json(result->account)}, {"csrf_token", csrf}}.dump();
  return res;
}

Response AuthApi::logout(Request& req) {
  auto secret = guard_.session_secret(req);
  if (secret && !guard_.check(req, req.header("x-csrf-token"))) return forbidden_cross_site();
  if (secret) (void)accounts_.logout(*secret);
  Response res = json_response(204, "");
  res.header("Set-Cookie", guard_.clear_session_cookie());
  return res;
}

Response AuthApi::csrf(Request& req) {
  Response res = json_response(200, "");
  res.body = json{{"csrf_token", guard_.csrf_token(req, res)}}.dump();
  return res;
}

Response AuthApi::reset_request(Request& req) {
  if (auto ok = check_anonymous_post(req); !ok) return refused(ok.error());
  auto f = string_fields(req, {"email"});
  if (!f) return error_response(f.error());
  if (auto r = accounts_.request_reset((*f)["email"], req.remote_address); !r)
    return error_response(r.error());
  return accepted();
}

Response AuthApi::reset(Request& req) {
  if (auto ok = check_anonymous_post(req); !ok) return refused(ok.error());
  auto f = string_fields(req, {"token", "password"});
  if (!f) return error_response(f.error());
  auto a = accounts_.reset_password((*f)["token"], (*f)["password"]);
  if (!a) return error_response(a.error());
  return json_response(200, json{{"account", account_json(*a)}}.dump());
}

Response AuthApi::confirm_email(Request& req) {
  if (auto ok = check_anonymous_post(req); !ok) return refused(ok.error());
  auto f = string_fields(req, {"token"});
  if (!f) return error_response(f.error());
  auto a = accounts_.confirm_email_change((*f)["token"]);
  if (!a) return error_response(a.error());
  return json_response(200, json{{"account", account_json(*a)}}.dump());
}

Response AuthApi::me(Request& req) {
  auto secret = guard_.session_secret(req);
  if (!secret) return error_response(401, "unauthorized", "not logged in");
  auto auth = accounts_.authenticate(*secret);
  if (!auth) return error_response(auth.error());
  return json_response(200, account_json(auth->account).dump());
}

Response AuthApi::update_me(Request& req) {
  auto auth = session_for_change(req);
  if (!auth) return error_response(auth.error());
  if (!is_json(req)) return unsupported_media_type();
  auto f = string_fields(req, {}, {"display_name", "edition"});
  if (!f) return error_response(f.error());
  const auto& a = auth->account;
  auto updated = accounts_.update_profile(
      a.id, f->contains("display_name") ? (*f)["display_name"] : a.display_name,
      f->contains("edition") ? (*f)["edition"] : a.edition);
  if (!updated) return error_response(updated.error());
  return json_response(200, account_json(*updated).dump());
}

Response AuthApi::change_password(Request& req) {
  auto auth = session_for_change(req);
  if (!auth) return error_response(auth.error());
  if (!is_json(req)) return unsupported_media_type();
  auto f = string_fields(req, {"current_password", "new_password"});
  if (!f) return error_response(f.error());
  auto result = accounts_.change_password(auth->account.id, (*f)["current_password"],
                                          (*f)["new_password"], req.header("user-agent"));
  if (!result) return error_response(result.error());
  Response res = json_response(200, json{{"account", account_json(result->account)}}.dump());
  res.header("Set-Cookie", guard_.session_cookie(result->session_secret, session_max_age_s_));
  return res;
}

Response AuthApi::change_email(Request& req) {
  auto auth = session_for_change(req);
  if (!auth) return error_response(auth.error());
  if (!is_json(req)) return unsupported_media_type();
  auto f = string_fields(req, {"email", "password"});
  if (!f) return error_response(f.error());
  if (auto r = accounts_.request_email_change(auth->account.id, (*f)["password"], (*f)["email"]);
      !r)
    return error_response(r.error());
  return accepted();
}

Response AuthApi::delete_me(Request& req) {
  auto auth = session_for_change(req);
  if (!auth) return error_response(auth.error());
  if (!is_json(req)) return unsupported_media_type();
  auto f = string_fields(req, {"password"});
  if (!f) return error_response(f.error());
  if (auto r = accounts_.delete_account(auth->account.id, (*f)["password"]); !r)
    return error_response(r.error());
  Response res = json_response(204, "");
  res.header("Set-Cookie", guard_.clear_session_cookie());
  return res;
}

Response AuthApi::export_me(Request& req) {
  auto secret = guard_.session_secret(req);
  if (!secret) return error_response(401, "unauthorized", "not logged in");
  auto auth = accounts_.authenticate(*secret);
  if (!auth) return error_response(auth.error());
  auto data = accounts_.export_data(auth->account.id);
  if (!data) return error_response(data.error());
  json sessions = json::array();
  for (const auto& s : data->sessions)
    sessions.push_back({{"created_at", format_rfc3339(s.created_at)},
                        {"last_seen_at", format_rfc3339(s.last_seen_at)},
                        {"user_agent", s.user_agent},
                        {"current", s.id_hash == auth->session.id_hash}});
  json out = {{"account", account_json(data->account)},
              {"sessions", sessions},
              {"exported_at", format_rfc3339(now_millis())}};
  Response res = json_response(200, out.dump(2));
  res.header("Content-Disposition", "attachment; filename=\"depesche-account.json\"");
  return res;
}

Response AuthApi::set_role(Request& req) {
  std::int64_t id = 0;
  auto param = req.param("id");
  auto [p, ec] = std::from_chars(param.data(), param.data() + param.size(), id);
  if (ec != std::errc() || p != param.data() + param.size() || id <= 0)
    return error_response(404, "not_found", "no such account");
  // Admins act from their session (with CSRF checks) or with an admin token.
  domain::Account actor;
  if (auto bearer = req.header("authorization"); !bearer.empty()) {
    if (!bearer.starts_with("Bearer "))
      return error_response(401, "unauthorized", "use Authorization: Bearer <token>");
    auto token = tokens_.authenticate(bearer.substr(7));
    if (!token) return error_response(token.error());
    actor.role = token->role;
    actor.id = 0;
  } else {
    auto auth = session_for_change(req);
    if (!auth) return error_response(auth.error());
    actor = auth->account;
  }
  // Settled before the body is read, like every route's role: a caller who
  // may not change roles is refused whatever it sends, and learns nothing
  // from how its input would have been judged. The service checks again.
  if (actor.role != domain::Role::admin)
    return error_response(403, "forbidden", "only admins change roles");
  if (!is_json(req)) return unsupported_media_type();
  auto f = string_fields(req, {"role"});
  if (!f) return error_response(f.error());
  auto role = domain::parse_role((*f)["role"]);
  if (!role)
    return error_response(400, "invalid", "role must be reader, moderator, editor or admin",
                          "role");
  auto updated = accounts_.set_role(actor, id, *role);
  if (!updated) return error_response(updated.error());
  return json_response(200, account_json(*updated).dump());
}

}  // namespace depesche::api
