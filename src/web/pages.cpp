#include "web/pages.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/log.hpp"
#include "net/error_status.hpp"
#include "text/html.hpp"
#include "web/security_headers.hpp"

namespace depesche::web {

using net::Method;
using net::Request;
using net::Response;

namespace {
// Browsers and proxies may keep a page but must ask again before using it
// (a cheap 304 while nothing changed): a page kept without asking would show
// a reader who just logged in the logged-out header, and a correction late.
constexpr const char* kPageCacheControl = "public, no-cache";
constexpr int kHomeTopStories = 4;
constexpr int kHomeLatest = 12;
constexpr int kSectionPageSize = 12;
constexpr int kRelatedCount = 3;
constexpr int kTickerPreview = 5;
constexpr int kTickerPageSize = 20;

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
  // What these pages show does not depend on who reads them; a signed-in
  // reader only gets a personal header.
  const net::Access anyone{net::Who::anyone, net::Via::nothing};
  router.add({Method::get}, "/", anyone, nullptr, [this](Request& req) -> std::optional<Response> {
    Response r = redirect(302, "/" + d_.editions.preferred(req.header("accept-language")) + "/");
    r.header("Vary", "Accept-Language");
    r.header("Cache-Control", "private, max-age=0");
    return r;
  });
  router.add(
      {Method::get}, "/robots.txt", anyone, nullptr, [this](Request&) -> std::optional<Response> {
        return Response(200, "text/plain; charset=utf-8",
                        "User-agent: *\nDisallow: /api/\nDisallow: /account/\nDisallow: /admin/\n");
      });
  router.add(
      {Method::get}, "/static/{*path}", anyone,
      [this](Request& req) { return error_page(req, 404); },
      [this](Request& req) { return d_.static_files.serve(req, req.param("path")); });
  router.add({Method::get}, "/media/{file}", anyone, [this](Request& req) { return media(req); });
  router.add({Method::get}, "/{ed}", anyone, [this](Request& req) {
    if (!d_.editions.contains(req.param("ed"))) return error_page(req, 404);
    return redirect(301, "/" + std::string(req.param("ed")) + "/");
  });
  router.add(
      {Method::get}, "/{ed}/", anyone, [this](Request& req) { return home(req); }, fast_cached);
  router.add(
      {Method::get}, "/{ed}/{section}/", anyone, [this](Request& req) { return section(req); },
      fast_cached);
  router.add({Method::get}, "/{ed}/{section}", anyone,
             [this](Request& req) { return section_without_slash(req); });
  router.add(
      {Method::get}, "/{ed}/ticker", anyone, [this](Request& req) { return ticker_page(req); },
      fast_cached);
  router.add(
      {Method::get}, "/{ed}/live/{slug}", anyone,
      [this](Request& req) { return live_blog_page(req); }, fast_cached);
  router.add(
      {Method::get}, "/{ed}/articles/{slug}", anyone, [this](Request& req) { return article(req); },
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
                            nlohmann::json layout, const nlohmann::json& page,
                            std::optional<std::uint64_t> cache_generation, const Viewer& viewer) {
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
  if (cache_generation && req.query.empty() && !viewer.had_cookie) {
    return d_.cache.store(req, *cache_generation, status, "text/html; charset=utf-8",
                          std::move(html), kPageCacheControl);
  }
  r.body = std::move(html);
  r.header("Cache-Control", viewer.had_cookie ? "private, no-store"
                            : status == 200   ? kPageCacheControl
                                              : "no-store");
  add_security_headers(r);
  return r;
}

Response Pages::home(Request& req) {
  // Before anything is read: a page built from older data must not be
  // cached as current if a write lands while it is rendered.
  std::uint64_t generation = d_.articles.content_generation();
  std::string ed(req.param("ed"));
  if (!d_.editions.contains(ed)) return error_page(req, 404);
  const Catalog& cat = d_.i18n.catalog(ed);
  auto sections = d_.articles.sections(ed);
  auto top = d_.articles.list({.edition = ed, .top = true, .limit = kHomeTopStories});
  auto latest = d_.articles.list({.edition = ed, .limit = kHomeLatest + kHomeTopStories});
  if (auto e = first_error(sections, top, latest)) return failure_page(req, *e);
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
  auto ticker = ticker_model(ed, cat, ed, cat.text("ticker_heading"), domain::PageOrder::newest,
                             std::nullopt, kTickerPreview, "/" + ed + "/ticker", false);
  if (!ticker) return failure_page(req, ticker.error());
  page["ticker"] = std::move(*ticker);
  auto layout = layout_model(d_.site, cat, d_.editions, "", *sections, "", {});
  layout["description"] = cat.text("home_description");
  layout["live_script"] = true;
  layout["canonical"] = d_.site.public_url + "/" + ed + "/";
  for (const auto& code : d_.editions.codes())
    layout["alternates"].push_back(
        {{"hreflang", code}, {"href", d_.site.public_url + "/" + code + "/"}});
  return render_page(req, 200, "home", std::move(layout), page, generation, viewer_of(req));
}

Response Pages::section(Request& req) {
  // Before anything is read: a page built from older data must not be
  // cached as current if a write lands while it is rendered.
  std::uint64_t generation = d_.articles.content_generation();
  std::string ed(req.param("ed"));
  if (!d_.editions.contains(ed)) return error_page(req, 404);
  auto sec = d_.articles.section(ed, req.param("section"));
  if (!sec)
    return sec.error().code == ErrorCode::not_found ? error_page(req, 404)
                                                    : failure_page(req, sec.error());
  const Catalog& cat = d_.i18n.catalog(ed);
  domain::ArticleQuery q{.edition = ed, .section_id = sec->id, .limit = kSectionPageSize};
  if (auto c = req.query_param("cursor")) {
    q.after = domain::decode_cursor(*c);
    if (!q.after) return error_page(req, 400);
  }
  auto page_items = d_.articles.list(q);
  auto sections = d_.articles.sections(ed);
  if (auto e = first_error(page_items, sections)) return failure_page(req, *e);
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
  return render_page(req, 200, "section", std::move(layout), page, generation, viewer_of(req));
}

Response Pages::section_without_slash(Request& req) {
  std::string ed(req.param("ed"));
  if (!d_.editions.contains(ed)) return error_page(req, 404);
  auto sec = d_.articles.section(ed, req.param("section"));
  if (!sec) return error_page(req, 404);
  return redirect(301, section_path(ed, sec->slug));
}

Response Pages::article(Request& req) {
  // Before anything is read: a page built from older data must not be
  // cached as current if a write lands while it is rendered.
  std::uint64_t generation = d_.articles.content_generation();
  std::string ed(req.param("ed"));
  auto a = d_.articles.published(ed, req.param("slug"));
  if (!a)
    return a.error().code == ErrorCode::not_found ? error_page(req, 404)
                                                  : failure_page(req, a.error());
  const Catalog& cat = d_.i18n.catalog(ed);
  auto sections = d_.articles.sections(ed);
  auto related = d_.articles.related(*a, kRelatedCount);
  auto translations = d_.articles.translations(*a);
  if (auto e = first_error(sections, related, translations)) return failure_page(req, *e);

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
  auto ticker = ticker_model(ed, cat, ed, cat.text("ticker_heading"), domain::PageOrder::newest,
                             std::nullopt, kTickerPreview, "/" + ed + "/ticker", false);
  if (!ticker) return failure_page(req, ticker.error());
  page["ticker"] = std::move(*ticker);

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
  layout["live_script"] = true;
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
  return render_page(req, 200, "article", std::move(layout), page, generation, viewer);
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

namespace {
// One entry as the ticker_entry partial renders it; `anchor` prefixes the
// element id (an entry can be on the page twice: pinned and in the stream).
nlohmann::json ticker_entry_model(const domain::TickerEntry& e, const Catalog& cat,
                                  std::string_view anchor) {
  nlohmann::json j = {{"id", e.id},
                      {"anchor", std::string(anchor) + std::to_string(e.id)},
                      {"title", e.title.empty() ? nlohmann::json(false) : nlohmann::json(e.title)},
                      {"body_html", e.body_html},
                      {"breaking", e.breaking},
                      {"pinned", e.pinned},
                      {"created_iso", format_rfc3339(e.created_at)},
                      {"created_text", cat.format_datetime(e.created_at)},
                      {"article_path", e.article_path.empty() ? nlohmann::json(false)
                                                              : nlohmann::json(e.article_path)},
                      {"image", false}};
  if (e.image)
    j["image"] = {{"url", e.image->url},
                  {"caption", e.image->caption},
                  {"credit", e.image->credit},
                  {"width", e.image->width},
                  {"height", e.image->height},
                  // 0 means unknown (the console stores no size): no attribute then,
                  // or the browser would draw the image zero pixels wide.
                  {"has_width", e.image->width > 0},
                  {"has_height", e.image->height > 0}};
  return j;
}
}  // namespace

Result<nlohmann::json> Pages::ticker_model(const std::string& ed, const Catalog& cat,
                                           const std::string& ticker, const std::string& heading,
                                           domain::PageOrder order,
                                           std::optional<domain::Cursor> cursor, int limit,
                                           const std::string& page_href, bool on_own_page) {
  // The seq first, then the entries: anything published in between is in
  // both, and the script drops what it already shows; the other way round
  // an entry could fall between them.
  std::uint64_t seq = d_.live_seq("ticker:" + ticker);
  auto entries = d_.tickers.entries({ticker, order, cursor, limit});
  if (!entries) return std::unexpected(entries.error());
  bool newest = order == domain::PageOrder::newest;
  nlohmann::json m;
  m["id"] = ticker;
  m["seq"] = seq;
  m["order"] = newest ? "newest" : "oldest";
  m["newest"] = newest;
  m["limit"] = limit;
  m["time_zone"] = d_.time_zone;
  m["heading"] = heading;
  m["newest_href"] = page_href;
  m["oldest_href"] = page_href + "?order=oldest";
  m["all_href"] = on_own_page ? nlohmann::json(false) : nlohmann::json(page_href);
  m["entries"] = nlohmann::json::array();
  for (const auto& e : entries->items) m["entries"].push_back(ticker_entry_model(e, cat, "entry-"));
  // Pinned entries stand above the first page, in either order; the stream
  // keeps them in their place too, so the anchors differ.
  m["pinned_entries"] = nlohmann::json::array();
  if (!cursor) {
    auto pinned = d_.tickers.pinned(ticker);
    if (!pinned) return std::unexpected(pinned.error());
    for (const auto& e : *pinned)
      m["pinned_entries"].push_back(ticker_entry_model(e, cat, "pinned-"));
  }
  m["has_pinned"] = !m["pinned_entries"].empty();
  m["empty"] = entries->items.empty() && !cursor;
  m["first_page"] = cursor ? "false" : "true";
  if (entries->next) {
    std::string c = domain::encode_cursor(*entries->next);
    m["more_href"] = page_href + "?order=" + m["order"].get<std::string>() + "&cursor=" + c;
    m["more_cursor"] = c;
  } else {
    m["more_href"] = false;
    m["more_cursor"] = "";
  }
  (void)ed;
  return m;
}

namespace {
// ?order= and ?cursor= of a ticker page; nullopt for a malformed query.
std::optional<std::pair<domain::PageOrder, std::optional<domain::Cursor>>> ticker_query(
    const Request& req) {
  domain::PageOrder order = domain::PageOrder::newest;
  std::optional<domain::Cursor> cursor;
  for (const auto& [k, v] : net::parse_query(req.query)) {
    if (k == "order") {
      if (v != "newest" && v != "oldest") return std::nullopt;
      order = v == "newest" ? domain::PageOrder::newest : domain::PageOrder::oldest;
    } else if (k == "cursor") {
      cursor = domain::decode_cursor(v);
      if (!cursor) return std::nullopt;
    }
    // Other keys (utm_source, fbclid, ... on shared links) are ignored,
    // as on every other page.
  }
  return std::make_pair(order, cursor);
}

nlohmann::json live_blog_json_ld(const SiteInfo& site, const std::string& url,
                                 const std::string& headline, const std::string& description,
                                 const std::string& edition, Millis start,
                                 std::optional<Millis> end, const nlohmann::json& entries) {
  nlohmann::json updates = nlohmann::json::array();
  for (const auto& e : entries)
    updates.push_back(
        {{"@type", "BlogPosting"},
         {"headline", e["title"].is_string() ? e["title"].get<std::string>() : headline},
         {"datePublished", e["created_iso"]},
         {"url", url + "#entry-" + std::to_string(e["id"].get<std::int64_t>())}});
  nlohmann::json j = {{"@context", "https://schema.org"},
                      {"@type", "LiveBlogPosting"},
                      {"headline", headline},
                      {"description", description},
                      {"url", url},
                      {"inLanguage", edition},
                      {"publisher", {{"@type", "Organization"}, {"name", site.name}}},
                      {"liveBlogUpdate", updates}};
  if (start > 0) j["coverageStartTime"] = format_rfc3339(start);
  if (end) j["coverageEndTime"] = format_rfc3339(*end);
  return j;
}
}  // namespace

Response Pages::ticker_page(Request& req) {
  // Before anything is read: a page built from older data must not be
  // cached as current if a write lands while it is rendered.
  std::uint64_t generation = d_.articles.content_generation();
  std::string ed(req.param("ed"));
  if (!d_.editions.contains(ed)) return error_page(req, 404);
  auto query = ticker_query(req);
  if (!query) return error_page(req, 400);
  const Catalog& cat = d_.i18n.catalog(ed);
  auto sections = d_.articles.sections(ed);
  auto blogs = d_.tickers.live_blogs(ed);
  if (auto e = first_error(sections, blogs)) return failure_page(req, *e);
  std::string href = "/" + ed + "/ticker";
  nlohmann::json page;
  page["heading"] = cat.text("ticker_heading");
  page["teaser"] = cat.text("ticker_page_description");
  page["ended"] = false;
  auto ticker = ticker_model(ed, cat, ed, cat.text("ticker_heading"), query->first, query->second,
                             kTickerPageSize, href, true);
  if (!ticker) return failure_page(req, ticker.error());
  page["ticker"] = std::move(*ticker);
  page["live_blogs"] = nlohmann::json::array();
  for (const auto& b : *blogs)
    if (!b.ended_at)
      page["live_blogs"].push_back({{"title", b.title}, {"href", "/" + ed + "/live/" + b.slug}});
  page["has_live_blogs"] = !page["live_blogs"].empty();
  auto layout =
      layout_model(d_.site, cat, d_.editions, cat.text("ticker_heading"), *sections, "", {});
  layout["description"] = cat.text("ticker_page_description");
  layout["canonical"] = d_.site.public_url + href;
  layout["live_script"] = true;
  layout["json_ld"] = text::json_for_script(
      live_blog_json_ld(d_.site, d_.site.public_url + href, cat.text("ticker_heading"),
                        cat.text("ticker_page_description"), ed, 0, std::nullopt,
                        page["ticker"]["entries"])
          .dump());
  return render_page(req, 200, "ticker_page", std::move(layout), page, generation, viewer_of(req));
}

Response Pages::live_blog_page(Request& req) {
  // Before anything is read: a page built from older data must not be
  // cached as current if a write lands while it is rendered.
  std::uint64_t generation = d_.articles.content_generation();
  std::string ed(req.param("ed"));
  if (!d_.editions.contains(ed)) return error_page(req, 404);
  auto blog = d_.tickers.live_blog(req.param("slug"));
  if (!blog && blog.error().code != ErrorCode::not_found) return failure_page(req, blog.error());
  if (!blog || blog->edition != ed) return error_page(req, 404);
  auto query = ticker_query(req);
  if (!query) return error_page(req, 400);
  const Catalog& cat = d_.i18n.catalog(ed);
  auto sections = d_.articles.sections(ed);
  if (!sections) return failure_page(req, sections.error());
  std::string href = "/" + ed + "/live/" + blog->slug;
  nlohmann::json page;
  page["heading"] = blog->title;
  page["teaser"] = blog->teaser;
  page["ended"] = blog->ended_at.has_value();
  auto ticker = ticker_model(ed, cat, blog->slug, cat.text("live_blog_label"), query->first,
                             query->second, kTickerPageSize, href, true);
  if (!ticker) return failure_page(req, ticker.error());
  page["ticker"] = std::move(*ticker);
  page["has_live_blogs"] = false;
  auto layout = layout_model(d_.site, cat, d_.editions, blog->title, *sections, "", {});
  layout["description"] = blog->teaser.empty() ? blog->title : blog->teaser;
  layout["canonical"] = d_.site.public_url + href;
  layout["live_script"] = !blog->ended_at;
  layout["json_ld"] = text::json_for_script(
      live_blog_json_ld(d_.site, d_.site.public_url + href, blog->title, blog->teaser, ed,
                        blog->created_at, blog->ended_at, page["ticker"]["entries"])
          .dump());
  return render_page(req, 200, "ticker_page", std::move(layout), page, generation, viewer_of(req));
}

Response Pages::private_page(const Request& req, int status, const std::string& edition,
                             const std::string& title, const std::string& template_name,
                             const nlohmann::json& page, const Viewer& viewer) {
  const Catalog& cat = d_.i18n.catalog(edition);
  std::vector<domain::Section> sections;
  if (auto s = d_.articles.sections(edition)) sections = std::move(*s);
  auto layout = layout_model(d_.site, cat, d_.editions, title, sections, "", {});
  layout["description"] = title;
  layout["robots_noindex"] = true;
  Response r =
      render_page(req, status, template_name, std::move(layout), page, std::nullopt, viewer);
  r.headers.erase(std::remove_if(r.headers.begin(), r.headers.end(),
                                 [](const auto& h) { return h.first == "Cache-Control"; }),
                  r.headers.end());
  r.header("Cache-Control", "private, no-store");
  return r;
}

Response Pages::failure_page(const Request& req, const Error& error, std::string_view edition) {
  log::error("page failed", {{"request_id", req.request_id},
                             {"path", req.path},
                             {"code", to_string(error.code)},
                             {"error", error.message}});
  int status = net::status_for(error.code);
  Response r = error_page(req, status >= 500 ? status : 500, true, edition);
  if (r.status == 503) r.header("Retry-After", "1");
  return r;
}

Response Pages::error_page(const Request& req, int status, bool with_reference,
                           std::string_view edition) {
  std::string ed = d_.editions.contains(edition) ? std::string(edition) : std::string();
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
                    : status == 503 ? "error_503"
                                    : "error_500";
  nlohmann::json page;
  page["title"] = cat.text(key + "_title");
  page["message"] = cat.text(key + "_message");
  page["home_href"] = "/" + ed + "/";
  page["reference"] = with_reference && !req.request_id.empty()
                          ? nlohmann::json(cat.format("error_reference",
                                                      {{"id", std::string_view(req.request_id)}}))
                          : nlohmann::json(false);
  std::vector<domain::Section> sections;
  if (auto s = d_.articles.sections(ed)) sections = std::move(*s);
  auto layout =
      layout_model(d_.site, cat, d_.editions, page["title"].get<std::string>(), sections, "", {});
  layout["description"] = page["message"];
  layout["robots_noindex"] = true;
  return render_page(req, status, "error", std::move(layout), page, std::nullopt, viewer_of(req));
}

}  // namespace depesche::web
