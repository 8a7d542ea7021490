#include "domain/ticker_service.hpp"

#include "base/log.hpp"
#include "domain/image.hpp"
#include "domain/input_rules.hpp"
#include "text/markdown.hpp"
#include "text/slug.hpp"

namespace depesche::domain {

TickerService::TickerService(store::Store& store, const Editions& editions,
                             ArticleService& articles, TickerEvents& events, TickerLimits limits)
    : store_(store), editions_(editions), articles_(articles), events_(events), limits_(limits) {}

bool TickerService::exists(std::string_view ticker) const {
  if (editions_.contains(ticker)) return true;
  if (!text::is_valid_slug(ticker)) return false;
  return store_.tickers().live_blog(ticker).has_value();
}

std::string TickerService::edition_of(std::string_view ticker) const {
  if (editions_.contains(ticker)) return std::string(ticker);
  if (!text::is_valid_slug(ticker)) return {};
  auto blog = store_.tickers().live_blog(ticker);
  return blog ? blog->edition : std::string();
}

Result<LiveBlog> TickerService::create_live_blog(std::string slug, std::string edition,
                                                 const std::string& title,
                                                 const std::string& teaser) {
  if (!text::is_valid_slug(slug))
    return fail(ErrorCode::invalid, "slug: lower-case letters, digits and hyphens", "slug");
  // A live blog's slug names its ticker, so it must not be an edition code.
  if (editions_.contains(slug) || Editions::is_valid_code(slug))
    return fail(ErrorCode::invalid, "slug: too short or an edition code; use a few words", "slug");
  if (!editions_.contains(edition)) return fail(ErrorCode::invalid, "unknown edition", "edition");
  auto t = checked_text(title, limits_.blog_title, "title", true);
  if (!t) return std::unexpected(t.error());
  auto teaser_ok = checked_text(teaser, limits_.blog_teaser, "teaser", false);
  if (!teaser_ok) return std::unexpected(teaser_ok.error());
  LiveBlog b;
  b.slug = std::move(slug);
  b.edition = std::move(edition);
  b.title = std::move(*t);
  b.teaser = std::move(*teaser_ok);
  b.created_at = now_millis();
  return store::in_transaction(store_, [&]() -> Result<LiveBlog> {
    auto stored = store_.tickers().insert_live_blog(b);
    if (!stored) return stored;
    if (auto w = write_event(store_, events_.blog_event(*stored)); !w)
      return std::unexpected(w.error());
    return stored;
  });
}

Result<LiveBlog> TickerService::live_blog(std::string_view slug) {
  return store_.tickers().live_blog(slug);
}

Result<std::vector<LiveBlog>> TickerService::live_blogs(std::string_view edition) {
  auto all = store_.tickers().live_blogs();
  if (!all) return all;
  std::erase_if(*all, [&](const LiveBlog& b) { return b.edition != edition; });
  return all;
}

Result<LiveBlog> TickerService::end_live_blog(std::string_view slug) {
  return set_live_blog_ended(slug, true);
}

Result<LiveBlog> TickerService::set_live_blog_ended(std::string_view slug, bool ended) {
  return store::in_transaction(store_, [&]() -> Result<LiveBlog> {
    auto b = store_.tickers().live_blog(slug);
    if (!b) return b;
    if (!ended)
      b->ended_at.reset();
    else if (!b->ended_at)
      b->ended_at = now_millis();
    auto r = store_.tickers().update_live_blog(*b);
    if (!r) return r;
    if (auto w = write_event(store_, events_.blog_event(*r)); !w) return std::unexpected(w.error());
    return r;
  });
}

Result<void> TickerService::apply(TickerEntry& e, const TickerEntryInput& in) {
  if (in.title) {
    auto v = checked_text(*in.title, limits_.title, "title", false);
    if (!v) return std::unexpected(v.error());
    e.title = std::move(*v);
  }
  if (in.body) {
    auto v = checked_text(*in.body, limits_.body, "body", true);
    if (!v) return std::unexpected(v.error());
    e.body = std::move(*v);
    e.body_html = text::markdown_to_html(e.body);
  }
  if (in.image) {
    if (*in.image) {
      auto img = checked_image(**in.image, ImageSize::optional);
      if (!img) return std::unexpected(as_entry_image_error(img.error()));
      e.image = std::move(*img);
    } else {
      e.image.reset();
    }
  }
  if (in.article_id) {
    if (*in.article_id) {
      auto a = articles_.by_id(**in.article_id, true);
      if (!a) return fail(ErrorCode::invalid, "article_id names no article", "article_id");
    }
    e.article_id = *in.article_id;
  }
  if (in.pinned) e.pinned = *in.pinned;
  if (in.breaking) e.breaking = *in.breaking;
  return {};
}

void TickerService::link_article(TickerEntry& e) {
  e.article_path.clear();
  if (!e.article_id) return;
  auto a = articles_.by_id(*e.article_id, false);
  if (a) e.article_path = "/" + a->edition + "/articles/" + a->slug;
}

Result<TickerEntry> TickerService::post_entry(std::string_view ticker,
                                              const TickerEntryInput& input) {
  if (!exists(ticker)) return fail(ErrorCode::not_found, "no such ticker");
  if (!input.body) return fail(ErrorCode::invalid, "body is required", "body");
  TickerEntry e;
  e.ticker = std::string(ticker);
  if (auto r = apply(e, input); !r) return std::unexpected(r.error());
  return store::in_transaction(store_, [&]() -> Result<TickerEntry> {
    // A trusted caller's date is kept unless it would put the entry before
    // the ticker's newest one: the order of posting is the order of reading.
    auto at = store_.tickers().next_entry_time(ticker, input.posted_at.value_or(now_millis()));
    if (!at) return std::unexpected(at.error());
    e.created_at = e.updated_at = *at;
    auto in = store_.tickers().insert_entry(e);
    if (!in) return in;
    link_article(*in);
    if (auto w = write_event(store_, events_.entry_event(*in, EntryChange::created)); !w)
      return std::unexpected(w.error());
    return in;
  });
}

Result<TickerEntry> TickerService::entry(std::string_view ticker, std::int64_t id) {
  auto e = store_.tickers().entry(id);
  if (!e) return e;
  if (e->ticker != ticker) return fail(ErrorCode::not_found, "no such entry");
  link_article(*e);
  return e;
}

Result<TickerEntry> TickerService::edit_entry(std::string_view ticker, std::int64_t id,
                                              const TickerEntryInput& input) {
  // Read, changed and written in one unit, so two editors' edits of one
  // entry cannot interleave and lose one of them half-way.
  return store::in_transaction(store_, [&]() -> Result<TickerEntry> {
    auto e = entry(ticker, id);
    if (!e) return e;
    if (auto r = apply(*e, input); !r) return std::unexpected(r.error());
    e->updated_at = std::max(now_millis(), e->created_at);
    auto stored = store_.tickers().update_entry(*e);
    if (!stored) return stored;
    link_article(*stored);
    if (auto w = write_event(store_, events_.entry_event(*stored, EntryChange::updated)); !w)
      return std::unexpected(w.error());
    return stored;
  });
}

Result<void> TickerService::delete_entry(std::string_view ticker, std::int64_t id) {
  return store_.transact([&]() -> Result<void> {
    auto e = entry(ticker, id);
    if (!e) return std::unexpected(e.error());
    if (auto r = store_.tickers().delete_entry(id); !r) return r;
    if (auto w = write_event(store_, events_.entry_event(*e, EntryChange::deleted)); !w)
      return std::unexpected(w.error());
    return {};
  });
}

Result<Page<TickerEntry>> TickerService::entries(const EntryQuery& query) {
  if (!exists(query.ticker)) return fail(ErrorCode::not_found, "no such ticker");
  if (query.limit < 1 || query.limit > max_entry_page)
    return fail(ErrorCode::invalid, "limit must be between 1 and 100", "limit");
  auto page = store_.tickers().entries(query);
  if (page)
    for (auto& e : page->items) link_article(e);
  return page;
}

Result<std::vector<TickerEntry>> TickerService::pinned(std::string_view ticker) {
  if (!exists(ticker)) return fail(ErrorCode::not_found, "no such ticker");
  auto items = store_.tickers().pinned(ticker);
  if (items)
    for (auto& e : *items) link_article(e);
  return items;
}

}  // namespace depesche::domain
