#include "web/account_pages.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "net/error_status.hpp"
#include "web/form.hpp"
#include "web/security_headers.hpp"

namespace depesche::web {

using net::Method;
using net::Request;
using net::Response;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxFormBody = 16 * 1024;

// Only paths on this site: "/x", never "//host" or "/\host", which browsers
// read as another host.
bool is_local_path(std::string_view p) {
  if (p.empty() || p.size() > 2000 || p[0] != '/') return false;
  // URL parsers drop tabs and line breaks and read '\\' as '/', so "/\t/evil"
  // and "/\\evil" mean "//evil": refuse control characters and backslashes.
  for (char c : p)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\') return false;
  return p.size() == 1 || p[1] != '/';
}

// A 429 says when to come back, like the API's.
Response& with_retry_after(Response& r, const Error& e) {
  if (e.code == ErrorCode::rate_limited)
    r.header("Retry-After", std::to_string(std::max(1LL, (e.retry_after_ms + 999) / 1000)));
  return r;
}

json settings_model(const domain::Account& a, const Catalog& cat,
                    const domain::Editions& editions) {
  json page;
  page["signed_in_as"] = cat.format(
      "settings_signed_in_as",
      {{"name", std::string_view(a.display_name)}, {"email", std::string_view(a.email)}});
  page["unconfirmed"] = !a.confirmed();
  page["display_name"] = a.display_name;
  page["editions"] = json::array();
  for (const auto& code : editions.codes())
    page["editions"].push_back(
        {{"code", code}, {"label", cat.text("edition_" + code)}, {"selected", code == a.edition}});
  return page;
}

void take_cookies(Response& from, Response& to) {
  for (auto& h : from.headers)
    if (h.first == "Set-Cookie") to.headers.push_back(h);
}

}  // namespace

void AccountPages::register_routes(net::Router& router) {
  auto add = [&](Method m, const char* path, net::Access access,
                 Response (AccountPages::*fn)(Request&)) {
    router.add({m}, path, access, [this, fn](Request& r) { return (this->*fn)(r); });
  };
  using net::Via;
  using net::Who;
  // Every form needs the CSRF token, signed in or not (login CSRF).
  const net::Access anyone{Who::anyone, Via::nothing};
  const net::Access own_session{Who::signed_in, Via::session};
  router.add({Method::get}, "/account", anyone,
             [](Request&) { return see_other("/account/settings"); });
  add(Method::get, "/account/register", anyone, &AccountPages::register_form);
  add(Method::post, "/account/register", anyone, &AccountPages::register_submit);
  add(Method::get, "/account/confirm", anyone, &AccountPages::confirm);
  add(Method::get, "/account/resend", anyone, &AccountPages::resend_form);
  add(Method::post, "/account/resend", anyone, &AccountPages::resend_submit);
  add(Method::get, "/account/login", anyone, &AccountPages::login_form);
  add(Method::post, "/account/login", anyone, &AccountPages::login_submit);
  add(Method::post, "/account/logout", {Who::anyone, Via::session}, &AccountPages::logout);
  add(Method::get, "/account/reset-request", anyone, &AccountPages::reset_request_form);
  add(Method::post, "/account/reset-request", anyone, &AccountPages::reset_request_submit);
  add(Method::get, "/account/reset", anyone, &AccountPages::reset_form);
  add(Method::post, "/account/reset", anyone, &AccountPages::reset_submit);
  add(Method::get, "/account/confirm-email", anyone, &AccountPages::confirm_email);
  add(Method::get, "/account/settings", own_session, &AccountPages::settings);
  add(Method::post, "/account/settings/{action}", own_session, &AccountPages::settings_submit);
}

std::string AccountPages::edition_for(const Request& req, std::string_view form_ed,
                                      const Viewer& viewer) const {
  if (editions_.contains(form_ed)) return std::string(form_ed);
  if (auto q = req.query_param("ed"); q && editions_.contains(*q)) return *q;
  if (viewer.auth && editions_.contains(viewer.auth->account.edition))
    return viewer.auth->account.edition;
  return editions_.preferred(req.header("accept-language"));
}

