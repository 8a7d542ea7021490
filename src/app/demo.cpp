#include "app/demo.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "app/application.hpp"
#include "base/log.hpp"
#include "domain/article_service.hpp"
#include "domain/ticker_service.hpp"

namespace depesche::app {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Entries are posted oldest first and dated back by their "minutes_ago", so
// the demo ticker reads like an evening's coverage rather than one burst.
// The date goes in with the post, so the stored entry and its event agree.
Result<void> post_demo_entries(Application& app, const json& entries, const std::string& ticker,
                               const std::string& ed,
                               std::map<std::string, std::map<std::string, std::int64_t>>& ids,
                               Millis now) {
  std::vector<const json*> ordered;
  for (const auto& e : entries) ordered.push_back(&e);
  std::stable_sort(ordered.begin(), ordered.end(), [](const json* a, const json* b) {
    return a->value("minutes_ago", 0) > b->value("minutes_ago", 0);
  });
  for (const json* e : ordered) {
    if (!e->at("editions").contains(ed)) continue;
    const auto& text = (*e)["editions"][ed];
    domain::TickerEntryInput in;
    in.title = text.value("title", "");
    in.body = text.at("body").get<std::string>();
    in.breaking = e->value("breaking", false);
    in.pinned = e->value("pinned", false);
    if (e->contains("story") && ids.contains((*e)["story"]) && ids[(*e)["story"]].contains(ed))
      in.article_id = std::optional<std::int64_t>(ids[(*e)["story"]][ed]);
    in.posted_at = now - e->value("minutes_ago", 0) * 60'000LL;
    auto posted = app.tickers().post_entry(ticker, in);
    if (!posted)
      return fail(posted.error().code, "demo ticker entry (" + ed + "): " + posted.error().message);
  }
  return {};
}

Result<void> load_demo_tickers(Application& app, const json& content,
                               std::map<std::string, std::map<std::string, std::int64_t>>& ids,
                               Millis now) {
  auto& tickers = app.tickers();
  for (const auto& ed : app.config().site_editions) {
    if (content.contains("live_blogs"))
      for (const auto& blog : content["live_blogs"]) {
        if (!blog.at("editions").contains(ed)) continue;
        const auto& b = blog["editions"][ed];
        auto created =
            tickers.create_live_blog(b.at("slug"), ed, b.at("title"), b.value("teaser", ""));
        if (!created)
          return fail(created.error().code, "demo live blog: " + created.error().message);
        if (auto r = post_demo_entries(app, blog.at("entries"), created->slug, ed, ids, now); !r)
          return r;
      }
    if (content.contains("ticker"))
      if (auto r = post_demo_entries(app, content["ticker"], ed, ed, ids, now); !r) return r;
  }
  return {};
}

}  // namespace

Result<int> load_demo(Application& app) {
  auto& articles = app.articles();
  const auto& editions = app.config().site_editions;
  auto existing = articles.list({.edition = editions.front(), .include_drafts = true, .limit = 1});
  if (!existing) return std::unexpected(existing.error());
  if (!existing->items.empty()) {
    log::info("demo content already loaded; nothing to do");
    return 0;
  }
  fs::path dir = fs::path(app.resource_dir()) / "demo";
  std::ifstream in(dir / "content.json");
  if (!in) return fail(ErrorCode::invalid, "missing " + (dir / "content.json").string());
  json content = json::parse(in, nullptr, false);
  if (content.is_discarded())
    return fail(ErrorCode::invalid, "demo/content.json is not valid JSON");

  for (const auto& s : content.at("sections")) {
    for (const auto& ed : editions) {
      if (!s.at("editions").contains(ed)) continue;
      const auto& e = s["editions"][ed];
      auto r = articles.create_section(ed, e.at("slug"), e.at("name"), s.value("position", 0));
      if (!r) return std::unexpected(r.error());
    }
  }
  std::map<std::string, std::string> section_slug;  // "<key>/<edition>" → slug
  for (const auto& s : content["sections"])
    for (const auto& ed : editions)
      if (s["editions"].contains(ed))
        section_slug[s["key"].get<std::string>() + "/" + ed] = s["editions"][ed]["slug"];

  fs::path media = fs::path(app.config().data_dir) / "media";
  std::map<std::string, std::map<std::string, std::int64_t>> ids;  // story key → edition → id
  int created = 0;
  Millis now = now_millis();
  for (const auto& story : content.at("stories")) {
    std::string key = story.at("key");
    std::string image = story.at("image");
    std::error_code ec;
    fs::copy_file(dir / "images" / image, media / image, fs::copy_options::overwrite_existing, ec);
    if (ec)
      return fail(ErrorCode::invalid, "cannot copy demo image " + image + ": " + ec.message());
    std::optional<std::int64_t> first;
    for (const auto& ed : editions) {
      if (!story.at("editions").contains(ed)) continue;
      const auto& e = story["editions"][ed];
      domain::ArticleInput input;
      input.edition = ed;
      input.slug = e.at("slug").get<std::string>();
      input.section = section_slug[story.at("section").get<std::string>() + "/" + ed];
      input.headline = e.at("headline").get<std::string>();
      input.teaser = e.at("teaser").get<std::string>();
      input.body = e.at("body").get<std::string>();
      input.author = story.value("author", "");
      input.tags = story.value("tags", std::vector<std::string>{});
      input.top = story.value("top", false);
      input.image =
          domain::Image{"/media/" + image, e.at("caption"), story.value("credit", ""), 1600, 900};
      input.published_at = now - story.value("hours_ago", 1) * 3600'000LL;
      if (first) input.translation_of = first;
      auto a = articles.create(input);
      if (!a)
        return fail(a.error().code, "demo story " + key + " (" + ed + "): " + a.error().message);
      if (!first) first = a->id;
      ids[key][ed] = a->id;
      ++created;
    }
  }
  for (const auto& story : content["stories"]) {
    if (!story.contains("related")) continue;
    for (const auto& [ed, id] : ids[story["key"]]) {
      domain::ArticleInput change;
      std::vector<std::int64_t> rel;
      for (const auto& rk : story["related"])
        if (ids.contains(rk) && ids[rk].contains(ed)) rel.push_back(ids[rk][ed]);
      change.related = rel;
      if (auto r = articles.update(id, change, std::nullopt); !r) return std::unexpected(r.error());
    }
  }
  // Publish last, so the stories appear complete and as of their own dates.
  for (const auto& [key, by_edition] : ids)
    for (const auto& [ed, id] : by_edition)
      if (auto r = articles.publish(id); !r) return std::unexpected(r.error());
  if (auto r = load_demo_tickers(app, content, ids, now); !r) return std::unexpected(r.error());
  log::info("demo content loaded", {{"articles", created}});
  return created;
}

}  // namespace depesche::app
