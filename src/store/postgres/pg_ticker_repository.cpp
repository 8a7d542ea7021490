#include <algorithm>

#include "store/postgres/pg_repositories.hpp"

namespace depesche::store::postgres {
namespace {

using domain::LiveBlog;
using domain::PageOrder;
using domain::TickerEntry;

#define BLOG_COLUMNS \
  "SELECT id, slug, edition, title, teaser, created_at, ended_at FROM live_blogs "
#define ENTRY_COLUMNS                                                                     \
  "SELECT id, ticker, title, body, body_html, image_url, image_caption, image_credit, "   \
  "image_width, image_height, article_id, pinned, breaking, created_at, updated_at FROM " \
  "ticker_entries "
// The fourteen columns an entry is written with, $1..$14 in this order.
#define ENTRY_VALUES                                                                  \
  "$1, $2, $3, $4, $5, $6, $7, $8::integer, $9::integer, $10::bigint, $11::boolean, " \
  "$12::boolean, $13::bigint, $14::bigint"

LiveBlog read_blog(const Rows& rows, int i) {
  return LiveBlog{rows.int64(i, 0), rows.text(i, 1),  rows.text(i, 2),     rows.text(i, 3),
                  rows.text(i, 4),  rows.int64(i, 5), rows.opt_int64(i, 6)};
}

std::vector<LiveBlog> read_blogs(const Rows& rows) {
  std::vector<LiveBlog> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) out.push_back(read_blog(rows, i));
  return out;
}

TickerEntry read_entry(const Rows& rows, int i) {
  TickerEntry e;
  e.id = rows.int64(i, 0);
  e.ticker = rows.text(i, 1);
  e.title = rows.text(i, 2);
  e.body = rows.text(i, 3);
  e.body_html = rows.text(i, 4);
  if (!rows.is_null(i, 5))
    e.image = domain::Image{rows.text(i, 5), rows.text(i, 6), rows.text(i, 7),
                            static_cast<int>(rows.int64(i, 8)), static_cast<int>(rows.int64(i, 9))};
  e.article_id = rows.opt_int64(i, 10);
  e.pinned = rows.boolean(i, 11);
  e.breaking = rows.boolean(i, 12);
  e.created_at = rows.int64(i, 13);
  e.updated_at = rows.int64(i, 14);
  return e;
}

std::vector<TickerEntry> read_entries(const Rows& rows) {
  std::vector<TickerEntry> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) out.push_back(read_entry(rows, i));
  return out;
}

Params entry_params(const TickerEntry& e) {
  Params p;
  p.add(e.ticker).add(e.title).add(e.body).add(e.body_html);
  if (e.image) {
    p.add(e.image->url)
        .add(e.image->caption)
        .add(e.image->credit)
        .add(e.image->width)
        .add(e.image->height);
  } else {
    for (int i = 5; i <= 9; ++i) p.add(std::nullopt);
  }
  p.add(e.article_id).add(e.pinned).add(e.breaking).add(e.created_at).add(e.updated_at);
  return p;
}

}  // namespace

Result<LiveBlog> PgTickerRepository::insert_live_blog(const LiveBlog& b) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows =
      query_guarded(**db,
                    "INSERT INTO live_blogs (slug, edition, title, teaser, created_at, "
                    "ended_at) VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint) RETURNING id",
                    b.slug, b.edition, b.title, b.teaser, b.created_at, b.ended_at);
  if (!rows) {
    if (rows.error().code == ErrorCode::conflict)
      return fail(ErrorCode::conflict, "a live blog with that slug exists", "slug");
    return std::unexpected(rows.error());
  }
  LiveBlog out = b;
  out.id = rows->int64(0, 0);
  return out;
}

Result<LiveBlog> PgTickerRepository::live_blog(std::string_view slug) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(BLOG_COLUMNS "WHERE slug = $1", slug);
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return fail(ErrorCode::not_found, "no such live blog");
  return read_blog(*rows, 0);
}

Result<std::vector<LiveBlog>> PgTickerRepository::live_blogs() {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(BLOG_COLUMNS "ORDER BY created_at DESC, id DESC");
  if (!rows) return std::unexpected(rows.error());
  return read_blogs(*rows);
}

