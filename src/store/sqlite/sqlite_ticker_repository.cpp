#include <algorithm>

#include "store/sqlite/keyset.hpp"
#include "store/sqlite/sqlite_repositories.hpp"

namespace depesche::store::sqlite {
namespace {

using domain::LiveBlog;
using domain::TickerEntry;

#define BLOG_COLUMNS \
  "SELECT id, slug, edition, title, teaser, created_at, ended_at FROM live_blogs "
#define ENTRY_COLUMNS                                                                     \
  "SELECT id, ticker, title, body, body_html, image_url, image_caption, image_credit, "   \
  "image_width, image_height, article_id, pinned, breaking, created_at, updated_at FROM " \
  "ticker_entries "

LiveBlog read_blog(const Statement& st) {
  return LiveBlog{st.int64(0), st.text(1),  st.text(2),     st.text(3),
                  st.text(4),  st.int64(5), st.opt_int64(6)};
}

TickerEntry read_entry(const Statement& st) {
  TickerEntry e;
  e.id = st.int64(0);
  e.ticker = st.text(1);
  e.title = st.text(2);
  e.body = st.text(3);
  e.body_html = st.text(4);
  if (!st.is_null(5))
    e.image = domain::Image{st.text(5), st.text(6), st.text(7), static_cast<int>(st.int64(8)),
                            static_cast<int>(st.int64(9))};
  e.article_id = st.opt_int64(10);
  e.pinned = st.int64(11) != 0;
  e.breaking = st.int64(12) != 0;
  e.created_at = st.int64(13);
  e.updated_at = st.int64(14);
  return e;
}

void bind_entry(Statement& st, const TickerEntry& e) {
  st.bind(1, e.ticker).bind(2, e.title).bind(3, e.body).bind(4, e.body_html);
  if (e.image) {
    st.bind(5, e.image->url)
        .bind(6, e.image->caption)
        .bind(7, e.image->credit)
        .bind(8, e.image->width)
        .bind(9, e.image->height);
  } else {
    for (int i = 5; i <= 9; ++i) st.bind_null(i);
  }
  st.bind(10, e.article_id)
      .bind(11, e.pinned)
      .bind(12, e.breaking)
      .bind(13, e.created_at)
      .bind(14, e.updated_at);
}

template <class T, class Read>
Result<std::vector<T>> read_all(Statement& st, Read read) {
  std::vector<T> out;
  for (;;) {
    auto row = st.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read(st));
  }
  return out;
}

}  // namespace

Result<LiveBlog> SqliteTickerRepository::insert_live_blog(const LiveBlog& b) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "INSERT INTO live_blogs (slug, edition, title, teaser, created_at, ended_at) VALUES (?, ?, "
      "?, ?, ?, ?)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, b.slug).bind(2, b.edition).bind(3, b.title).bind(4, b.teaser).bind(5, b.created_at);
  st->bind(6, b.ended_at);
  if (auto r = st->run(); !r) {
    if (r.error().code == ErrorCode::conflict)
      return fail(ErrorCode::conflict, "a live blog with that slug exists", "slug");
    return std::unexpected(r.error());
  }
  LiveBlog out = b;
  out.id = db->last_insert_id();
  return out;
}

