#include "web/editor_console.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "net/error_status.hpp"
#include "web/form.hpp"

namespace depesche::web {

using net::Method;
using net::Request;
using net::Response;
using nlohmann::json;

namespace {

constexpr int kConsoleEntries = 50;

// The service's limits, for the forms' maxlength and the error messages.
constexpr std::size_t kTitleChars = domain::TickerLimits{}.title;
constexpr std::size_t kBodyChars = domain::TickerLimits{}.body;
constexpr std::size_t kCaptionChars = 400;
constexpr std::size_t kCreditChars = 200;
constexpr std::size_t kImageUrlBytes = 2000;

// The largest form the console reads. Browsers send a form percent-encoded:
// every byte outside A-Z a-z 0-9 * - . _ becomes %XX, so one character costs
// at most 12 bytes (a four-byte UTF-8 sequence; Cyrillic costs 6, and so does
// a line break, sent as CR LF). Every text field at its limit is then
// 12 × (20,000 + 200 + 400 + 200) = 249,600 bytes, the image URL at most
// 3 × 2,000 = 6,000, and the CSRF token, article id, flags and field names
// well under 1 KiB: 256 KiB holds the largest entry the service accepts, and
// stays below server.max_body_bytes (1 MiB by default).
constexpr std::size_t kMaxFormBody = 256 * 1024;
static_assert(kMaxFormBody >= 12 * (kTitleChars + kBodyChars + kCaptionChars + kCreditChars) +
                                  3 * kImageUrlBytes + 1024);

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

// Why an entry was refused, in the edition's language. The service's
// messages are English and written for API clients; the console goes by the
// field and the reason (the rule broken).
std::string error_text(const Error& e, const Catalog& cat) {
  struct TextField {
    std::string_view field;  // as the service names it
    std::string_view name;   // as the catalog's {field, select, ...} names it
    std::size_t max_chars;
  };
  static constexpr TextField kTextFields[] = {{"title", "title", kTitleChars},
                                              {"body", "body", kBodyChars},
                                              {"image.caption", "caption", kCaptionChars},
                                              {"image.credit", "credit", kCreditChars}};
  for (const auto& t : kTextFields) {
    if (e.field != t.field) continue;
    if (e.reason == reason::empty) return cat.format("console_error_empty", {{"field", t.name}});
    if (e.reason == reason::too_long)
      return cat.format("console_error_too_long",
                        {{"field", t.name}, {"max", static_cast<std::int64_t>(t.max_chars)}});
    return cat.format("console_error_characters", {{"field", t.name}});
  }
  if (e.field == "image" && (e.reason == reason::bad_url || e.reason == reason::empty))
    return cat.text("console_error_image_url");
  if (e.field == "article_id") return cat.text("console_error_article");
  if (e.field == "op") return cat.text("console_error_operation");
  return cat.text("error_generic");
}

}  // namespace

void EditorConsole::register_routes(net::Router& router) {
  const net::Access editor{net::Who::editor, net::Via::session};
  // Only a redirect, to the reader's edition when signed in.
  router.add({Method::get}, "/admin", {net::Who::anyone, net::Via::nothing}, [this](Request& req) {
    Viewer v = pages_.viewer_of(req);
    std::string ed = v.auth ? v.auth->account.edition : editions_.default_code();
    return see_other("/admin/tickers/" + (editions_.contains(ed) ? ed : editions_.default_code()));
  });
  router.add({Method::get}, "/admin/tickers/{id}", editor, [this](Request& r) { return show(r); });
  router.add({Method::post}, "/admin/tickers/{id}/entries", editor,
             [this](Request& r) { return post_entry(r); });
  router.add({Method::post}, "/admin/tickers/{id}/entries/{entry}", editor,
             [this](Request& r) { return change_entry(r); });
  router.add({Method::post}, "/admin/tickers/{id}/state", editor,
             [this](Request& r) { return change_blog_state(r); });
}

std::optional<Response> EditorConsole::refuse(const Request& req, const Viewer& viewer) const {
  if (!viewer.auth) return see_other("/account/login?next=" + net::url_encode(req.path));
  if (!domain::role_at_least(viewer.auth->account.role, domain::Role::editor))
    return pages_.error_page(req, 403);
  return std::nullopt;
}

Response EditorConsole::render(const Request& req, int status, const std::string& ticker,
                               const Viewer& viewer, const std::string& notice,
                               const std::string& error, const Draft* draft) {
  std::string ed = tickers_.edition_of(ticker);
  const Catalog& cat = i18n_.catalog(ed);
  auto page_entries =
      tickers_.entries({ticker, domain::PageOrder::newest, std::nullopt, kConsoleEntries});
  auto blogs = tickers_.live_blogs(ed);
  if (auto e = first_error(page_entries, blogs)) return pages_.failure_page(req, *e, ed);
  std::vector<domain::TickerEntry> shown = std::move(page_entries->items);
  // An entry edited from an older page load may have dropped out of the
  // latest ones meanwhile; its refused edit is still shown, at the end.
  if (draft && draft->entry != 0 &&
      std::none_of(shown.begin(), shown.end(),
                   [&](const domain::TickerEntry& e) { return e.id == draft->entry; }))
    if (auto e = tickers_.entry(ticker, draft->entry)) shown.push_back(std::move(*e));
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
  // A live blog can be ended (its page then says so) and opened again.
  page["blog_state"] = false;
  if (ticker != ed)
    for (const auto& b : *blogs)
      if (b.slug == ticker) {
        bool ended = b.ended_at.has_value();
        page["blog_state"] = {
            {"action", "/admin/tickers/" + ticker + "/state"},
            {"op", ended ? "reopen" : "end"},
            {"label", cat.text(ended ? "console_reopen_blog" : "console_end_blog")}};
      }
  page["live_href"] = ticker == ed ? "/" + ed + "/ticker" : "/" + ed + "/live/" + ticker;
  page["action"] = "/admin/tickers/" + ticker + "/entries";
  page["notice"] = notice.empty() ? json(false) : json(notice);
  page["errors"] = error.empty() ? json::array() : json::array({error});
  page["has_errors"] = !error.empty();
  page["max"] = {{"title", kTitleChars},
                 {"body", kBodyChars},
                 {"image_url", kImageUrlBytes},
                 {"image_caption", kCaptionChars},
                 {"image_credit", kCreditChars}};
  json new_entry = {{"breaking", false}, {"pinned", false}};
  for (const char* name :
       {"title", "body", "article_id", "image_url", "image_caption", "image_credit"})
    new_entry[name] = draft && draft->entry == 0 ? form_field(draft->fields, name) : "";
  if (draft && draft->entry == 0) {
    new_entry["breaking"] = draft->fields.contains("breaking");
    new_entry["pinned"] = draft->fields.contains("pinned");
  }
  page["new_entry"] = std::move(new_entry);
  page["entries"] = json::array();
  for (const auto& e : shown) {
    bool refused = draft && draft->entry == e.id;
    json form = refused ? json{{"title", form_field(draft->fields, "title")},
                               {"body", form_field(draft->fields, "body")},
                               {"breaking", draft->fields.contains("breaking")},
                               {"pinned", draft->fields.contains("pinned")}}
                        : json{{"title", e.title},
                               {"body", e.body},
                               {"breaking", e.breaking},
                               {"pinned", e.pinned}};
    page["entries"].push_back(
        {{"id", e.id},
         {"summary", summary(e)},
         {"breaking", e.breaking},
         {"pinned", e.pinned},
         {"form", std::move(form)},
         {"open", refused},
         {"created_iso", format_rfc3339(e.created_at)},
         {"created_text", cat.format_datetime(e.created_at)},
         {"action", "/admin/tickers/" + ticker + "/entries/" + std::to_string(e.id)},
         {"pin_op", e.pinned ? "unpin" : "pin"},
         {"pin_label", cat.text(e.pinned ? "console_unpin" : "console_pin")}});
  }
  Response r = pages_.private_page(req, status, ed, cat.text("console_title"), "editor_console",
                                   page, viewer);
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
    if (*done == "ended") notice = cat.text("console_blog_ended");
    if (*done == "reopened") notice = cat.text("console_blog_reopened");
  }
  return render(req, 200, ticker, viewer, notice, "");
}

