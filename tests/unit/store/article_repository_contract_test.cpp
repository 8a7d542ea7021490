// The ArticleRepository contract (sections, articles, lists, revisions,
// related articles, translations), run against every Store implementation
// (store_kinds()).
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

class ArticleRepositoryContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = GetParam().open(dir);
  store::ArticleRepository& articles = store->articles();

  std::int64_t section_id() {
    auto s = articles.create_section({0, "en", "economy", "Economy", 1});
    return s ? s->id : articles.section_by_slug("en", "economy")->id;
  }
  Article add(Article a) {
    auto stored = articles.insert(a);
    EXPECT_TRUE(stored) << stored.error().message;
    return stored.value_or(Article{});
  }
  std::vector<std::int64_t> ids(const std::vector<Article>& items) {
    std::vector<std::int64_t> out;
    for (const auto& a : items) out.push_back(a.id);
    return out;
  }
};

// --- sections -----------------------------------------------------------------

TEST_P(ArticleRepositoryContract, SectionsAreOrderedByPositionThenName) {
  auto sport = articles.create_section({0, "en", "sport", "Sport", 2}).value();
  auto economy = articles.create_section({0, "en", "economy", "Economy", 1}).value();
  auto arts = articles.create_section({0, "en", "arts", "Arts", 2}).value();
  ASSERT_TRUE(articles.create_section({0, "de", "sport", "Sport", 0})) << "slugs are per edition";
  auto en = articles.sections("en");
  ASSERT_TRUE(en);
  ASSERT_EQ(en->size(), 3u);
  EXPECT_EQ((*en)[0].id, economy.id);
  EXPECT_EQ((*en)[1].id, arts.id);
  EXPECT_EQ((*en)[2].id, sport.id);
  EXPECT_EQ(articles.sections("de")->size(), 1u);
  EXPECT_TRUE(articles.sections("ru")->empty());
}

TEST_P(ArticleRepositoryContract, SectionsAreFoundBySlugAndId) {
  auto created = articles.create_section({0, "en", "economy", "Economy", 3});
  ASSERT_TRUE(created);
  EXPECT_GT(created->id, 0);
  for (auto read :
       {articles.section_by_slug("en", "economy"), articles.section_by_id(created->id)}) {
    ASSERT_TRUE(read);
    EXPECT_EQ(read->id, created->id);
    EXPECT_EQ(read->edition, "en");
    EXPECT_EQ(read->slug, "economy");
    EXPECT_EQ(read->name, "Economy");
    EXPECT_EQ(read->position, 3);
  }
  EXPECT_EQ(articles.section_by_slug("de", "economy").error().code, ErrorCode::not_found);
  EXPECT_EQ(articles.section_by_slug("en", "sport").error().code, ErrorCode::not_found);
  EXPECT_EQ(articles.section_by_id(created->id + 1).error().code, ErrorCode::not_found);
}

TEST_P(ArticleRepositoryContract, DuplicateSlugsAreConflicts) {
  auto sec = section_id();
  ASSERT_TRUE(articles.insert(make_article(sec, "a", 1000)));
  auto again = articles.insert(make_article(sec, "a", 2000));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
  EXPECT_EQ(again.error().field, "slug");
  EXPECT_EQ(articles.count().value(), 1);
  auto dup_section = articles.create_section({0, "en", "economy", "Again", 2});
  ASSERT_FALSE(dup_section);
  EXPECT_EQ(dup_section.error().code, ErrorCode::conflict);
  EXPECT_EQ(articles.section_by_slug("en", "economy")->name, "Economy");
  Article other_edition = make_article(sec, "a", 3000);
  other_edition.edition = "de";
  EXPECT_TRUE(articles.insert(other_edition)) << "slugs are per edition";
  EXPECT_EQ(articles.count().value(), 2);
}

// --- articles -----------------------------------------------------------------