std::string AccountPages::error_text(const Error& e, const Catalog& cat) const {
  if (e.code == ErrorCode::rate_limited) return cat.text("error_rate_limited");
  if (e.code == ErrorCode::unauthorized) return cat.text("error_credentials");
  if (e.field == "email")
    return cat.text(e.reason == reason::same_address ? "error_same_email" : "error_email_invalid");
  if (e.field == "display_name") return cat.text("error_name_invalid");
  if (e.field == "current_password") return cat.text("error_current_password");
  if (e.field == "password")
    return cat.text(e.reason == reason::wrong_password ? "error_current_password"
                                                       : "error_password_invalid");
  if (e.field == "token") return cat.text("link_failed_message");
  return cat.text("error_generic");
}

Response AccountPages::show(const Request& req, int status, const std::string& edition,
                            const std::string& title, const std::string& template_name, json page,
                            const Viewer& viewer) {
  Response cookies;
  page["csrf"] = guard_.csrf_token(req, cookies);
  if (!page.contains("errors")) page["errors"] = json::array();
  page["has_errors"] = !page["errors"].empty();
  Response r = pages_.private_page(req, status, edition, title, template_name, page, viewer);
  take_cookies(cookies, r);
  return r;
}

Response AccountPages::message(const Request& req, int status, const std::string& edition,
                               const std::string& title_key, std::string text, const Viewer& viewer,
                               json links) {
  const Catalog& cat = i18n_.catalog(edition);
  json page = {{"title", cat.text(title_key)}, {"message", std::move(text)}, {"links", links}};
  return show(req, status, edition, cat.text(title_key), "account_message", std::move(page),
              viewer);
}

// --- register, confirm, resend ---------------------------------------------

Response AccountPages::register_form(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, {}, viewer);
  return show(req, 200, ed, i18n_.catalog(ed).text("register_title"), "account_register",
              json::object(), viewer);
}

Response AccountPages::register_submit(Request& req) {
  auto f = form_fields(req, kMaxFormBody);
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, form_field(f, "ed"), viewer);
  const Catalog& cat = i18n_.catalog(ed);
  if (!guard_.check(req, form_field(f, "csrf")))
    return message(req, 403, ed, "error_csrf_title", cat.text("error_csrf_message"), viewer);
  std::string email = form_field(f, "email");
  auto r = accounts_.register_account(
      {email, form_field(f, "password"), form_field(f, "display_name"), ed}, req.remote_address);
  if (!r) {
    if (net::is_server_fault(r.error().code)) return pages_.failure_page(req, r.error(), ed);
    json page = {{"email", email},
                 {"display_name", form_field(f, "display_name")},
                 {"errors", json::array({error_text(r.error(), cat)})}};
    Response res = show(req, net::status_for(r.error().code), ed, cat.text("register_title"),
                        "account_register", page, viewer);
    return with_retry_after(res, r.error());
  }
  // The address as the reader typed it (trimmed), never empty here: the
  // service refused empty addresses above.
  std::string shown = domain::AccountService::normalise_email(email);
  json page = {
      {"title", cat.text("registered_title")},
      {"message", cat.format("registered_message", {{"email", std::string_view(shown)}})},
      {"hint", cat.text("registered_hint")},
      {"links",
       json::array({{{"href", "/account/resend?ed=" + ed}, {"label", cat.text("resend_link")}}})}};
  return show(req, 200, ed, cat.text("registered_title"), "account_message", page, viewer);
}

