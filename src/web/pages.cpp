#include "web/pages.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/log.hpp"
#include "web/security_headers.hpp"

namespace depesche::web {

using net::Method;
using net::Request;
using net::Response;

namespace {
constexpr const char* kPageCacheControl = "public, max-age=30";
constexpr int kHomeTopStories = 4;
constexpr int kHomeLatest = 12;
constexpr int kSectionPageSize = 12;
constexpr int kRelatedCount = 3;
constexpr int kTickerPreview = 5;

// About 200 words a minute, never less than one minute.
std::int64_t reading_minutes(std::string_view body) {
  std::int64_t words = 0;
  bool in_word = false;
  for (char c : body) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return std::max<std::int64_t>(1, (words + 199) / 200);
}

Response redirect(int status, std::string location) {
  Response r(status, "text/plain; charset=utf-8", "");
  r.header("Location", std::move(location));
  return r;
}

}  // namespace

void Pages::register_routes(net::Router& router) {
  auto fast_cached = [this](Request& req) { return cached(req); };
  router.add({Method::get}, "/", nullptr, [this](Request& req) -> std::optional<Response> {
    Response r = redirect(302, "/" + d_.editions.preferred(req.header("accept-language")) + "/");
    r.header("Vary", "Accept-Language");
    r.header("Cache-Control", "private, max-age=0");
    return r;
  });
  router.add({Method::get}, "/robots.txt", nullptr, [this](Request&) -> std::optional<Response> {
    return Response(200, "text/plain; charset=utf-8",
                    "User-agent: *\nDisallow: /api/\nDisallow: /account/\nDisallow: /admin/\n");
  });
  router.add(
      {Method::get}, "/static/{*path}", [this](Request& req) { return error_page(req, 404); },
      [this](Request& req) { return d_.static_files.serve(req, req.param("path")); });
  router.add({Method::get}, "/media/{file}", [this](Request& req) { return media(req); });
  router.add({Method::get}, "/{ed}", [this](Request& req) {
    if (!d_.editions.contains(req.param("ed"))) return error_page(req, 404);
    return redirect(301, "/" + std::string(req.param("ed")) + "/");
  });
  router.add(
      {Method::get}, "/{ed}/", [this](Request& req) { return home(req); }, fast_cached);
  router.add(
      {Method::get}, "/{ed}/{section}/", [this](Request& req) { return section(req); },
      fast_cached);
  router.add({Method::get}, "/{ed}/{section}",
             [this](Request& req) { return section_without_slash(req); });
  router.add(
      {Method::get}, "/{ed}/articles/{slug}", [this](Request& req) { return article(req); },
      fast_cached);
}

std::optional<Response> Pages::cached(Request& req) {
  // Logged-in readers see their own header; their pages are never shared.
  if (d_.guard.session_secret(req)) return std::nullopt;
  return d_.cache.lookup(req);
}

Viewer Pages::viewer_of(const Request& req) {
  auto secret = d_.guard.session_secret(req);
  if (!secret) return {};
  Viewer v;
  v.had_cookie = true;
  if (auto auth = d_.accounts.authenticate(*secret)) v.auth = std::move(*auth);
  return v;
}

Response Pages::render_page(const Request& req, int status, const std::string& template_name,
                            nlohmann::json layout, const nlohmann::json& page, bool cache,
                            const Viewer& viewer) {
  std::uint64_t generation = d_.articles.content_generation();
  Response r(status, "text/html; charset=utf-8", "");
  if (viewer.auth) {
    layout["logged_in"] = true;
    // One token per response: a page with its own forms brings it along.
    layout["csrf"] =
        page.contains("csrf") ? page["csrf"].get<std::string>() : d_.guard.csrf_token(req, r);
  } else if (viewer.had_cookie) {
    // A stale session cookie would keep this browser off the page cache.
    r.header("Set-Cookie", d_.guard.clear_session_cookie());
  }
  nlohmann::json model = page;
  model["t"] = layout["t"];
  model["edition"] = layout["edition"];
  layout["content_html"] = d_.templates.render(template_name, model);
  std::string html = d_.templates.render("layout", layout);
  if (cache && req.query.empty() && !viewer.had_cookie) {
    return d_.cache.store(req, generation, status, "text/html; charset=utf-8", std::move(html),
                          kPageCacheControl);
  }
  r.body = std::move(html);
  r.header("Cache-Control", viewer.had_cookie ? "private, no-store"
                            : status == 200   ? kPageCacheControl
                                              : "no-store");
  add_security_headers(r);
  return r;
}

Response Pages::home(Request& req) {
  std::string ed(req.param("ed"));
  if (!d_.editions.contains(ed)) return error_page(req, 404);
  const Catalog& cat = d_.i18n.catalog(ed);
  auto sections = d_.articles.sections(ed);
  auto top = d_.articles.list({.edition = ed, .top = true, .limit = kHomeTopStories});
  auto latest = d_.articles.list({.edition = ed, .limit = kHomeLatest + kHomeTopStories});
  if (!sections || !top || !latest) throw std::runtime_error("store read failed on home page");
  nlohmann::json page;
  page["top"] = nlohmann::json::array();
  std::vector<std::int64_t> shown;
  for (const auto& a : top->items) {
    page["top"].push_back(teaser_model(a, cat));
    shown.push_back(a.id);
  }
  page["latest"] = nlohmann::json::array();
  int n = 0;
  for (const auto& a : latest->items) {
    if (std::find(shown.begin(), shown.end(), a.id) != shown.end() || n >= kHomeLatest) continue;
    page["latest"].push_back(teaser_model(a, cat));
    ++n;
  }
  page["has_top"] = !page["top"].empty();
  page["has_latest"] = !page["latest"].empty();
  page["empty"] = page["top"].empty() && page["latest"].empty();
  auto layout = layout_model(d_.site, cat, d_.editions, "", *sections, "", {});
  layout["description"] = cat.text("home_description");
  layout["canonical"] = d_.site.public_url + "/" + ed + "/";
  for (const auto& code : d_.editions.codes())
    layout["alternates"].push_back(
        {{"hreflang", code}, {"href", d_.site.public_url + "/" + code + "/"}});
  return render_page(req, 200, "home", std::move(layout), page, true, viewer_of(req));
}

Response Pages::section(Request& req) {
  std::string ed(req.param("ed"));
  if (!d_.editions.contains(ed)) return error_page(req, 404);
  auto sec = d_.articles.section(ed, req.param("section"));
  if (!sec) return error_page(req, sec.error().code == ErrorCode::not_found ? 404 : 500);
  const Catalog& cat = d_.i18n.catalog(ed);
  domain::ArticleQuery q{.edition = ed, .section_id = sec->id, .limit = kSectionPageSize};
  if (auto c = req.query_param("cursor")) {
    q.after = domain::decode_cursor(*c);
    if (!q.after) return error_page(req, 400);
  }
  auto page_items = d_.articles.list(q);
  auto sections = d_.articles.sections(ed);
  if (!page_items || !sections) throw std::runtime_error("store read failed on section page");
  nlohmann::json page;
  page["name"] = sec->name;
  page["items"] = nlohmann::json::array();
  for (const auto& a : page_items->items) page["items"].push_back(teaser_model(a, cat));
  page["empty"] = page_items->items.empty();
  if (page_items->next)
    page["next_href"] =
        section_path(ed, sec->slug) + "?cursor=" + domain::encode_cursor(*page_items->next);
  else
    page["next_href"] = false;
  auto layout = layout_model(d_.site, cat, d_.editions, sec->name, *sections, sec->slug, {});
  layout["description"] =
      cat.format("section_description", {{"section", std::string_view(sec->name)}});
  layout["canonical"] = d_.site.public_url + section_path(ed, sec->slug);
  return render_page(req, 200, "section", std::move(layout), page, true, viewer_of(req));
}

Response Pages::section_without_slash(Request& req) {
  std::string ed(req.param("ed"));
  if (!d_.editions.contains(ed)) return error_page(req, 404);
  auto sec = d_.articles.section(ed, req.param("section"));
  if (!sec) return error_page(req, 404);
  return redirect(301, section_path(ed, sec->slug));
}

Response Pages::article(Request& req) {
  std::string ed(req.param("ed"));
  auto a = d_.articles.published(ed, req.param("slug"));
  if (!a) return error_page(req, a.error().code == ErrorCode::not_found ? 404 : 500);
  const Catalog& cat = d_.i18n.catalog(ed);
  auto sections = d_.articles.sections(ed);
  auto related = d_.articles.related(*a, kRelatedCount);
  auto translations = d_.articles.translations(*a);
  auto latest = d_.articles.list({.edition = ed, .limit = kTickerPreview + 1});
  if (!sections || !related || !translations || !latest)
    throw std::runtime_error("store read failed on article page");

  Viewer viewer = viewer_of(req);
  nlohmann::json page;
  page["discussion_anonymous"] = !viewer.auth;
  page["discussion_unconfirmed"] =
      viewer.auth && !domain::AccountService::may_post(viewer.auth->account);
  page["discussion_open"] = viewer.auth && domain::AccountService::may_post(viewer.auth->account);
  page["next_path"] = net::url_encode(article_path(*a));
  page["headline"] = a->headline;
  page["teaser"] = a->teaser;
  page["section_name"] = a->section_name;
  page["section_href"] = section_path(ed, a->section_slug);
  page["body_html"] = a->body_html;
  Millis published = a->published_at.value_or(a->created_at);
  page["published_iso"] = format_rfc3339(published);
  page["published_text"] = cat.format_datetime(published);
  // Only mention an update when it is a real one, not the publishing itself.
  if (a->updated_at > published + 60'000)
    page["updated_text"] = cat.format(
        "article_updated", {{"time", std::string_view(cat.format_datetime(a->updated_at))}});
  else
    page["updated_text"] = false;
  page["author_text"] =
      a->author.empty() ? std::string()
                        : cat.format("article_byline", {{"author", std::string_view(a->author)}});
  page["has_author"] = !a->author.empty();
  page["reading_time_text"] =
      cat.format("article_reading_time", {{"minutes", reading_minutes(a->body)}});
  if (a->image)
    page["image"] = {{"url", a->image->url},       {"caption", a->image->caption},
                     {"credit", a->image->credit}, {"has_credit", !a->image->credit.empty()},
                     {"width", a->image->width},   {"height", a->image->height}};
  else
    page["image"] = false;
  page["tags"] = a->tags;
  page["has_tags"] = !a->tags.empty();
  page["related"] = nlohmann::json::array();
  for (const auto& r : *related) page["related"].push_back(teaser_model(r, cat));
  page["has_related"] = !related->empty();
  page["latest"] = nlohmann::json::array();
  for (const auto& l : latest->items)
    if (l.id != a->id && page["latest"].size() < kTickerPreview)
      page["latest"].push_back(teaser_model(l, cat));

  std::map<std::string, std::string> links;
  for (const auto& [edition, t] : *translations) links[edition] = article_path(t);
  auto layout =
      layout_model(d_.site, cat, d_.editions, a->headline, *sections, a->section_slug, links);
  layout["description"] = a->teaser;
  layout["canonical"] = d_.site.public_url + article_path(*a);
  for (const auto& [edition, t] : *translations)
    layout["alternates"].push_back(
        {{"hreflang", edition}, {"href", d_.site.public_url + article_path(t)}});
  layout["json_ld"] = news_article_json_ld(d_.site, *a);
  layout["og"] = {{"type", "article"},
                  {"title", a->headline},
                  {"description", a->teaser},
                  {"url", d_.site.public_url + article_path(*a)},
                  {"locale", cat.text("og_locale")},
                  {"published_time", page["published_iso"]},
                  {"image", a->image ? (a->image->url.starts_with("https://")
                                            ? a->image->url
                                            : d_.site.public_url + a->image->url)
                                     : ""},
                  {"has_image", a->image.has_value()}};
  return render_page(req, 200, "article", std::move(layout), page, true, viewer);
}

Response Pages::media(Request& req) {
  std::string name(req.param("file"));
  if (!is_safe_file_name(name)) return error_page(req, 404);
  namespace fs = std::filesystem;
  fs::path path = fs::path(d_.media_dir) / name;
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec || !fs::is_regular_file(path, ec)) return error_page(req, 404);
  auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  std::string etag = "\"" + std::to_string(size) + "-" + std::to_string(mtime) + "\"";
  Response r;
  r.header("Cache-Control", "public, max-age=86400");
  r.header("ETag", etag);
  r.header("X-Content-Type-Options", "nosniff");
  if (etag_matches(req.header("if-none-match"), etag)) {
    r.status = 304;
    return r;
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  r.header("Content-Type", content_type_for(name));
  // SVG can carry script; served as an image it cannot run, and this makes sure.
  r.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox");
  r.body = ss.str();
  return r;
}

Response Pages::private_page(const Request& req, int status, const std::string& edition,
                             const std::string& title, const std::string& template_name,
                             nlohmann::json page, const Viewer& viewer) {
  const Catalog& cat = d_.i18n.catalog(edition);
  std::vector<domain::Section> sections;
  if (auto s = d_.articles.sections(edition)) sections = std::move(*s);
  auto layout = layout_model(d_.site, cat, d_.editions, title, sections, "", {});
  layout["description"] = title;
  layout["robots_noindex"] = true;
  Response r = render_page(req, status, template_name, std::move(layout), page, false, viewer);
  r.headers.erase(std::remove_if(r.headers.begin(), r.headers.end(),
                                 [](const auto& h) { return h.first == "Cache-Control"; }),
                  r.headers.end());
  r.header("Cache-Control", "private, no-store");
  return r;
}

Response Pages::error_page(const Request& req, int status) {
  std::string ed;
  std::string_view path = req.path;
  if (path.size() > 1) {
    auto seg = path.substr(1, path.find('/', 1) == std::string_view::npos ? std::string_view::npos
                                                                          : path.find('/', 1) - 1);
    if (d_.editions.contains(seg)) ed = std::string(seg);
  }
  if (ed.empty()) ed = d_.editions.preferred(req.header("accept-language"));
  const Catalog& cat = d_.i18n.catalog(ed);
  std::string key = status == 404   ? "error_404"
                    : status == 400 ? "error_400"
                    : status == 403 ? "error_403"
                    : status == 429 ? "error_429"
                                    : "error_500";
  nlohmann::json page;
  page["title"] = cat.text(key + "_title");
  page["message"] = cat.text(key + "_message");
  page["home_href"] = "/" + ed + "/";
  std::vector<domain::Section> sections;
  if (auto s = d_.articles.sections(ed)) sections = std::move(*s);
  auto layout =
      layout_model(d_.site, cat, d_.editions, page["title"].get<std::string>(), sections, "", {});
  layout["description"] = page["message"];
  layout["robots_noindex"] = true;
  return render_page(req, status, "error", std::move(layout), page, false, viewer_of(req));
}

}  // namespace depesche::web
