#include <algorithm>

#include "store/postgres/pg_repositories.hpp"

namespace depesche::store::postgres {
namespace {

using domain::ArticleStatus;
using domain::Image;

#define ARTICLE_HEAD \
  "SELECT a.id, a.edition, a.slug, a.section_id, s.slug, s.name, a.headline, a.teaser, "
#define ARTICLE_TAIL                                                                              \
  ", a.image_url, a.image_caption, a.image_credit, a.image_width, a.image_height, a.author, "     \
  "a.status, a.top, a.published_at, a.created_at, a.updated_at, a.version, a.translation_group, " \
  "(SELECT string_agg(tag, chr(31) ORDER BY position) FROM article_tags "                         \
  "  WHERE article_id = a.id) "                                                                   \
  "FROM articles a JOIN sections s ON s.id = a.section_id "
#define ARTICLE_FULL ARTICLE_HEAD "a.body, a.body_html" ARTICLE_TAIL
#define ARTICLE_BRIEF ARTICLE_HEAD "'', ''" ARTICLE_TAIL
#define SECTION_COLUMNS "SELECT id, edition, slug, name, position FROM sections "
// The eighteen columns an article is written with, $1..$18 in this order
// (see article_params).
#define ARTICLE_FIELDS                                                                       \
  "edition, slug, section_id, headline, teaser, body, body_html, image_url, image_caption, " \
  "image_credit, image_width, image_height, author, status, top, published_at, updated_at, " \
  "translation_group"

Article read_article(const Rows& rows, int i) {
  Article a;
  a.id = rows.int64(i, 0);
  a.edition = rows.text(i, 1);
  a.slug = rows.text(i, 2);
  a.section_id = rows.int64(i, 3);
  a.section_slug = rows.text(i, 4);
  a.section_name = rows.text(i, 5);
  a.headline = rows.text(i, 6);
  a.teaser = rows.text(i, 7);
  a.body = rows.text(i, 8);
  a.body_html = rows.text(i, 9);
  if (!rows.is_null(i, 10)) {
    a.image = Image{rows.text(i, 10), rows.text(i, 11), rows.text(i, 12),
                    static_cast<int>(rows.int64(i, 13)), static_cast<int>(rows.int64(i, 14))};
  }
  a.author = rows.text(i, 15);
  a.status = rows.text(i, 16) == "published" ? ArticleStatus::published : ArticleStatus::draft;
  a.top = rows.int64(i, 17) != 0;
  a.published_at = rows.opt_int64(i, 18);
  a.created_at = rows.int64(i, 19);
  a.updated_at = rows.int64(i, 20);
  a.version = static_cast<int>(rows.int64(i, 21));
  a.translation_group = rows.int64(i, 22);
  // Tags come in one column, separated by the ASCII unit separator, which
  // tag validation keeps out of tags; lists then need no query per item.
  std::string tags = rows.text(i, 23);
  for (std::size_t start = 0; !tags.empty();) {
    auto end = tags.find('\x1f', start);
    a.tags.push_back(tags.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return a;
}

std::vector<Article> read_articles(const Rows& rows) {
  std::vector<Article> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) out.push_back(read_article(rows, i));
  return out;
}

Section read_section(const Rows& rows, int i) {
  return Section{rows.int64(i, 0), rows.text(i, 1), rows.text(i, 2), rows.text(i, 3),
                 static_cast<int>(rows.int64(i, 4))};
}

Result<Section> one_section(const Result<Rows>& rows) {
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return fail(ErrorCode::not_found, "no such section");
  return read_section(*rows, 0);
}

Result<Article> one_article(Connection& db, const Result<Rows>& rows) {
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return fail(ErrorCode::not_found, "no such article");
  Article a = read_article(*rows, 0);
  auto rel = db.query(
      "SELECT related_id FROM article_related WHERE article_id = $1::bigint ORDER BY position",
      a.id);
  if (!rel) return std::unexpected(rel.error());
  for (int i = 0; i < rel->size(); ++i) a.related_ids.push_back(rel->int64(i, 0));
  return a;
}

Result<void> done(const Result<Rows>& rows) {
  if (!rows) return std::unexpected(rows.error());
  return {};
}

// Inside the caller's transaction: a failure leaves it to roll back.
Result<void> write_links(Connection& db, const Article& a) {
  if (auto r = done(db.query("DELETE FROM article_tags WHERE article_id = $1::bigint", a.id)); !r)
    return r;
  int pos = 0;
  for (const auto& tag : a.tags)
    if (auto r = done(db.query("INSERT INTO article_tags (article_id, tag, position) VALUES "
                               "($1::bigint, $2, $3::integer) ON CONFLICT DO NOTHING",
                               a.id, tag, pos++));
        !r)
      return r;
  if (auto r = done(db.query("DELETE FROM article_related WHERE article_id = $1::bigint", a.id));
      !r)
    return r;
  pos = 0;
  for (auto rid : a.related_ids) {
    auto r = done(db.query(
        "INSERT INTO article_related (article_id, related_id, position) VALUES ($1::bigint, "
        "$2::bigint, $3::integer) ON CONFLICT DO NOTHING",
        a.id, rid, pos++));
    if (!r) {
      if (r.error().code == ErrorCode::invalid)
        return fail(ErrorCode::invalid, "a related article does not exist", "related");
      return r;
    }
  }
  return {};
}

Params article_params(const Article& a) {
  Params p;
  p.add(a.edition).add(a.slug).add(a.section_id).add(a.headline).add(a.teaser);
  p.add(a.body).add(a.body_html);
  if (a.image) {
    p.add(a.image->url).add(a.image->caption).add(a.image->credit);
    p.add(a.image->width).add(a.image->height);
  } else {
    for (int i = 8; i <= 12; ++i) p.add(std::nullopt);
  }
  p.add(a.author).add(to_string(a.status)).add(a.top ? 1 : 0).add(a.published_at);
  p.add(a.updated_at).add(a.translation_group);
  return p;
}

Result<Article> slug_taken_is_conflict(const Error& e) {
  if (e.code == ErrorCode::conflict)
    return fail(ErrorCode::conflict, "an article with that slug exists in this edition", "slug");
  return std::unexpected(e);
}

}  // namespace

Result<std::vector<Section>> PgArticleRepository::sections(std::string_view edition) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  // Names in code point order, as SQLite compares them, whatever the
  // database's collation.
  auto rows = (*db)->query(
      SECTION_COLUMNS "WHERE edition = $1 ORDER BY position, name COLLATE \"C\"", edition);
  if (!rows) return std::unexpected(rows.error());
  std::vector<Section> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) out.push_back(read_section(*rows, i));
  return out;
}