Response EditorConsole::change_blog_state(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  if (auto r = refuse(req, viewer)) return std::move(*r);
  std::string ticker(req.param("id"));
  // Only live blogs end; an edition's ticker runs on.
  if (!tickers_.exists(ticker) || tickers_.edition_of(ticker) == ticker)
    return pages_.error_page(req, 404);
  auto f = form_fields(req, kMaxFormBody);
  if (!guard_.check(req, form_field(f, "csrf"))) return pages_.error_page(req, 403);
  std::string op = form_field(f, "op");
  if (op != "end" && op != "reopen") {
    const Catalog& cat = i18n_.catalog(tickers_.edition_of(ticker));
    return render(req, 400, ticker, viewer, "", cat.text("console_error_operation"));
  }
  auto b = tickers_.set_live_blog_ended(ticker, op == "end");
  if (!b) return pages_.failure_page(req, b.error(), tickers_.edition_of(ticker));
  return see_other("/admin/tickers/" + ticker + "?done=" + (op == "end" ? "ended" : "reopened"));
}

Response EditorConsole::refused(const Request& req, const std::string& ticker, const Viewer& viewer,
                                const Error& error, const Catalog& cat, const Draft* draft) {
  if (net::is_server_fault(error.code))
    return pages_.failure_page(req, error, tickers_.edition_of(ticker));
  if (error.code == ErrorCode::not_found) return pages_.error_page(req, 404);
  return render(req, net::status_for(error.code), ticker, viewer, "", error_text(error, cat),
                draft);
}