TEST_P(ArticleRepositoryContract, ReadsBackEveryField) {
  auto sec = section_id();
  auto related = add(make_article(sec, "related", 1000));
  Article a = make_article(sec, "full", 5000);
  a.image = domain::Image{"/media/x.svg", "Caption", "Agency / Photographer", 1600, 900};
  a.author = "Anna Berg";
  a.top = true;
  a.created_at = 4000;
  a.updated_at = 6000;
  a.related_ids = {related.id};
  auto stored = articles.insert(a);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->version, 1);
  for (auto read : {articles.by_slug("en", "full"), articles.by_id(stored->id)}) {
    ASSERT_TRUE(read);
    EXPECT_EQ(read->id, stored->id);
    EXPECT_EQ(read->edition, "en");
    EXPECT_EQ(read->slug, "full");
    EXPECT_EQ(read->section_id, sec);
    EXPECT_EQ(read->section_slug, "economy");
    EXPECT_EQ(read->section_name, "Economy");
    EXPECT_EQ(read->headline, "Headline full");
    EXPECT_EQ(read->teaser, "Teaser");
    EXPECT_EQ(read->body, "Body");
    EXPECT_EQ(read->body_html, "<p>Body</p>");
    ASSERT_TRUE(read->image);
    EXPECT_EQ(read->image->url, "/media/x.svg");
    EXPECT_EQ(read->image->caption, "Caption");
    EXPECT_EQ(read->image->credit, "Agency / Photographer");
    EXPECT_EQ(read->image->width, 1600);
    EXPECT_EQ(read->image->height, 900);
    EXPECT_EQ(read->author, "Anna Berg");
    EXPECT_EQ(read->tags, (std::vector<std::string>{"harbour", "strike"}));
    EXPECT_EQ(read->status, ArticleStatus::published);
    EXPECT_TRUE(read->top);
    EXPECT_EQ(read->published_at, 5000);
    EXPECT_EQ(read->created_at, 4000);
    EXPECT_EQ(read->updated_at, 6000);
    EXPECT_EQ(read->version, 1);
    EXPECT_EQ(read->translation_group, 0);
    EXPECT_EQ(read->related_ids, (std::vector<std::int64_t>{related.id}));
  }
  EXPECT_EQ(articles.by_slug("en", "missing").error().code, ErrorCode::not_found);
  EXPECT_EQ(articles.by_slug("de", "full").error().code, ErrorCode::not_found);
  EXPECT_EQ(articles.by_id(stored->id + 100).error().code, ErrorCode::not_found);
}

TEST_P(ArticleRepositoryContract, KeepsTheOrderOfTagsAndRelatedArticles) {
  auto sec = section_id();
  auto r1 = add(make_article(sec, "r1", 1));
  auto r2 = add(make_article(sec, "r2", 2));
  auto r3 = add(make_article(sec, "r3", 3));
  Article a = make_article(sec, "ordered", 10);
  a.tags = {"zebra", "apple", "mango"};
  a.related_ids = {r3.id, r1.id, r2.id};
  auto stored = add(a);
  auto read = articles.by_id(stored.id).value();
  EXPECT_EQ(read.tags, (std::vector<std::string>{"zebra", "apple", "mango"}));
  EXPECT_EQ(read.related_ids, (std::vector<std::int64_t>{r3.id, r1.id, r2.id}));

  Article plain = make_article(sec, "plain", 11);
  plain.tags.clear();
  auto p = articles.by_id(add(plain).id).value();
  EXPECT_TRUE(p.tags.empty());
  EXPECT_TRUE(p.related_ids.empty());
  EXPECT_FALSE(p.image);
}

TEST_P(ArticleRepositoryContract, RelatedArticlesMustExist) {
  auto sec = section_id();
  Article a = make_article(sec, "dangling", 10);
  a.related_ids = {4242};
  auto r = articles.insert(a);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid);
  EXPECT_EQ(articles.count().value(), 0) << "the article is not stored half";
  EXPECT_EQ(articles.by_slug("en", "dangling").error().code, ErrorCode::not_found);
}

TEST_P(ArticleRepositoryContract, ArticlesInAnUnknownSectionAreRefused) {
  auto r = articles.insert(make_article(4242, "nowhere", 10));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid);
  EXPECT_EQ(articles.count().value(), 0);
}

// --- lists --------------------------------------------------------------------