Response AccountPages::confirm(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, {}, viewer);
  const Catalog& cat = i18n_.catalog(ed);
  std::string token(req.query_param("token").value_or(""));
  auto a = accounts_.confirm(token);
  // A used link of a confirmed account (a mail scanner may have opened it
  // first) is told apart from a link that never worked.
  if (!a && net::is_server_fault(a.error().code)) return pages_.failure_page(req, a.error(), ed);
  bool already = !a && accounts_.was_confirmed_by(token);
  if (!a && !already)
    return message(
        req, 400, ed, "link_failed_title", cat.text("link_failed_message"), viewer,
        json::array({{{"href", "/account/resend?ed=" + ed}, {"label", cat.text("resend_link")}}}));
  json links = json::array();
  if (!viewer.auth)
    links.push_back({{"href", "/account/login?ed=" + ed}, {"label", cat.text("login_title")}});
  links.push_back({{"href", "/" + ed + "/"}, {"label", cat.text("back_home")}});
  return message(req, 200, ed, "confirm_ok_title",
                 cat.text(already ? "confirm_already_message" : "confirm_ok_message"), viewer,
                 links);
}

Response AccountPages::resend_form(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, {}, viewer);
  const Catalog& cat = i18n_.catalog(ed);
  json page = {{"title", cat.text("resend_title")},
               {"action", "/account/resend"},
               {"submit", cat.text("resend_submit")},
               {"email", viewer.auth ? viewer.auth->account.email : ""}};
  return show(req, 200, ed, cat.text("resend_title"), "account_email_form", page, viewer);
}

Response AccountPages::resend_submit(Request& req) {
  auto f = form_fields(req, kMaxFormBody);
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, form_field(f, "ed"), viewer);
  const Catalog& cat = i18n_.catalog(ed);
  if (!guard_.check(req, form_field(f, "csrf")))
    return message(req, 403, ed, "error_csrf_title", cat.text("error_csrf_message"), viewer);
  std::string email = form_field(f, "email");
  if (auto r = accounts_.resend_confirmation(email, req.remote_address); !r) {
    if (net::is_server_fault(r.error().code)) return pages_.failure_page(req, r.error(), ed);
    json page = {{"title", cat.text("resend_title")},
                 {"action", "/account/resend"},
                 {"submit", cat.text("resend_submit")},
                 {"email", email},
                 {"errors", json::array({error_text(r.error(), cat)})}};
    Response res = show(req, net::status_for(r.error().code), ed, cat.text("resend_title"),
                        "account_email_form", page, viewer);
    return with_retry_after(res, r.error());
  }
  std::string shown = domain::AccountService::normalise_email(email);
  return message(req, 200, ed, "resend_title",
                 cat.format("resend_done", {{"email", std::string_view(shown)}}), viewer);
}

// --- log in, log out ---------------------------------------------------------

Response AccountPages::login_form(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, {}, viewer);
  std::string next = req.query_param("next").value_or("");
  if (!is_local_path(next)) next = "/" + ed + "/";
  if (viewer.auth) return see_other(next);
  return show(req, 200, ed, i18n_.catalog(ed).text("login_title"), "account_login",
              json{{"next", next}}, viewer);
}

Response AccountPages::login_submit(Request& req) {
  auto f = form_fields(req, kMaxFormBody);
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, form_field(f, "ed"), viewer);
  const Catalog& cat = i18n_.catalog(ed);
  std::string next = form_field(f, "next");
  if (!is_local_path(next)) next = "/" + ed + "/";
  if (!guard_.check(req, form_field(f, "csrf")))
    return message(req, 403, ed, "error_csrf_title", cat.text("error_csrf_message"), viewer);
  auto result = accounts_.login(form_field(f, "email"), form_field(f, "password"),
                                req.remote_address, req.header("user-agent"));
  if (!result) {
    if (net::is_server_fault(result.error().code))
      return pages_.failure_page(req, result.error(), ed);
    json page = {{"email", form_field(f, "email")},
                 {"next", next},
                 {"errors", json::array({error_text(result.error(), cat)})}};
    Response r = show(req, net::status_for(result.error().code), ed, cat.text("login_title"),
                      "account_login", page, viewer);
    return with_retry_after(r, result.error());
  }
  // A new session id at every login, so a planted cookie never becomes one.
  Response r = see_other(next);
  r.header("Set-Cookie", guard_.session_cookie(result->session_secret, session_max_age_s_));
  return r;
}