Result<LiveBlog> SqliteTickerRepository::live_blog(std::string_view slug) {
  auto db = pool_.reader();
  auto st = db->prepare(BLOG_COLUMNS "WHERE slug = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, slug);
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no such live blog");
  return read_blog(*st);
}

Result<std::vector<LiveBlog>> SqliteTickerRepository::live_blogs() {
  auto db = pool_.reader();
  auto st = db->prepare(BLOG_COLUMNS "ORDER BY created_at DESC, id DESC");
  if (!st) return std::unexpected(st.error());
  return read_all<LiveBlog>(*st, read_blog);
}

Result<LiveBlog> SqliteTickerRepository::update_live_blog(const LiveBlog& b) {
  auto db = pool_.writer();
  auto st = db->prepare("UPDATE live_blogs SET title = ?, teaser = ?, ended_at = ? WHERE id = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, b.title).bind(2, b.teaser).bind(3, b.ended_at).bind(4, b.id);
  if (auto r = st->run(); !r) return std::unexpected(r.error());
  if (db->changes() == 0) return fail(ErrorCode::not_found, "no such live blog");
  return b;
}

Result<Millis> SqliteTickerRepository::next_entry_time(std::string_view ticker, Millis now) {
  // A unit of work holds the one writer connection, so the newest entry
  // read here stays the newest until the unit ends.
  auto db = pool_.writer();
  auto st = db->prepare("SELECT max(created_at) FROM ticker_entries WHERE ticker = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, ticker);
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row || st->is_null(0)) return now;
  return std::max(now, st->int64(0));
}

Result<TickerEntry> SqliteTickerRepository::insert_entry(const TickerEntry& e) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "INSERT INTO ticker_entries (ticker, title, body, body_html, image_url, image_caption, "
      "image_credit, image_width, image_height, article_id, pinned, breaking, created_at, "
      "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st) return std::unexpected(st.error());
  bind_entry(*st, e);
  if (auto r = st->run(); !r) return std::unexpected(r.error());
  TickerEntry out = e;
  out.id = db->last_insert_id();
  return out;
}

Result<TickerEntry> SqliteTickerRepository::entry(std::int64_t id) {
  auto db = pool_.reader();
  auto st = db->prepare(ENTRY_COLUMNS "WHERE id = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, id);
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no such entry");
  return read_entry(*st);
}

Result<TickerEntry> SqliteTickerRepository::update_entry(const TickerEntry& e) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "UPDATE ticker_entries SET ticker = ?, title = ?, body = ?, body_html = ?, image_url = ?, "
      "image_caption = ?, image_credit = ?, image_width = ?, image_height = ?, article_id = ?, "
      "pinned = ?, breaking = ?, created_at = ?, updated_at = ? WHERE id = ?");
  if (!st) return std::unexpected(st.error());
  bind_entry(*st, e);
  st->bind(15, e.id);
  if (auto r = st->run(); !r) return std::unexpected(r.error());
  if (db->changes() == 0) return fail(ErrorCode::not_found, "no such entry");
  return e;
}

Result<void> SqliteTickerRepository::delete_entry(std::int64_t id) {
  auto db = pool_.writer();
  auto st = db->prepare("DELETE FROM ticker_entries WHERE id = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, id);
  if (auto r = st->run(); !r) return r;
  if (db->changes() == 0) return fail(ErrorCode::not_found, "no such entry");
  return {};
}

Result<domain::Page<TickerEntry>> SqliteTickerRepository::entries(const domain::EntryQuery& q) {
  auto db = pool_.reader();
  // In bounds as for article lists: at most the largest page.
  Keyset keyset("created_at", "id", q.order, q.after,
                std::clamp(q.limit, 1, domain::max_entry_page), 2);
  std::string sql = ENTRY_COLUMNS "WHERE ticker = ?1" + keyset.sql();
  auto st = db->prepare(sql.c_str());
  if (!st) return std::unexpected(st.error());
  st->bind(1, q.ticker);
  keyset.bind(*st);
  return keyset.read_page<TickerEntry>(*st, read_entry, [](const TickerEntry& e) {
    return domain::Cursor{e.created_at, e.id};
  });
}

Result<std::vector<TickerEntry>> SqliteTickerRepository::pinned(std::string_view ticker) {
  auto db = pool_.reader();
  auto st = db->prepare(ENTRY_COLUMNS
                        "WHERE ticker = ? AND pinned = 1 ORDER BY created_at DESC, id DESC "
                        "LIMIT ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, ticker).bind(2, domain::max_pinned_entries);
  return read_all<TickerEntry>(*st, read_entry);
}

}  // namespace depesche::store::sqlite