TEST_P(ArticleRepositoryContract, ListsNewestFirstWithStableCursors) {
  auto sec = section_id();
  for (int i = 0; i < 7; ++i)
    ASSERT_TRUE(articles.insert(make_article(sec, "a" + std::to_string(i), 1000 * (i % 3))));
  std::vector<std::int64_t> seen;
  domain::ArticleQuery q{.edition = "en", .limit = 3};
  for (int pages = 0; pages < 10; ++pages) {
    auto page = articles.list(q);
    ASSERT_TRUE(page);
    for (const auto& a : page->items) {
      if (!seen.empty()) {
        auto prev = articles.by_id(seen.back()).value();
        EXPECT_TRUE(prev.published_at > a.published_at ||
                    (prev.published_at == a.published_at && prev.id > a.id));
      }
      seen.push_back(a.id);
      EXPECT_TRUE(a.body.empty()) << "lists carry no body";
      EXPECT_TRUE(a.body_html.empty());
      EXPECT_FALSE(a.headline.empty()) << "but everything a teaser needs";
      EXPECT_EQ(a.section_slug, "economy");
      EXPECT_EQ(a.tags, (std::vector<std::string>{"harbour", "strike"}));
    }
    if (!page->next) break;
    q.after = page->next;
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST_P(ArticleRepositoryContract, ListsFilterByEditionSectionAndTop) {
  auto economy = section_id();
  auto sport = articles.create_section({0, "en", "sport", "Sport", 2}).value().id;
  auto de_sec = articles.create_section({0, "de", "wirtschaft", "Wirtschaft", 1}).value().id;
  auto e1 = add(make_article(economy, "e1", 100));
  Article top = make_article(sport, "s1", 200);
  top.top = true;
  auto s1 = add(top);
  Article german = make_article(de_sec, "d1", 300);
  german.edition = "de";
  auto d1 = add(german);

  EXPECT_EQ(ids(articles.list({.edition = "en"})->items),
            (std::vector<std::int64_t>{s1.id, e1.id}));
  EXPECT_EQ(ids(articles.list({.edition = "de"})->items), (std::vector<std::int64_t>{d1.id}));
  EXPECT_EQ(ids(articles.list({.edition = "en", .section_id = economy})->items),
            (std::vector<std::int64_t>{e1.id}));
  EXPECT_EQ(ids(articles.list({.edition = "en", .top = true})->items),
            (std::vector<std::int64_t>{s1.id}));
  EXPECT_EQ(ids(articles.list({.edition = "en", .top = false})->items),
            (std::vector<std::int64_t>{e1.id}));
  EXPECT_TRUE(articles.list({.edition = "en", .section_id = de_sec})->items.empty());
  EXPECT_TRUE(articles.list({.edition = "ru"})->items.empty());
}

TEST_P(ArticleRepositoryContract, DraftsAreListedOnlyWhenAsked) {
  auto sec = section_id();
  Article d = make_article(sec, "draft", 1000);
  d.status = ArticleStatus::draft;
  d.published_at.reset();
  ASSERT_TRUE(articles.insert(d));
  EXPECT_TRUE(articles.list({.edition = "en"})->items.empty());
  EXPECT_EQ(articles.list({.edition = "en", .include_drafts = true})->items.size(), 1u);
}

TEST_P(ArticleRepositoryContract, DraftsSortByCreationTimeAmongPublishedArticles) {
  auto sec = section_id();
  auto p1 = add(make_article(sec, "p1", 1000));
  auto p3 = add(make_article(sec, "p3", 3000));
  Article d = make_article(sec, "draft", 0);
  d.status = ArticleStatus::draft;
  d.published_at.reset();
  d.created_at = d.updated_at = 2000;
  auto draft = add(d);
  std::vector<std::int64_t> seen;
  domain::ArticleQuery q{.edition = "en", .include_drafts = true, .limit = 1};
  for (int pages = 0; pages < 10; ++pages) {
    auto page = articles.list(q);
    ASSERT_TRUE(page);
    for (const auto& a : page->items) seen.push_back(a.id);
    if (!page->next) break;
    q.after = page->next;
  }
  EXPECT_EQ(seen, (std::vector<std::int64_t>{p3.id, draft.id, p1.id}))
      << "and cursors page through drafts too";
}

TEST_P(ArticleRepositoryContract, ListLimitsAreKeptInBounds) {
  auto sec = section_id();
  for (int i = 0; i < 3; ++i) add(make_article(sec, "a" + std::to_string(i), 1000 + i));
  auto zero = articles.list({.edition = "en", .limit = 0});
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->items.size(), 1u) << "a limit below one means one";
  EXPECT_TRUE(zero->next);
  auto exact = articles.list({.edition = "en", .limit = 3});
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->items.size(), 3u);
  EXPECT_FALSE(exact->next) << "no empty page after an exact fit";
}