Response AccountPages::logout(Request& req) {
  auto f = form_fields(req, kMaxFormBody);
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, form_field(f, "ed"), viewer);
  if (!guard_.check(req, form_field(f, "csrf")))
    return message(req, 403, ed, "error_csrf_title", i18n_.catalog(ed).text("error_csrf_message"),
                   viewer);
  if (auto secret = guard_.session_secret(req)) (void)accounts_.logout(*secret);
  Response r = see_other("/" + ed + "/");
  r.header("Set-Cookie", guard_.clear_session_cookie());
  return r;
}

// --- password reset ----------------------------------------------------------

Response AccountPages::reset_request_form(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, {}, viewer);
  const Catalog& cat = i18n_.catalog(ed);
  json page = {{"title", cat.text("reset_request_title")},
               {"intro", cat.text("reset_request_intro")},
               {"action", "/account/reset-request"},
               {"submit", cat.text("reset_request_submit")},
               {"email", ""}};
  return show(req, 200, ed, cat.text("reset_request_title"), "account_email_form", page, viewer);
}

Response AccountPages::reset_request_submit(Request& req) {
  auto f = form_fields(req, kMaxFormBody);
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, form_field(f, "ed"), viewer);
  const Catalog& cat = i18n_.catalog(ed);
  if (!guard_.check(req, form_field(f, "csrf")))
    return message(req, 403, ed, "error_csrf_title", cat.text("error_csrf_message"), viewer);
  std::string email = form_field(f, "email");
  if (auto r = accounts_.request_reset(email, req.remote_address); !r) {
    if (net::is_server_fault(r.error().code)) return pages_.failure_page(req, r.error(), ed);
    json page = {{"title", cat.text("reset_request_title")},
                 {"intro", cat.text("reset_request_intro")},
                 {"action", "/account/reset-request"},
                 {"submit", cat.text("reset_request_submit")},
                 {"email", email},
                 {"errors", json::array({error_text(r.error(), cat)})}};
    Response res = show(req, net::status_for(r.error().code), ed, cat.text("reset_request_title"),
                        "account_email_form", page, viewer);
    return with_retry_after(res, r.error());
  }
  std::string shown = domain::AccountService::normalise_email(email);
  return message(req, 200, ed, "reset_request_title",
                 cat.format("reset_request_done", {{"email", std::string_view(shown)}}), viewer);
}

Response AccountPages::reset_form(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, {}, viewer);
  std::string token = req.query_param("token").value_or("");
  const Catalog& cat = i18n_.catalog(ed);
  if (token.empty() || token.size() > 100)
    return message(req, 400, ed, "link_failed_title", cat.text("link_failed_message"), viewer);
  return show(req, 200, ed, cat.text("reset_title"), "account_reset", json{{"token", token}},
              viewer);
}

Response AccountPages::reset_submit(Request& req) {
  auto f = form_fields(req, kMaxFormBody);
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, form_field(f, "ed"), viewer);
  const Catalog& cat = i18n_.catalog(ed);
  if (!guard_.check(req, form_field(f, "csrf")))
    return message(req, 403, ed, "error_csrf_title", cat.text("error_csrf_message"), viewer);
  std::string token = form_field(f, "token");
  auto a = accounts_.reset_password(token, form_field(f, "password"));
  if (!a) {
    if (net::is_server_fault(a.error().code)) return pages_.failure_page(req, a.error(), ed);
    if (a.error().field == "token" || a.error().field.empty())
      return message(req, 400, ed, "link_failed_title", cat.text("link_failed_message"), viewer,
                     json::array({{{"href", "/account/reset-request?ed=" + ed},
                                   {"label", cat.text("reset_request_title")}}}));
    json page = {{"token", token}, {"errors", json::array({error_text(a.error(), cat)})}};
    return show(req, 400, ed, cat.text("reset_title"), "account_reset", page, viewer);
  }
  Response r = message(
      req, 200, ed, "reset_done_title", cat.text("reset_done_message"), Viewer{},
      json::array({{{"href", "/account/login?ed=" + ed}, {"label", cat.text("login_title")}}}));
  // Every session ended with the reset, this browser's too.
  if (viewer.had_cookie) r.header("Set-Cookie", guard_.clear_session_cookie());
  return r;
}

