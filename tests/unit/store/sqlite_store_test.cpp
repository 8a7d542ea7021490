// The store contract, run against SQLite (and later PostgreSQL, same tests).
#include <gtest/gtest.h>

#include "store_fixture.hpp"

using namespace depesche;
using domain::Article;
using domain::ArticleStatus;

namespace {
Article make_article(std::int64_t section, std::string slug, Millis published) {
  Article a;
  a.edition = "en";
  a.slug = std::move(slug);
  a.section_id = section;
  a.headline = "Headline " + a.slug;
  a.teaser = "Teaser";
  a.body = "Body";
  a.body_html = "<p>Body</p>";
  a.status = ArticleStatus::published;
  a.published_at = published;
  a.created_at = a.updated_at = published;
  a.tags = {"harbour", "strike"};
  return a;
}
}  // namespace

class SqliteStoreTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = open_test_store(dir);
  std::int64_t section_id() {
    auto s = store->articles().create_section({0, "en", "economy", "Economy", 1});
    return s ? s->id : store->articles().section_by_slug("en", "economy")->id;
  }
};

TEST_F(SqliteStoreTest, MigrationIsIdempotent) {
  EXPECT_EQ(store->migrate().value(), store->migrate().value());
  EXPECT_TRUE(store->ping().has_value());
}

TEST_F(SqliteStoreTest, DuplicateSlugsAreConflicts) {
  auto sec = section_id();
  ASSERT_TRUE(store->articles().insert(make_article(sec, "a", 1000)));
  auto again = store->articles().insert(make_article(sec, "a", 2000));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
  EXPECT_EQ(store->articles().count().value(), 1);
  auto dup_section = store->articles().create_section({0, "en", "economy", "Again", 2});
  EXPECT_EQ(dup_section.error().code, ErrorCode::conflict);
}

TEST_F(SqliteStoreTest, ReadsBackEveryField) {
  auto sec = section_id();
  Article a = make_article(sec, "full", 5000);
  a.image = domain::Image{"/media/x.svg", "Caption", "Agency / Photographer", 1600, 900};
  a.author = "Anna Berg";
  a.top = true;
  auto stored = store->articles().insert(a);
  ASSERT_TRUE(stored);
  auto read = store->articles().by_slug("en", "full");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->id, stored->id);
  EXPECT_EQ(read->section_slug, "economy");
  EXPECT_EQ(read->section_name, "Economy");
  ASSERT_TRUE(read->image);
  EXPECT_EQ(read->image->credit, "Agency / Photographer");
  EXPECT_EQ(read->image->width, 1600);
  EXPECT_EQ(read->tags, (std::vector<std::string>{"harbour", "strike"}));
  EXPECT_TRUE(read->top);
  EXPECT_EQ(read->published_at, 5000);
  EXPECT_EQ(store->articles().by_slug("en", "missing").error().code, ErrorCode::not_found);
}

TEST_F(SqliteStoreTest, ListsNewestFirstWithStableCursors) {
  auto sec = section_id();
  for (int i = 0; i < 7; ++i)
    ASSERT_TRUE(
        store->articles().insert(make_article(sec, "a" + std::to_string(i), 1000 * (i % 3))));
  std::vector<std::int64_t> seen;
  domain::ArticleQuery q{.edition = "en", .limit = 3};
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store->articles().list(q);
    ASSERT_TRUE(page);
    for (const auto& a : page->items) {
      if (!seen.empty()) {
        auto prev = store->articles().by_id(seen.back()).value();
        EXPECT_TRUE(prev.published_at > a.published_at ||
                    (prev.published_at == a.published_at && prev.id > a.id));
      }
      seen.push_back(a.id);
      EXPECT_TRUE(a.body.empty()) << "lists carry no body";
    }
    if (!page->next) break;
    q.after = page->next;
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST_F(SqliteStoreTest, DraftsAreListedOnlyWhenAsked) {
  auto sec = section_id();
  Article d = make_article(sec, "draft", 1000);
  d.status = ArticleStatus::draft;
  d.published_at.reset();
  ASSERT_TRUE(store->articles().insert(d));
  EXPECT_TRUE(store->articles().list({.edition = "en"})->items.empty());
  EXPECT_EQ(store->articles().list({.edition = "en", .include_drafts = true})->items.size(), 1u);
}

TEST_F(SqliteStoreTest, UpdateChecksVersionAndKeepsRevisions) {
  auto sec = section_id();
  auto a = store->articles().insert(make_article(sec, "v", 1000)).value();
  Article changed = a;
  changed.headline = "New headline";
  auto v2 = store->articles().update(changed, 1);
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->version, 2);
  auto stale = store->articles().update(changed, 1);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::conflict);
  auto revs = store->articles().revisions(a.id).value();
  ASSERT_EQ(revs.size(), 1u);
  EXPECT_EQ(revs[0].headline, "Headline v");
  EXPECT_EQ(store->articles().by_id(a.id)->headline, "New headline");
}

TEST_F(SqliteStoreTest, RelatedByTagsPrefersMoreSharedTags) {
  auto sec = section_id();
  auto base = store->articles().insert(make_article(sec, "base", 1000)).value();
  Article one = make_article(sec, "one-tag", 3000);
  one.tags = {"harbour"};
  Article two = make_article(sec, "two-tags", 2000);
  Article none = make_article(sec, "no-tags", 4000);
  none.tags = {"sport"};
  auto o = store->articles().insert(one).value();
  auto t = store->articles().insert(two).value();
  ASSERT_TRUE(store->articles().insert(none));
  auto rel = store->articles().related_by_tags(base, 5).value();
  ASSERT_EQ(rel.size(), 2u);
  EXPECT_EQ(rel[0].id, t.id);
  EXPECT_EQ(rel[1].id, o.id);
}

TEST_F(SqliteStoreTest, TokensAreFoundByHashAndRevoked) {
  domain::ApiToken t{0, "wire", domain::Role::editor, std::string(64, 'a'), 1, std::nullopt};
  ASSERT_TRUE(store->tokens().insert(t));
  EXPECT_EQ(store->tokens().insert(t).error().code, ErrorCode::conflict);
  EXPECT_EQ(store->tokens().active_by_hash(std::string(64, 'a'))->name, "wire");
  ASSERT_TRUE(store->tokens().revoke("wire", 2));
  EXPECT_EQ(store->tokens().active_by_hash(std::string(64, 'a')).error().code,
            ErrorCode::not_found);
  EXPECT_EQ(store->tokens().revoke("wire", 3).error().code, ErrorCode::not_found);
}
