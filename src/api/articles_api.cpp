#include "api/articles_api.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "api/api_errors.hpp"
#include "api/json_body.hpp"
#include "api/json_codec.hpp"

namespace depesche::api {

using net::Method;
using net::Request;
using net::Response;
using nlohmann::json;

Response api_not_found(const Request&) {
  return error_response(404, "not_found", "no such API endpoint");
}

void ArticlesApi::register_routes(net::Router& router) {
  // Bearer tokens only: an editor's session is not taken here (yet), so no
  // cookie can be made to write articles. Reads show drafts to editors' tokens.
  using net::Via;
  using net::Who;
  const net::Access reader{Who::anyone, Via::bearer}, editor{Who::editor, Via::bearer};
  router.add({Method::get}, "/api/v1/articles", reader, [this](Request& r) { return list(r); });
  router.add({Method::post}, "/api/v1/articles", editor, [this](Request& r) { return create(r); });
  router.add({Method::get}, "/api/v1/articles/{id}", reader, [this](Request& r) { return get(r); });
  router.add({Method::patch}, "/api/v1/articles/{id}", editor,
             [this](Request& r) { return patch(r); });
  router.add({Method::post}, "/api/v1/articles/{id}/publish", editor,
             [this](Request& r) { return publish(r); });
  router.add({Method::get}, "/api/v1/sections", {Who::anyone, Via::nothing},
             [this](Request& r) { return sections(r); });
  router.add({Method::post}, "/api/v1/sections", editor,
             [this](Request& r) { return create_section(r); });
}

Result<std::optional<domain::Role>> ArticlesApi::caller_role(const Request& req) {
  auto auth = req.header("authorization");
  if (auth.empty()) return std::optional<domain::Role>();
  if (!auth.starts_with("Bearer "))
    return fail(ErrorCode::unauthorized, "use Authorization: Bearer <token>");
  auto token = tokens_.authenticate(auth.substr(7));
  if (!token) return std::unexpected(token.error());
  return std::optional<domain::Role>(token->role);
}

Result<void> ArticlesApi::require_editor(const Request& req) {
  auto role = caller_role(req);
  if (!role) return std::unexpected(role.error());
  if (!*role) return fail(ErrorCode::unauthorized, "this needs an editor's bearer token");
  if (!domain::role_at_least(**role, domain::Role::editor))
    return fail(ErrorCode::forbidden, "this needs the editor role");
  return {};
}

Response ArticlesApi::article_response(int status, const domain::Article& a) {
  auto translations = articles_.translations(a);
  std::map<std::string, std::int64_t> ids;
  if (translations)
    for (const auto& [ed, t] : *translations) ids[ed] = t.id;
  std::vector<std::int64_t> related;
  if (auto rel = articles_.related(a, 5))
    for (const auto& r : *rel) related.push_back(r.id);
  return json_response(status, article_json(a, ids, related, true).dump());
}

Response ArticlesApi::list(Request& req) {
  auto role = caller_role(req);
  if (!role) return error_response(role.error());
  static const std::set<std::string> kParams = {"edition", "section", "cursor", "limit", "status"};
  for (const auto& [k, v] : net::parse_query(req.query))
    if (!kParams.contains(k))
      return error_response(400, "invalid", "unknown parameter '" + k + "'", k);
  domain::ArticleQuery q;
  auto edition = req.query_param("edition");
  if (!edition) return error_response(400, "invalid", "edition is required", "edition");
  q.edition = *edition;
  if (auto s = req.query_param("section")) {
    auto sec = articles_.section(q.edition, *s);
    if (!sec) return error_response(400, "invalid", "unknown section", "section");
    q.section_id = sec->id;
  }
  if (auto c = req.query_param("cursor")) {
    q.after = domain::decode_cursor(*c);
    if (!q.after) return error_response(400, "invalid", "malformed cursor", "cursor");
  }
  if (auto l = req.query_param("limit")) {
    auto n = parse_id(*l);
    if (!n || *n > 100)
      return error_response(400, "invalid", "limit must be between 1 and 100", "limit");
    q.limit = static_cast<int>(*n);
  }
  if (auto s = req.query_param("status")) {
    if (*s != "any" && *s != "published")
      return error_response(400, "invalid", "status must be published or any", "status");
    if (*s == "any") {
      if (!*role || !domain::role_at_least(**role, domain::Role::editor))
        return error_response(403, "forbidden", "drafts are visible to editors only", "status");
      q.include_drafts = true;
    }
  }
  auto page = articles_.list(q);
  if (!page) return error_response(page.error());
  json out;
  out["items"] = json::array();
  for (const auto& a : page->items) out["items"].push_back(article_json(a, {}, {}, false));
  out["next_cursor"] = page->next ? json(domain::encode_cursor(*page->next)) : json(nullptr);
  return json_response(200, out.dump());
}

Response ArticlesApi::get(Request& req) {
  auto id = parse_id(req.param("id"));
  if (!id) return error_response(404, "not_found", "no such article");
  auto role = caller_role(req);
  if (!role) return error_response(role.error());
  if (auto f = req.query_param("format"); f && *f != "json")
    return error_response(400, "invalid", "unsupported format '" + *f + "'", "format");
  bool editor = *role && domain::role_at_least(**role, domain::Role::editor);
  auto a = articles_.by_id(*id, editor);
  if (!a) return error_response(a.error());
  return article_response(200, *a);
}

Response ArticlesApi::create(Request& req) {
  if (auto ok = require_editor(req); !ok) return error_response(ok.error());
  if (!is_json(req)) return unsupported_media_type();
  std::optional<int> version;
  auto input = parse_article_input(req.body, true, version);
  if (!input) return error_response(input.error());
  if (version) return error_response(400, "invalid", "version is only for changes", "version");
  auto a = articles_.create(*input);
  if (!a) return error_response(a.error());
  auto res = article_response(201, *a);
  res.header("Location", "/api/v1/articles/" + std::to_string(a->id));
  return res;
}

Response ArticlesApi::patch(Request& req) {
  if (auto ok = require_editor(req); !ok) return error_response(ok.error());
  auto id = parse_id(req.param("id"));
  if (!id) return error_response(404, "not_found", "no such article");
  if (!is_json(req)) return unsupported_media_type();
  std::optional<int> version;
  auto input = parse_article_input(req.body, false, version);
  if (!input) return error_response(input.error());
  auto a = articles_.update(*id, *input, version);
  if (!a) return error_response(a.error());
  return article_response(200, *a);
}

Response ArticlesApi::publish(Request& req) {
  if (auto ok = require_editor(req); !ok) return error_response(ok.error());
  auto id = parse_id(req.param("id"));
  if (!id) return error_response(404, "not_found", "no such article");
  auto a = articles_.publish(*id);
  if (!a) return error_response(a.error());
  return article_response(200, *a);
}

Response ArticlesApi::sections(Request& req) {
  auto edition = req.query_param("edition");
  if (!edition) return error_response(400, "invalid", "edition is required", "edition");
  auto secs = articles_.sections(*edition);
  if (!secs)
    return error_response(secs.error().code == ErrorCode::not_found
                              ? Error{ErrorCode::invalid, "unknown edition", "edition"}
                              : secs.error());
  json out;
  out["items"] = json::array();
  for (const auto& s : *secs)
    out["items"].push_back({{"id", s.id},
                            {"edition", s.edition},
                            {"slug", s.slug},
                            {"name", s.name},
                            {"position", s.position}});
  out["next_cursor"] = nullptr;
  return json_response(200, out.dump());
}

Response ArticlesApi::create_section(Request& req) {
  if (auto ok = require_editor(req); !ok) return error_response(ok.error());
  auto body = json_object_body(req);
  if (!body) return std::move(body.error());
  json& j = *body;
  for (auto& [k, v] : j.items())
    if (k != "edition" && k != "slug" && k != "name" && k != "position")
      return error_response(400, "invalid", "unknown field '" + k + "'", k);
  if (!j.contains("edition") || !j["edition"].is_string() || !j.contains("slug") ||
      !j["slug"].is_string() || !j.contains("name") || !j["name"].is_string())
    return error_response(400, "invalid", "edition, slug and name are required strings");
  int position = 0;
  if (j.contains("position")) {
    if (!j["position"].is_number_integer())
      return error_response(400, "invalid", "position must be an integer", "position");
    position = j["position"].get<int>();
  }
  auto s = articles_.create_section(j["edition"], j["slug"], j["name"], position);
  if (!s) return error_response(s.error());
  return json_response(201, json{{"id", s->id},
                                 {"edition", s->edition},
                                 {"slug", s->slug},
                                 {"name", s->name},
                                 {"position", s->position}}
                                .dump());
}

}  // namespace depesche::api