Response AccountPages::confirm_email(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, {}, viewer);
  const Catalog& cat = i18n_.catalog(ed);
  auto a = accounts_.confirm_email_change(req.query_param("token").value_or(""));
  if (!a && net::is_server_fault(a.error().code)) return pages_.failure_page(req, a.error(), ed);
  if (!a)
    return message(req, 400, ed, "link_failed_title", cat.text("link_failed_message"), viewer);
  return message(req, 200, ed, "email_confirmed_title",
                 cat.format("email_confirmed_message", {{"email", std::string_view(a->email)}}),
                 viewer);
}

// --- settings ----------------------------------------------------------------

Response AccountPages::settings(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, {}, viewer);
  if (!viewer.auth)
    return see_other("/account/login?ed=" + ed + "&next=" + net::url_encode("/account/settings"));
  const Catalog& cat = i18n_.catalog(ed);
  json page = settings_model(viewer.auth->account, cat, editions_);
  if (auto n = req.query_param("done"); n && (*n == "profile" || *n == "password"))
    page["notice"] = cat.text(*n == "profile" ? "settings_saved" : "settings_password_changed");
  return show(req, 200, ed, cat.text("settings_title"), "account_settings", page, viewer);
}

Response AccountPages::settings_submit(Request& req) {
  auto f = form_fields(req, kMaxFormBody);
  Viewer viewer = pages_.viewer_of(req);
  std::string ed = edition_for(req, form_field(f, "ed"), viewer);
  const Catalog& cat = i18n_.catalog(ed);
  if (!guard_.check(req, form_field(f, "csrf")))
    return message(req, 403, ed, "error_csrf_title", cat.text("error_csrf_message"), viewer);
  if (!viewer.auth) return see_other("/account/login?ed=" + ed);
  const auto& a = viewer.auth->account;
  std::string action(req.param("action"));
  auto failed = [&](const Error& e) {
    if (net::is_server_fault(e.code)) return pages_.failure_page(req, e, ed);
    json page = settings_model(a, cat, editions_);
    page["errors"] = json::array({error_text(e, cat)});
    Response res = show(req, net::status_for(e.code), ed, cat.text("settings_title"),
                        "account_settings", page, viewer);
    return with_retry_after(res, e);
  };
  if (action == "profile") {
    auto r =
        accounts_.update_profile(a.id, form_field(f, "display_name"), form_field(f, "edition"));
    if (!r) return failed(r.error());
    return see_other("/account/settings?ed=" + ed + "&done=profile");
  }
  if (action == "password") {
    auto r = accounts_.change_password(a.id, form_field(f, "current_password"),
                                       form_field(f, "new_password"), req.header("user-agent"));
    if (!r) return failed(r.error());
    Response res = see_other("/account/settings?ed=" + ed + "&done=password");
    res.header("Set-Cookie", guard_.session_cookie(r->session_secret, session_max_age_s_));
    return res;
  }
  if (action == "email") {
    std::string email = form_field(f, "email");
    auto r = accounts_.request_email_change(a.id, form_field(f, "password"), email);
    if (!r) return failed(r.error());
    std::string shown = domain::AccountService::normalise_email(email);
    return message(req, 200, ed, "settings_email",
                   cat.format("settings_email_sent", {{"email", std::string_view(shown)}}), viewer);
  }
  if (action == "delete") {
    auto r = accounts_.delete_account(a.id, form_field(f, "password"));
    if (!r) return failed(r.error());
    Response res =
        message(req, 200, ed, "deleted_title", cat.text("deleted_message"), Viewer{},
                json::array({{{"href", "/" + ed + "/"}, {"label", cat.text("back_home")}}}));
    res.header("Set-Cookie", guard_.clear_session_cookie());
    return res;
  }
  return pages_.error_page(req, 404);
}

}  // namespace depesche::web