Result<Section> PgArticleRepository::section_by_slug(std::string_view edition,
                                                     std::string_view slug) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return one_section(
      (*db)->query(SECTION_COLUMNS "WHERE edition = $1 AND slug = $2", edition, slug));
}

Result<Section> PgArticleRepository::section_by_id(std::int64_t id) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return one_section((*db)->query(SECTION_COLUMNS "WHERE id = $1::bigint", id));
}

Result<Section> PgArticleRepository::create_section(const Section& s) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = query_guarded(**db,
                            "INSERT INTO sections (edition, slug, name, position) VALUES ($1, $2, "
                            "$3, $4::integer) RETURNING id",
                            s.edition, s.slug, s.name, s.position);
  if (!rows) {
    if (rows.error().code == ErrorCode::conflict)
      return fail(ErrorCode::conflict, "a section with that slug exists", "slug");
    return std::unexpected(rows.error());
  }
  Section out = s;
  out.id = rows->int64(0, 0);
  return out;
}

Result<Article> PgArticleRepository::by_id(std::int64_t id) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return one_article(**db, (*db)->query(ARTICLE_FULL "WHERE a.id = $1::bigint", id));
}

Result<Article> PgArticleRepository::by_slug(std::string_view edition, std::string_view slug) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return one_article(
      **db, (*db)->query(ARTICLE_FULL "WHERE a.edition = $1 AND a.slug = $2", edition, slug));
}

Result<domain::Page<Article>> PgArticleRepository::list(const ArticleQuery& q) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  std::optional<int> top;
  if (q.top) top = *q.top ? 1 : 0;
  std::optional<std::int64_t> after_time, after_id;
  if (q.after) {
    after_time = q.after->at;
    after_id = q.after->id;
  }
  int limit = std::clamp(q.limit, 1, 200);
  auto rows = (*db)->query(
      ARTICLE_BRIEF
      "WHERE a.edition = $1 AND ($2::bigint IS NULL OR a.section_id = $2::bigint) "
      "AND ($3::integer IS NULL OR a.top = $3::integer) AND ($4::boolean OR a.status = "
      "'published') AND ($5::bigint IS NULL OR (COALESCE(a.published_at, a.created_at), a.id) < "
      "($5::bigint, $6::bigint)) "
      "ORDER BY COALESCE(a.published_at, a.created_at) DESC, a.id DESC LIMIT $7",
      q.edition, q.section_id, top, q.include_drafts, after_time, after_id,
      limit + 1);  // one more tells whether a next page exists
  if (!rows) return std::unexpected(rows.error());
  domain::Page<Article> page;
  page.items = read_articles(*rows);
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.pop_back();
    const Article& last = page.items.back();
    page.next = domain::Cursor{last.published_at.value_or(last.created_at), last.id};
  }
  return page;
}