Result<LiveBlog> PgTickerRepository::update_live_blog(const LiveBlog& b) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto r = (*db)->query(
      "UPDATE live_blogs SET title = $1, teaser = $2, ended_at = $3::bigint WHERE id = $4::bigint",
      b.title, b.teaser, b.ended_at, b.id);
  if (!r) return std::unexpected(r.error());
  if (r->affected() == 0) return fail(ErrorCode::not_found, "no such live blog");
  return b;
}

Result<Millis> PgTickerRepository::next_entry_time(std::string_view ticker, Millis now) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  // Writers of one ticker on any node queue here until the unit that holds
  // the lock ends, so the newest entry read below stays the newest.
  if (auto r = (*db)->query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))",
                            "ticker:" + std::string(ticker));
      !r)
    return std::unexpected(r.error());
  auto rows = (*db)->query("SELECT max(created_at) FROM ticker_entries WHERE ticker = $1::text",
                           std::string(ticker));
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty() || rows->is_null(0, 0)) return now;
  return std::max(now, rows->int64(0, 0));
}

Result<TickerEntry> PgTickerRepository::insert_entry(const TickerEntry& e) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = query_guarded(
      **db,
      "INSERT INTO ticker_entries (ticker, title, body, body_html, image_url, image_caption, "
      "image_credit, image_width, image_height, article_id, pinned, breaking, created_at, "
      "updated_at) VALUES (" ENTRY_VALUES ") RETURNING id",
      entry_params(e));
  if (!rows) return std::unexpected(rows.error());
  TickerEntry out = e;
  out.id = rows->int64(0, 0);
  return out;
}

Result<TickerEntry> PgTickerRepository::entry(std::int64_t id) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(ENTRY_COLUMNS "WHERE id = $1::bigint", id);
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return fail(ErrorCode::not_found, "no such entry");
  return read_entry(*rows, 0);
}

Result<TickerEntry> PgTickerRepository::update_entry(const TickerEntry& e) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  Params p = entry_params(e);
  p.add(e.id);
  auto r = query_guarded(
      **db,
      "UPDATE ticker_entries SET (ticker, title, body, body_html, image_url, image_caption, "
      "image_credit, image_width, image_height, article_id, pinned, breaking, created_at, "
      "updated_at) = ROW(" ENTRY_VALUES ") WHERE id = $15::bigint",
      p);
  if (!r) return std::unexpected(r.error());
  if (r->affected() == 0) return fail(ErrorCode::not_found, "no such entry");
  return e;
}

Result<void> PgTickerRepository::delete_entry(std::int64_t id) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto r = (*db)->query("DELETE FROM ticker_entries WHERE id = $1::bigint", id);
  if (!r) return std::unexpected(r.error());
  if (r->affected() == 0) return fail(ErrorCode::not_found, "no such entry");
  return {};
}

Result<domain::Page<TickerEntry>> PgTickerRepository::entries(const domain::EntryQuery& q) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  bool newest = q.order == PageOrder::newest;
  // A page of at least one entry and at most the largest page, whatever was asked.
  int limit = std::clamp(q.limit, 1, domain::max_entry_page);
  std::optional<std::int64_t> after_time, after_id;
  if (q.after) {
    after_time = q.after->at;
    after_id = q.after->id;
  }
  auto rows = (*db)->query(
      newest ? ENTRY_COLUMNS
          "WHERE ticker = $1 AND ($2::bigint IS NULL OR (created_at, id) < ($2::bigint, "
          "$3::bigint)) ORDER BY created_at DESC, id DESC LIMIT $4"
             : ENTRY_COLUMNS
          "WHERE ticker = $1 AND ($2::bigint IS NULL OR (created_at, id) > ($2::bigint, "
          "$3::bigint)) ORDER BY created_at ASC, id ASC LIMIT $4",
      q.ticker, after_time, after_id, limit + 1);
  if (!rows) return std::unexpected(rows.error());
  auto items = read_entries(*rows);
  domain::Page<TickerEntry> page;
  if (static_cast<int>(items.size()) > limit) {
    items.resize(static_cast<std::size_t>(limit));
    page.next = domain::Cursor{items.back().created_at, items.back().id};
  }
  page.items = std::move(items);
  return page;
}

Result<std::vector<TickerEntry>> PgTickerRepository::pinned(std::string_view ticker) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(
      ENTRY_COLUMNS "WHERE ticker = $1 AND pinned ORDER BY created_at DESC, id DESC LIMIT $2",
      ticker, domain::max_pinned_entries);
  if (!rows) return std::unexpected(rows.error());
  return read_entries(*rows);
}

}  // namespace depesche::store::postgres
