#include "api/tickers_api.hpp"

#include <charconv>
#include <set>

#include "api/api_errors.hpp"
#include "api/json_body.hpp"
#include "api/ticker_codec.hpp"

namespace depesche::api {

using net::Method;
using net::Request;
using net::Response;
using nlohmann::json;

void TickersApi::register_routes(net::Router& router) {
  auto add = [&](Method m, const char* path, net::Access access,
                 Response (TickersApi::*fn)(Request&)) {
    router.add({m}, path, access, [this, fn](Request& r) { return (this->*fn)(r); });
  };
  using net::Via;
  using net::Who;
  const net::Access anyone{Who::anyone, Via::nothing};
  const net::Access editor{Who::editor, Via::session_or_bearer};
  add(Method::get, "/api/v1/tickers", anyone, &TickersApi::list_tickers);
  add(Method::post, "/api/v1/tickers", editor, &TickersApi::create_live_blog);
  add(Method::patch, "/api/v1/tickers/{id}", editor, &TickersApi::patch_live_blog);
  add(Method::get, "/api/v1/tickers/{id}/entries", anyone, &TickersApi::list_entries);
  add(Method::post, "/api/v1/tickers/{id}/entries", editor, &TickersApi::post_entry);
  add(Method::get, "/api/v1/tickers/{id}/entries/{entry}", anyone, &TickersApi::get_entry);
  add(Method::get, "/api/v1/tickers/{id}/pinned", anyone, &TickersApi::list_pinned);
  add(Method::patch, "/api/v1/tickers/{id}/entries/{entry}", editor, &TickersApi::patch_entry);
  add(Method::del, "/api/v1/tickers/{id}/entries/{entry}", editor, &TickersApi::delete_entry);
}

Response TickersApi::list_tickers(Request& req) {
  auto edition = req.query_param("edition");
  if (!edition) return error_response(400, "invalid", "edition is required", "edition");
  if (!tickers_.exists(*edition) || tickers_.edition_of(*edition) != *edition)
    return error_response(400, "invalid", "unknown edition", "edition");
  auto blogs = tickers_.live_blogs(*edition);
  if (!blogs) return error_response(blogs.error());
  json items = json::array();
  items.push_back({{"id", *edition}, {"edition", *edition}, {"url", "/" + *edition + "/ticker"}});
  for (const auto& b : *blogs) items.push_back(live_blog_json(b));
  return json_response(200, json{{"items", items}, {"next_cursor", nullptr}}.dump());
}

Response TickersApi::create_live_blog(Request& req) {
  auto caller = callers_.require(req, domain::Role::editor, true);
  if (!caller) return error_response(caller.error());
  auto body = json_object_body(req);
  if (!body) return std::move(body.error());
  auto fields = string_fields(*body, {"slug", "edition", "title"}, {"teaser"});
  if (!fields) return error_response(fields.error());
  StringFields& f = *fields;
  auto b = tickers_.create_live_blog(f["slug"], f["edition"], f["title"], f["teaser"]);
  if (!b) return error_response(b.error());
  Response res = json_response(201, live_blog_json(*b).dump());
  res.header("Location", "/api/v1/tickers/" + b->slug + "/entries");
  return res;
}

Response TickersApi::patch_live_blog(Request& req) {
  auto caller = callers_.require(req, domain::Role::editor, true);
  if (!caller) return error_response(caller.error());
  auto body = json_object_body(req);
  if (!body) return std::move(body.error());
  json& j = *body;
  for (auto& [k, v] : j.items())
    if (k != "ended") return error_response(400, "invalid", "unknown field '" + k + "'", k);
  if (!j.contains("ended") || !j["ended"].is_boolean())
    return error_response(400, "invalid", "ended must be true or false", "ended");
  auto b = tickers_.set_live_blog_ended(req.param("id"), j["ended"].get<bool>());
  if (!b) return error_response(b.error());
  return json_response(200, live_blog_json(*b).dump());
}

Response TickersApi::list_entries(Request& req) {
  static const std::set<std::string> kParams = {"order", "cursor", "limit"};
  for (const auto& [k, v] : net::parse_query(req.query))
    if (!kParams.contains(k))
      return error_response(400, "invalid", "unknown parameter '" + k + "'", k);
  domain::EntryQuery q;
  q.ticker = std::string(req.param("id"));
  if (auto o = req.query_param("order")) {
    if (*o != "newest" && *o != "oldest")
      return error_response(400, "invalid", "order must be newest or oldest", "order");
    q.order = *o == "newest" ? domain::PageOrder::newest : domain::PageOrder::oldest;
  }
  if (auto c = req.query_param("cursor")) {
    q.after = domain::decode_cursor(*c);
    if (!q.after) return error_response(400, "invalid", "malformed cursor", "cursor");
  }
  if (auto l = req.query_param("limit")) {
    auto n = parse_id(*l);
    if (!n || *n > domain::max_entry_page)
      return error_response(400, "invalid", "limit must be between 1 and 100", "limit");
    q.limit = static_cast<int>(*n);
  }
  auto page = tickers_.entries(q);
  if (!page) return error_response(page.error());
  json items = json::array();
  for (const auto& e : page->items) items.push_back(entry_json(e));
  json out = {
      {"items", items},
      {"next_cursor", page->next ? json(domain::encode_cursor(*page->next)) : json(nullptr)}};
  return json_response(200, out.dump());
}

Response TickersApi::list_pinned(Request& req) {
  if (!req.query.empty()) return error_response(400, "invalid", "no parameters are accepted");
  auto pinned = tickers_.pinned(req.param("id"));
  if (!pinned) return error_response(pinned.error());
  json items = json::array();
  for (const auto& e : *pinned) items.push_back(entry_json(e));
  // The list shape of every list in the API; the pinned list is never paged.
  return json_response(200, json{{"items", items}, {"next_cursor", nullptr}}.dump());
}

Response TickersApi::post_entry(Request& req) {
  auto caller = callers_.require(req, domain::Role::editor, true);
  if (!caller) return error_response(caller.error());
  if (!is_json(req)) return unsupported_media_type();
  auto input = parse_entry_input(req.body);
  if (!input) return error_response(input.error());
  auto e = tickers_.post_entry(req.param("id"), *input);
  if (!e) return error_response(e.error());
  Response res = json_response(201, entry_json(*e).dump());
  res.header("Location", "/api/v1/tickers/" + e->ticker + "/entries/" + std::to_string(e->id));
  return res;
}

Response TickersApi::get_entry(Request& req) {
  auto id = parse_id(req.param("entry"));
  if (!id) return error_response(404, "not_found", "no such entry");
  auto e = tickers_.entry(req.param("id"), *id);
  if (!e) return error_response(e.error());
  return json_response(200, entry_json(*e).dump());
}

Response TickersApi::patch_entry(Request& req) {
  auto caller = callers_.require(req, domain::Role::editor, true);
  if (!caller) return error_response(caller.error());
  auto id = parse_id(req.param("entry"));
  if (!id) return error_response(404, "not_found", "no such entry");
  if (!is_json(req)) return unsupported_media_type();
  auto input = parse_entry_input(req.body);
  if (!input) return error_response(input.error());
  auto e = tickers_.edit_entry(req.param("id"), *id, *input);
  if (!e) return error_response(e.error());
  return json_response(200, entry_json(*e).dump());
}

Response TickersApi::delete_entry(Request& req) {
  auto caller = callers_.require(req, domain::Role::editor, true);
  if (!caller) return error_response(caller.error());
  auto id = parse_id(req.param("entry"));
  if (!id) return error_response(404, "not_found", "no such entry");
  if (auto r = tickers_.delete_entry(req.param("id"), *id); !r) return error_response(r.error());
  return json_response(204, "");
}

}  // namespace depesche::api