Result<std::vector<Article>> PgArticleRepository::related_by_tags(const Article& a, int limit) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(ARTICLE_BRIEF
                           "JOIN (SELECT t.article_id AS aid, COUNT(*) AS shared FROM article_tags "
                           "t WHERE t.tag IN (SELECT tag FROM article_tags WHERE article_id = "
                           "$1::bigint) GROUP BY t.article_id) m ON m.aid = a.id "
                           "WHERE a.id <> $1::bigint AND a.edition = $2 AND a.status = "
                           "'published' ORDER BY m.shared DESC, a.published_at DESC NULLS LAST, "
                           "a.id DESC LIMIT $3",
                           a.id, a.edition, limit);
  if (!rows) return std::unexpected(rows.error());
  return read_articles(*rows);
}

Result<std::map<std::string, std::int64_t>> PgArticleRepository::translations(std::int64_t group) {
  std::map<std::string, std::int64_t> out;
  if (group == 0) return out;
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows =
      (*db)->query("SELECT edition, id FROM articles WHERE translation_group = $1::bigint", group);
  if (!rows) return std::unexpected(rows.error());
  for (int i = 0; i < rows->size(); ++i) out.emplace(rows->text(i, 0), rows->int64(i, 1));
  return out;
}

Result<Article> PgArticleRepository::insert(const Article& a) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  Transaction tx(**db);
  if (auto r = tx.begin(); !r) return std::unexpected(r.error());
  Params p = article_params(a);
  p.add(a.created_at);
  auto rows = (*db)->query("INSERT INTO articles (" ARTICLE_FIELDS
                           ", created_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                           "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 1) RETURNING id",
                           p);
  if (!rows) return slug_taken_is_conflict(rows.error());
  Article out = a;
  out.id = rows->int64(0, 0);
  out.version = 1;
  if (a.translation_group != 0) {
    // The group is named after its first article; make sure that one is in it.
    if (auto r = done((*db)->query("UPDATE articles SET translation_group = $1::bigint WHERE id = "
                                   "$1::bigint AND translation_group = 0",
                                   a.translation_group));
        !r)
      return std::unexpected(r.error());
  }
  if (auto r = write_links(**db, out); !r) return std::unexpected(r.error());
  if (auto r = tx.commit(); !r) return std::unexpected(r.error());
  return out;
}

Result<Article> PgArticleRepository::update(const Article& a, int expected_version) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  Transaction tx(**db);
  if (auto r = tx.begin(); !r) return std::unexpected(r.error());
  // FOR UPDATE: a concurrent update of the same version waits for this
  // one, then finds the version changed.
  auto rev = (*db)->query(
      "INSERT INTO article_revisions (article_id, version, headline, teaser, body, saved_at) "
      "SELECT id, version, headline, teaser, body, $3::bigint FROM articles WHERE id = "
      "$1::bigint AND version = $2::integer FOR UPDATE",
      a.id, expected_version, a.updated_at);
  if (!rev) {
    if (rev.error().code == ErrorCode::conflict)
      return fail(ErrorCode::conflict, "the article was changed meanwhile; reload and retry");
    return std::unexpected(rev.error());
  }
  if (rev->affected() == 0)
    return fail(ErrorCode::conflict, "the article was changed meanwhile; reload and retry");
  Params p = article_params(a);
  p.add(a.id);
  auto st = (*db)->query("UPDATE articles SET (" ARTICLE_FIELDS
                         ") = ROW($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
                         "$15, $16, $17, $18), version = version + 1 WHERE id = $19::bigint",
                         p);
  if (!st) return slug_taken_is_conflict(st.error());
  if (auto r = write_links(**db, a); !r) return std::unexpected(r.error());
  if (auto r = tx.commit(); !r) return std::unexpected(r.error());
  Article out = a;
  out.version = expected_version + 1;
  return out;
}

Result<std::vector<ArticleRevision>> PgArticleRepository::revisions(std::int64_t article_id) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(
      "SELECT article_id, version, headline, teaser, body, saved_at FROM article_revisions "
      "WHERE article_id = $1::bigint ORDER BY version DESC",
      article_id);
  if (!rows) return std::unexpected(rows.error());
  std::vector<ArticleRevision> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i)
    out.push_back(ArticleRevision{rows->int64(i, 0), static_cast<int>(rows->int64(i, 1)),
                                  rows->text(i, 2), rows->text(i, 3), rows->text(i, 4),
                                  rows->int64(i, 5)});
  return out;
}

Result<std::int64_t> PgArticleRepository::count() {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query("SELECT COUNT(*) FROM articles");
  if (!rows) return std::unexpected(rows.error());
  return rows->int64(0, 0);
}

}  // namespace depesche::store::postgres