Response EditorConsole::too_large(const Request& req, const std::string& ticker,
                                  const Viewer& viewer) {
  const Catalog& cat = i18n_.catalog(tickers_.edition_of(ticker));
  return render(
      req, 413, ticker, viewer, "",
      cat.format("console_error_too_large", {{"max", static_cast<std::int64_t>(kBodyChars)}}));
}

Response EditorConsole::post_entry(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  if (auto r = refuse(req, viewer)) return std::move(*r);
  std::string ticker(req.param("id"));
  if (!tickers_.exists(ticker)) return pages_.error_page(req, 404);
  // Too large to read means no CSRF token either: say what is wrong.
  if (form_too_large(req, kMaxFormBody)) return too_large(req, ticker, viewer);
  Draft draft{0, form_fields(req, kMaxFormBody)};
  const auto& f = draft.fields;
  if (!guard_.check(req, form_field(f, "csrf"))) return pages_.error_page(req, 403);
  const Catalog& cat = i18n_.catalog(tickers_.edition_of(ticker));
  domain::TickerEntryInput in;
  in.title = form_field(f, "title");
  in.body = form_field(f, "body");
  in.breaking = f.contains("breaking");
  in.pinned = f.contains("pinned");
  if (auto a = form_field(f, "article_id"); !a.empty()) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(a.data(), a.data() + a.size(), id);
    if (ec != std::errc() || p != a.data() + a.size() || id <= 0)
      return render(req, 400, ticker, viewer, "",
                    error_text({ErrorCode::invalid, "article_id: not a number", "article_id"}, cat),
                    &draft);
    in.article_id = std::optional<std::int64_t>(id);
  }
  if (auto url = form_field(f, "image_url"); !url.empty())
    in.image = std::optional<domain::Image>(
        domain::Image{url, form_field(f, "image_caption"), form_field(f, "image_credit"), 0, 0});
  auto e = tickers_.post_entry(ticker, in);
  if (!e) return refused(req, ticker, viewer, e.error(), cat, &draft);
  return see_other("/admin/tickers/" + ticker + "?done=posted");
}

Response EditorConsole::change_entry(Request& req) {
  Viewer viewer = pages_.viewer_of(req);
  if (auto r = refuse(req, viewer)) return std::move(*r);
  std::string ticker(req.param("id"));
  if (!tickers_.exists(ticker)) return pages_.error_page(req, 404);
  if (form_too_large(req, kMaxFormBody)) return too_large(req, ticker, viewer);
  auto f = form_fields(req, kMaxFormBody);
  if (!guard_.check(req, form_field(f, "csrf"))) return pages_.error_page(req, 403);
  const Catalog& cat = i18n_.catalog(tickers_.edition_of(ticker));
  std::int64_t id = 0;
  auto param = req.param("entry");
  auto [p, ec] = std::from_chars(param.data(), param.data() + param.size(), id);
  if (ec != std::errc() || p != param.data() + param.size()) return pages_.error_page(req, 404);
  std::string op = form_field(f, "op");
  if (op == "delete") {
    if (auto r = tickers_.delete_entry(ticker, id); !r)
      return refused(req, ticker, viewer, r.error(), cat, nullptr);
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
    return render(req, 400, ticker, viewer, "",
                  error_text({ErrorCode::invalid, "unknown operation", "op"}, cat));
  }
  auto e = tickers_.edit_entry(ticker, id, in);
  if (!e) {
    Draft draft{id, std::move(f)};
    return refused(req, ticker, viewer, e.error(), cat, op == "update" ? &draft : nullptr);
  }
  return see_other("/admin/tickers/" + ticker + "?done=saved#entry-" + std::to_string(id));
}

}  // namespace depesche::web
