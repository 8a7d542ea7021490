#include "web/editor_console.hpp"

#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

#include "web/form.hpp"

namespace depesche::web {

using net::Method;
using net::Request;
using net::Response;
using nlohmann::json;

namespace {

constexpr int kConsoleEntries = 50;
constexpr std::size_t kMaxFormBody = 64 * 1024;

// The first words of an entry, for its line in the list.
std::string summary(const domain::TickerEntry& e) {
  std::string s = e.title.empty() ? e.body : e.title;
  if (s.size() > 90) {
    s.resize(90);
    while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
    if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) s.pop_back();
    s += "…";
  }
  return s;
}

}  // namespace

void EditorConsole::register_routes(net::Router& router) {
  router.add({Method::get}, "/admin", [this](Request& req) {
    Viewer v = pages_.viewer_of(req);
    std::string ed = v.auth ? v.auth->account.edition : editions_.default_code();
    return see_other("/admin/tickers/" + (editions_.contains(ed) ? ed : editions_.default_code()));
  });
  router.add({Method::get}, "/admin/tickers/{id}", [this](Request& r) { return show(r); });
  router.add({Method::post}, "/admin/tickers/{id}/entries",
             [this](Request& r) { return post_entry(r); });
  router.add({Method::post}, "/admin/tickers/{id}/entries/{entry}",
             [this](Request& r) { return change_entry(r); });
}

std::optional<Response> EditorConsole::refuse(const Request& req, const Viewer& viewer) const {
  if (!viewer.auth) return see_other("/account/login?next=" + net::url_encode(req.path));
  if (!domain::role_at_least(viewer.auth->account.role, domain::Role::editor))
    return pages_.error_page(req, 403);
  return std::nullopt;
}

Response EditorConsole::render(const Request& req, int status, const std::string& ticker,
                               const Viewer& viewer, std::string notice, std::string error) {
  std::string ed = tickers_.edition_of(ticker);
  const Catalog& cat = i18n_.catalog(ed);
  auto page_entries =
      tickers_.entries({ticker, domain::EntryOrder::newest, std::nullopt, kConsoleEntries});
  auto blogs = tickers_.live_blogs(ed);
  if (!page_entries || !blogs) throw std::runtime_error("store read failed in the console");
  Response cookies;
  json page;
  page["csrf"] = guard_.csrf_token(req, cookies);
  std::string title = ticker == ed ? cat.text("ticker_heading") : ticker;
  page["tickers"] = json::array();
  page["tickers"].push_back({{"href", "/admin/tickers/" + ed},
                             {"title", cat.text("ticker_heading")},
                             {"current", ticker == ed}});
  for (const auto& b : *blogs) {
    if (b.slug == ticker) title = b.title;
    page["tickers"].push_back(
        {{"href", "/admin/tickers/" + b.slug}, {"title", b.title}, {"current", b.slug == ticker}});
  }
  page["ticker_title"] = title;
  page["live_href"] = ticker == ed ? "/" + ed + "/ticker" : "/" + ed + "/live/" + ticker;
  page["action"] = "/admin/tickers/" + ticker + "/entries";
  page["notice"] = notice.empty() ? json(false) : json(notice);
  page["errors"] = error.empty() ? json::array() : json::array({error});
  page["has_errors"] = !error.empty();
  page["entries"] = json::array();
  for (const auto& e : page_entries->items)
    page["entries"].push_back(
        {{"id", e.id},
         {"title", e.title},
         {"body", e.body},
         {"summary", summary(e)},
         {"breaking", e.breaking},
         {"pinned", e.pinned},
         {"created_iso", format_rfc3339(e.created_at)},
         {"created_text", cat.format_datetime(e.created_at)},
         {"action", "/admin/tickers/" + ticker + "/entries/" + std::to_string(e.id)},
         {"pin_op", e.pinned ? "unpin" : "pin"},
         {"pin_label", cat.text(e.pinned ? "console_unpin" : "console_pin")}});
  Response r = pages_.private_page(req, status, ed, cat.text("console_title"), "editor_console",
                                   std::move(page), viewer);
  for (auto& h : cookies.headers)
    if (h.first == "Set-Cookie") r.headers.push_back(h);
  return r;
}