// --- updates and revisions ----------------------------------------------------

TEST_P(ArticleRepositoryContract, UpdateChecksVersionAndKeepsRevisions) {
  auto sec = section_id();
  auto a = articles.insert(make_article(sec, "v", 1000)).value();
  Article changed = a;
  changed.headline = "New headline";
  auto v2 = articles.update(changed, 1);
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->version, 2);
  auto stale = articles.update(changed, 1);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::conflict);
  auto revs = articles.revisions(a.id).value();
  ASSERT_EQ(revs.size(), 1u);
  EXPECT_EQ(revs[0].headline, "Headline v");
  EXPECT_EQ(articles.by_id(a.id)->headline, "New headline");
}

TEST_P(ArticleRepositoryContract, UpdateReplacesEveryFieldAndListsRevisionsNewestFirst) {
  auto sec = section_id();
  auto sport = articles.create_section({0, "en", "sport", "Sport", 2}).value().id;
  auto rel = add(make_article(sec, "rel", 1));
  Article a = make_article(sec, "v", 1000);
  a.image = domain::Image{"/media/a.webp", "A", "Agency", 10, 20};
  auto v1 = add(a);

  Article v2 = articles.by_id(v1.id).value();
  v2.slug = "v-renamed";
  v2.section_id = sport;
  v2.headline = "Second";
  v2.teaser = "Teaser 2";
  v2.body = "Body 2";
  v2.body_html = "<p>Body 2</p>";
  v2.image.reset();
  v2.author = "Bo";
  v2.tags = {"sport"};
  v2.related_ids = {rel.id};
  v2.top = true;
  v2.updated_at = 2000;
  ASSERT_TRUE(articles.update(v2, 1));
  Article v3 = articles.by_id(v1.id).value();
  v3.headline = "Third";
  v3.status = ArticleStatus::draft;
  v3.updated_at = 3000;
  auto stored = articles.update(v3, 2);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->version, 3);

  auto read = articles.by_id(v1.id).value();
  EXPECT_EQ(read.slug, "v-renamed");
  EXPECT_EQ(articles.by_slug("en", "v").error().code, ErrorCode::not_found);
  EXPECT_EQ(read.section_id, sport);
  EXPECT_EQ(read.section_slug, "sport");
  EXPECT_EQ(read.headline, "Third");
  EXPECT_EQ(read.teaser, "Teaser 2");
  EXPECT_EQ(read.body, "Body 2");
  EXPECT_EQ(read.body_html, "<p>Body 2</p>");
  EXPECT_FALSE(read.image);
  EXPECT_EQ(read.author, "Bo");
  EXPECT_EQ(read.tags, (std::vector<std::string>{"sport"}));
  EXPECT_EQ(read.related_ids, (std::vector<std::int64_t>{rel.id}));
  EXPECT_TRUE(read.top);
  EXPECT_EQ(read.status, ArticleStatus::draft);
  EXPECT_EQ(read.updated_at, 3000);
  EXPECT_EQ(read.created_at, 1000) << "the creation time stays";
  EXPECT_EQ(read.version, 3);

  auto revs = articles.revisions(v1.id).value();
  ASSERT_EQ(revs.size(), 2u);
  EXPECT_EQ(revs[0].version, 2);
  EXPECT_EQ(revs[0].headline, "Second");
  EXPECT_EQ(revs[0].teaser, "Teaser 2");
  EXPECT_EQ(revs[0].body, "Body 2");
  EXPECT_EQ(revs[0].saved_at, 3000);
  EXPECT_EQ(revs[0].article_id, v1.id);
  EXPECT_EQ(revs[1].version, 1);
  EXPECT_EQ(revs[1].headline, "Headline v");
  EXPECT_EQ(revs[1].body, "Body");
  EXPECT_TRUE(articles.revisions(rel.id)->empty()) << "other articles have none";
}

