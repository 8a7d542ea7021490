#include <algorithm>

#include "store/sqlite/keyset.hpp"
#include "store/sqlite/sqlite_repositories.hpp"

namespace depesche::store::sqlite {
namespace {

using domain::ArticleStatus;
using domain::Image;

#define ARTICLE_HEAD \
  "SELECT a.id, a.edition, a.slug, a.section_id, s.slug, s.name, a.headline, a.teaser, "
#define ARTICLE_TAIL                                                                              \
  ", a.image_url, a.image_caption, a.image_credit, a.image_width, a.image_height, a.author, "     \
  "a.status, a.top, a.published_at, a.created_at, a.updated_at, a.version, a.translation_group, " \
  "(SELECT group_concat(tag, char(31)) FROM (SELECT tag FROM article_tags "                       \
  "  WHERE article_id = a.id ORDER BY position)) "                                                \
  "FROM articles a JOIN sections s ON s.id = a.section_id "
#define ARTICLE_FULL ARTICLE_HEAD "a.body, a.body_html" ARTICLE_TAIL
#define ARTICLE_BRIEF ARTICLE_HEAD "'', ''" ARTICLE_TAIL

Article read_article(const Statement& st) {
  Article a;
  a.id = st.int64(0);
  a.edition = st.text(1);
  a.slug = st.text(2);
  a.section_id = st.int64(3);
  a.section_slug = st.text(4);
  a.section_name = st.text(5);
  a.headline = st.text(6);
  a.teaser = st.text(7);
  a.body = st.text(8);
  a.body_html = st.text(9);
  if (!st.is_null(10)) {
    a.image = Image{st.text(10), st.text(11), st.text(12), static_cast<int>(st.int64(13)),
                    static_cast<int>(st.int64(14))};
  }
  a.author = st.text(15);
  a.status = st.text(16) == "published" ? ArticleStatus::published : ArticleStatus::draft;
  a.top = st.int64(17) != 0;
  a.published_at = st.opt_int64(18);
  a.created_at = st.int64(19);
  a.updated_at = st.int64(20);
  a.version = static_cast<int>(st.int64(21));
  a.translation_group = st.int64(22);
  // Tags come in one column, separated by the ASCII unit separator, which
  // tag validation keeps out of tags; lists then need no query per item.
  std::string tags = st.text(23);
  for (std::size_t start = 0; !tags.empty();) {
    auto end = tags.find('\x1f', start);
    a.tags.push_back(tags.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return a;
}

Section read_section(const Statement& st) {
  return Section{st.int64(0), st.text(1), st.text(2), st.text(3), static_cast<int>(st.int64(4))};
}

Result<void> load_links(Database& db, Article& a) {
  auto rel =
      db.prepare("SELECT related_id FROM article_related WHERE article_id = ? ORDER BY position");
  if (!rel) return std::unexpected(rel.error());
  rel->bind(1, a.id);
  for (;;) {
    auto row = rel->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    a.related_ids.push_back(rel->int64(0));
  }
  return {};
}

Result<Article> one_article(Database& db, Statement& st) {
  auto row = st.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no such article");
  Article a = read_article(st);
  if (auto r = load_links(db, a); !r) return std::unexpected(r.error());
  return a;
}

Result<void> write_links(Database& db, const Article& a) {
  auto del_tags = db.prepare("DELETE FROM article_tags WHERE article_id = ?");
  if (!del_tags) return std::unexpected(del_tags.error());
  del_tags->bind(1, a.id);
  if (auto r = del_tags->run(); !r) return r;
  int pos = 0;
  for (const auto& tag : a.tags) {
    auto st = db.prepare(
        "INSERT OR IGNORE INTO article_tags (article_id, tag, position) VALUES (?, ?, ?)");
    if (!st) return std::unexpected(st.error());
    st->bind(1, a.id).bind(2, tag).bind(3, pos++);
    if (auto r = st->run(); !r) return r;
  }
  auto del_rel = db.prepare("DELETE FROM article_related WHERE article_id = ?");
  if (!del_rel) return std::unexpected(del_rel.error());
  del_rel->bind(1, a.id);
  if (auto r = del_rel->run(); !r) return r;
  pos = 0;
  for (auto rid : a.related_ids) {
    auto st = db.prepare(
        "INSERT OR IGNORE INTO article_related (article_id, related_id, position) VALUES (?, ?, "
        "?)");
    if (!st) return std::unexpected(st.error());
    st->bind(1, a.id).bind(2, rid).bind(3, pos++);
    if (auto r = st->run(); !r) {
      if (r.error().code == ErrorCode::invalid)
        return fail(ErrorCode::invalid, "a related article does not exist", "related");
      return r;
    }
  }
  return {};
}

void bind_article_fields(Statement& st, const Article& a) {
  st.bind(1, a.edition).bind(2, a.slug).bind(3, a.section_id).bind(4, a.headline).bind(5, a.teaser);
  st.bind(6, a.body).bind(7, a.body_html);
  if (a.image) {
    st.bind(8, a.image->url).bind(9, a.image->caption).bind(10, a.image->credit);
    st.bind(11, a.image->width).bind(12, a.image->height);
  } else {
    for (int i = 8; i <= 12; ++i) st.bind_null(i);
  }
  st.bind(13, a.author).bind(14, to_string(a.status)).bind(15, a.top).bind(16, a.published_at);
  st.bind(17, a.updated_at).bind(18, a.translation_group);
}

}  // namespace

Result<std::vector<Section>> SqliteArticleRepository::sections(std::string_view edition) {
  auto db = pool_.reader();
  auto st = db->prepare(
      "SELECT id, edition, slug, name, position FROM sections WHERE edition = ? ORDER BY position, "
      "name");
  if (!st) return std::unexpected(st.error());
  st->bind(1, edition);
  std::vector<Section> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_section(*st));
  }
  return out;
}

Result<Section> SqliteArticleRepository::section_by_slug(std::string_view edition,
                                                         std::string_view slug) {
  auto db = pool_.reader();
  auto st = db->prepare(
      "SELECT id, edition, slug, name, position FROM sections WHERE edition = ? AND slug = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, edition).bind(2, slug);
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no such section");
  return read_section(*st);
}

Result<Section> SqliteArticleRepository::section_by_id(std::int64_t id) {
  auto db = pool_.reader();
  auto st = db->prepare("SELECT id, edition, slug, name, position FROM sections WHERE id = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, id);
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no such section");
  return read_section(*st);
}

Result<Section> SqliteArticleRepository::create_section(const Section& s) {
  auto db = pool_.writer();
  auto st = db->prepare("INSERT INTO sections (edition, slug, name, position) VALUES (?, ?, ?, ?)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, s.edition).bind(2, s.slug).bind(3, s.name).bind(4, s.position);
  if (auto r = st->run(); !r) {
    if (r.error().code == ErrorCode::conflict)
      return fail(ErrorCode::conflict, "a section with that slug exists", "slug");
    return std::unexpected(r.error());
  }
  Section out = s;
  out.id = db->last_insert_id();
  return out;
}

Result<Article> SqliteArticleRepository::by_id(std::int64_t id) {
  auto db = pool_.reader();
  auto st = db->prepare(ARTICLE_FULL "WHERE a.id = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, id);
  return one_article(*db, *st);
}

Result<Article> SqliteArticleRepository::by_slug(std::string_view edition, std::string_view slug) {
  auto db = pool_.reader();
  auto st = db->prepare(ARTICLE_FULL "WHERE a.edition = ? AND a.slug = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, edition).bind(2, slug);
  return one_article(*db, *st);
}

Result<domain::Page<Article>> SqliteArticleRepository::list(const ArticleQuery& q) {
  auto db = pool_.reader();
  // Drafts have no publication time yet and sort by their creation.
  Keyset keyset("COALESCE(a.published_at, a.created_at)", "a.id", domain::PageOrder::newest,
                q.after, std::clamp(q.limit, 1, 200), 5);
  std::string sql = ARTICLE_BRIEF
                    "WHERE a.edition = ?1 AND (?2 IS NULL OR a.section_id = ?2) "
                    "AND (?3 IS NULL OR a.top = ?3) AND (?4 = 1 OR a.status = 'published')" +
                    keyset.sql();
  auto st = db->prepare(sql.c_str());
  if (!st) return std::unexpected(st.error());
  st->bind(1, q.edition).bind(2, q.section_id);
  if (q.top)
    st->bind(3, *q.top);
  else
    st->bind_null(3);
  st->bind(4, q.include_drafts);
  keyset.bind(*st);
  return keyset.read_page<Article>(*st, read_article, [](const Article& a) {
    return domain::Cursor{a.published_at.value_or(a.created_at), a.id};
  });
}

Result<std::vector<Article>> SqliteArticleRepository::related_by_tags(const Article& a, int limit) {
  auto db = pool_.reader();
  auto st = db->prepare(ARTICLE_BRIEF
                        "JOIN (SELECT t.article_id AS aid, COUNT(*) AS shared FROM article_tags t "
                        "      WHERE t.tag IN (SELECT tag FROM article_tags WHERE article_id = ?1) "
                        "      GROUP BY t.article_id) m ON m.aid = a.id "
                        "WHERE a.id <> ?1 AND a.edition = ?2 AND a.status = 'published' "
                        "ORDER BY m.shared DESC, a.published_at DESC, a.id DESC LIMIT ?3");
  if (!st) return std::unexpected(st.error());
  st->bind(1, a.id).bind(2, a.edition).bind(3, limit);
  std::vector<Article> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_article(*st));
  }
  return out;
}

Result<std::map<std::string, std::int64_t>> SqliteArticleRepository::translations(
    std::int64_t group) {
  std::map<std::string, std::int64_t> out;
  if (group == 0) return out;
  auto db = pool_.reader();
  auto st = db->prepare("SELECT edition, id FROM articles WHERE translation_group = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, group);
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.emplace(st->text(0), st->int64(1));
  }
  return out;
}

Result<Article> SqliteArticleRepository::insert(const Article& a) {
  auto db = pool_.writer();
  Transaction tx(*db);
  if (auto r = tx.begin(); !r) return std::unexpected(r.error());
  auto st = db->prepare(
      "INSERT INTO articles (edition, slug, section_id, headline, teaser, body, body_html, "
      "image_url, "
      "image_caption, image_credit, image_width, image_height, author, status, top, published_at, "
      "updated_at, translation_group, created_at, version) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
      "?19, 1)");
  if (!st) return std::unexpected(st.error());
  bind_article_fields(*st, a);
  st->bind(19, a.created_at);
  if (auto r = st->run(); !r) {
    if (r.error().code == ErrorCode::conflict)
      return fail(ErrorCode::conflict, "an article with that slug exists in this edition", "slug");
    return std::unexpected(r.error());
  }
  Article out = a;
  out.id = db->last_insert_id();
  out.version = 1;
  if (a.translation_group != 0) {
    // The group is named after its first article; make sure that one is in it.
    auto g = db->prepare(
        "UPDATE articles SET translation_group = ?1 WHERE id = ?1 AND translation_group = 0");
    if (!g) return std::unexpected(g.error());
    g->bind(1, a.translation_group);
    if (auto r = g->run(); !r) return std::unexpected(r.error());
  }
  if (auto r = write_links(*db, out); !r) return std::unexpected(r.error());
  if (auto r = tx.commit(); !r) return std::unexpected(r.error());
  return out;
}

Result<Article> SqliteArticleRepository::update(const Article& a, int expected_version) {
  auto db = pool_.writer();
  Transaction tx(*db);
  if (auto r = tx.begin(); !r) return std::unexpected(r.error());
  auto rev = db->prepare(
      "INSERT INTO article_revisions (article_id, version, headline, teaser, body, saved_at) "
      "SELECT id, version, headline, teaser, body, ?3 FROM articles WHERE id = ?1 AND version = "
      "?2");
  if (!rev) return std::unexpected(rev.error());
  rev->bind(1, a.id).bind(2, expected_version).bind(3, a.updated_at);
  if (auto r = rev->run(); !r) return std::unexpected(r.error());
  if (db->changes() == 0)
    return fail(ErrorCode::conflict, "the article was changed meanwhile; reload and retry");
  auto st = db->prepare(
      "UPDATE articles SET edition = ?1, slug = ?2, section_id = ?3, headline = ?4, teaser = ?5, "
      "body = ?6, body_html = ?7, image_url = ?8, image_caption = ?9, image_credit = ?10, "
      "image_width = ?11, image_height = ?12, author = ?13, status = ?14, top = ?15, "
      "published_at = ?16, updated_at = ?17, translation_group = ?18, version = version + 1 "
      "WHERE id = ?19");
  if (!st) return std::unexpected(st.error());
  bind_article_fields(*st, a);
  st->bind(19, a.id);
  if (auto r = st->run(); !r) {
    if (r.error().code == ErrorCode::conflict)
      return fail(ErrorCode::conflict, "an article with that slug exists in this edition", "slug");
    return std::unexpected(r.error());
  }
  if (auto r = write_links(*db, a); !r) return std::unexpected(r.error());
  if (auto r = tx.commit(); !r) return std::unexpected(r.error());
  Article out = a;
  out.version = expected_version + 1;
  return out;
}

Result<std::vector<ArticleRevision>> SqliteArticleRepository::revisions(std::int64_t article_id) {
  auto db = pool_.reader();
  auto st = db->prepare(
      "SELECT article_id, version, headline, teaser, body, saved_at FROM article_revisions "
      "WHERE article_id = ? ORDER BY version DESC");
  if (!st) return std::unexpected(st.error());
  st->bind(1, article_id);
  std::vector<ArticleRevision> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(ArticleRevision{st->int64(0), static_cast<int>(st->int64(1)), st->text(2),
                                  st->text(3), st->text(4), st->int64(5)});
  }
  return out;
}

Result<std::int64_t> SqliteArticleRepository::count() {
  auto db = pool_.reader();
  auto st = db->prepare("SELECT COUNT(*) FROM articles");
  if (!st) return std::unexpected(st.error());
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  return st->int64(0);
}

}  // namespace depesche::store::sqlite