Response EditorConsole::show(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  if (auto r = refuse(req, viewer)) return std::move(*r);
  std::string ticker(req.param("id"));
  if (!tickers_.exists(ticker)) return pages_.error_page(req, 404);
  const Catalog& cat = i18n_.catalog(tickers_.edition_of(ticker));
  std::string notice;
  if (auto done = req.query_param("done")) {
    if (*done == "posted") notice = cat.text("console_posted");
    if (*done == "saved") notice = cat.text("console_saved");
    if (*done == "deleted") notice = cat.text("console_deleted");
  }
  return render(req, 200, ticker, viewer, notice, "");
}

Response EditorConsole::post_entry(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  if (auto r = refuse(req, viewer)) return std::move(*r);
  std::string ticker(req.param("id"));
  if (!tickers_.exists(ticker)) return pages_.error_page(req, 404);
  auto f = form_fields(req, kMaxFormBody);
  if (!guard_.check(req, form_field(f, "csrf"))) return pages_.error_page(req, 403);
  domain::TickerEntryInput in;
  in.title = form_field(f, "title");
  in.body = form_field(f, "body");
  in.breaking = f.contains("breaking");
  in.pinned = f.contains("pinned");
  if (auto a = form_field(f, "article_id"); !a.empty()) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(a.data(), a.data() + a.size(), id);
    if (ec != std::errc() || p != a.data() + a.size() || id <= 0)
      return render(req, 400, ticker, viewer, "", "article_id: " + a);
    in.article_id = std::optional<std::int64_t>(id);
  }
  if (auto url = form_field(f, "image_url"); !url.empty())
    in.image = std::optional<domain::Image>(
        domain::Image{url, form_field(f, "image_caption"), form_field(f, "image_credit"), 0, 0});
  auto e = tickers_.post_entry(ticker, in);
  if (!e) return render(req, 400, ticker, viewer, "", e.error().message);
  return see_other("/admin/tickers/" + ticker + "?done=posted");
}

Response EditorConsole::change_entry(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  if (auto r = refuse(req, viewer)) return std::move(*r);
  std::string ticker(req.param("id"));
  if (!tickers_.exists(ticker)) return pages_.error_page(req, 404);
  auto f = form_fields(req, kMaxFormBody);
  if (!guard_.check(req, form_field(f, "csrf"))) return pages_.error_page(req, 403);
  std::int64_t id = 0;
  auto param = req.param("entry");
  auto [p, ec] = std::from_chars(param.data(), param.data() + param.size(), id);
  if (ec != std::errc() || p != param.data() + param.size()) return pages_.error_page(req, 404);
  std::string op = form_field(f, "op");
  if (op == "delete") {
    if (auto r = tickers_.delete_entry(ticker, id); !r)
      return r.error().code == ErrorCode::not_found
                 ? pages_.error_page(req, 404)
                 : render(req, 400, ticker, viewer, "", r.error().message);
    return see_other("/admin/tickers/" + ticker + "?done=deleted");
  }
  domain::TickerEntryInput in;
  if (op == "pin" || op == "unpin") {
    in.pinned = op == "pin";
  } else if (op == "update") {
    in.title = form_field(f, "title");
    in.body = form_field(f, "body");
    in.breaking = f.contains("breaking");
    in.pinned = f.contains("pinned");
  } else {
    return render(req, 400, ticker, viewer, "", "unknown operation");
  }
  auto e = tickers_.edit_entry(ticker, id, in);
  if (!e)
    return e.error().code == ErrorCode::not_found
               ? pages_.error_page(req, 404)
               : render(req, 400, ticker, viewer, "", e.error().message);
  return see_other("/admin/tickers/" + ticker + "?done=saved#entry-" + std::to_string(id));
}

}  // namespace depesche::web