TEST_P(ArticleRepositoryContract, AFailedUpdateChangesNothing) {
  auto sec = section_id();
  add(make_article(sec, "taken", 1));
  auto a = add(make_article(sec, "mine", 2));
  Article clash = a;
  clash.slug = "taken";
  clash.headline = "Clash";
  auto r = articles.update(clash, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::conflict);
  Article dangling = a;
  dangling.headline = "Dangling";
  dangling.related_ids = {4242};
  auto d = articles.update(dangling, 1);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::invalid);
  auto read = articles.by_id(a.id).value();
  EXPECT_EQ(read.slug, "mine");
  EXPECT_EQ(read.headline, "Headline mine");
  EXPECT_EQ(read.version, 1);
  EXPECT_TRUE(articles.revisions(a.id)->empty()) << "no revision for an update that failed";
  EXPECT_TRUE(articles.update(a, 1)) << "the version still counts from 1";
}

// --- related and translations -------------------------------------------------

TEST_P(ArticleRepositoryContract, RelatedByTagsPrefersMoreSharedTags) {
  auto sec = section_id();
  auto base = articles.insert(make_article(sec, "base", 1000)).value();
  Article one = make_article(sec, "one-tag", 3000);
  one.tags = {"harbour"};
  Article two = make_article(sec, "two-tags", 2000);
  Article none = make_article(sec, "no-tags", 4000);
  none.tags = {"sport"};
  auto o = articles.insert(one).value();
  auto t = articles.insert(two).value();
  ASSERT_TRUE(articles.insert(none));
  auto rel = articles.related_by_tags(base, 5).value();
  ASSERT_EQ(rel.size(), 2u);
  EXPECT_EQ(rel[0].id, t.id);
  EXPECT_EQ(rel[1].id, o.id);
  EXPECT_EQ(articles.related_by_tags(base, 1)->size(), 1u);
}

TEST_P(ArticleRepositoryContract, RelatedByTagsTakesOnlyPublishedArticlesOfTheEdition) {
  auto sec = section_id();
  auto base = add(make_article(sec, "base", 1000));
  Article draft = make_article(sec, "draft", 2000);
  draft.status = ArticleStatus::draft;
  add(draft);
  Article german = make_article(sec, "german", 3000);
  german.edition = "de";
  add(german);
  auto newer = add(make_article(sec, "newer", 5000));
  auto older = add(make_article(sec, "older", 4000));
  auto rel = articles.related_by_tags(base, 10).value();
  EXPECT_EQ(ids(rel), (std::vector<std::int64_t>{newer.id, older.id}))
      << "equal tags: newest first; never the article itself";
}

TEST_P(ArticleRepositoryContract, TranslationsGroupArticlesAcrossEditions) {
  auto sec = section_id();
  auto en = add(make_article(sec, "strike", 1000));
  EXPECT_TRUE(articles.translations(0)->empty()) << "group 0 is no group";
  Article de = make_article(sec, "streik", 1001);
  de.edition = "de";
  de.translation_group = en.id;  // named after its first article
  auto de_stored = add(de);
  EXPECT_EQ(articles.by_id(en.id)->translation_group, en.id) << "the first one joins its group";
  Article ru = make_article(sec, "zabastovka", 1002);
  ru.edition = "ru";
  ru.translation_group = en.id;
  auto ru_stored = add(ru);
  add(make_article(sec, "unrelated", 1003));

  auto group = articles.translations(en.id);
  ASSERT_TRUE(group);
  EXPECT_EQ(*group, (std::map<std::string, std::int64_t>{
                        {"de", de_stored.id}, {"en", en.id}, {"ru", ru_stored.id}}));
  EXPECT_TRUE(articles.translations(4242)->empty());
}

TEST_P(ArticleRepositoryContract, CountCountsEveryEditionAndStatus) {
  EXPECT_EQ(articles.count().value(), 0);
  auto sec = section_id();
  add(make_article(sec, "a", 1));
  Article draft = make_article(sec, "b", 2);
  draft.status = ArticleStatus::draft;
  add(draft);
  Article german = make_article(sec, "c", 3);
  german.edition = "de";
  add(german);
  EXPECT_EQ(articles.count().value(), 3);
}

INSTANTIATE_TEST_SUITE_P(Stores, ArticleRepositoryContract, ::testing::ValuesIn(store_kinds()),
                         store_kind_name);

}  // namespace
