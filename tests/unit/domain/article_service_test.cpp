#include "domain/article_service.hpp"

#include <gtest/gtest.h>

#include "domain/token_service.hpp"
#include "store_fixture.hpp"

using namespace depesche;
using domain::ArticleInput;

class ArticleServiceTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = open_test_store(dir);
  domain::Editions editions{{"de", "en", "ru"}, "en"};
  domain::ArticleService service{*store, editions};

  void SetUp() override {
    ASSERT_TRUE(service.create_section("en", "economy", "Economy", 1));
    ASSERT_TRUE(service.create_section("de", "wirtschaft", "Wirtschaft", 1));
  }
  ArticleInput input(std::string edition = "en", std::string section = "economy") {
    ArticleInput in;
    in.edition = edition;
    in.section = section;
    in.headline = "Dockworkers strike in Brennsund";
    in.teaser = "The terminal stands still.";
    in.body = "First paragraph.\n\n**Bold** claim.";
    in.tags = std::vector<std::string>{"harbour", "strike"};
    return in;
  }
};

TEST_F(ArticleServiceTest, CreatesDraftsWithDerivedSlugAndRenderedBody) {
  auto a = service.create(input());
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->slug, "dockworkers-strike-in-brennsund");
  EXPECT_EQ(a->status, domain::ArticleStatus::draft);
  EXPECT_NE(a->body_html.find("<strong>Bold</strong>"), std::string::npos);
  EXPECT_FALSE(service.published("en", a->slug)) << "drafts are not visible to readers";
  auto p = service.publish(a->id);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->published_at.has_value());
  EXPECT_TRUE(service.published("en", a->slug));
}

TEST_F(ArticleServiceTest, RejectsInvalidInputAndStoresNothing) {
  auto expect_invalid = [&](ArticleInput in, const char* field) {
    auto r = service.create(in);
    ASSERT_FALSE(r) << field;
    EXPECT_EQ(r.error().code, ErrorCode::invalid) << field;
    EXPECT_EQ(r.error().field, field);
  };
  auto in = input();
  in.edition = "fr";
  expect_invalid(in, "edition");
  in = input();
  in.section = "nope";
  expect_invalid(in, "section");
  in = input();
  in.headline = "   ";
  expect_invalid(in, "headline");
  in = input();
  in.headline = std::string(201, 'x');
  expect_invalid(in, "headline");
  in = input();
  in.headline = "bad \xff utf8";
  expect_invalid(in, "headline");
  in = input();
  in.slug = "Not A Slug";
  expect_invalid(in, "slug");
  in = input();
  in.tags = std::vector<std::string>{"OK?"};
  expect_invalid(in, "tags");
  in = input();
  in.image = domain::Image{"javascript:alert(1)", "c", "d", 10, 10};
  expect_invalid(in, "image.url");
  in = input();
  in.image = domain::Image{"/media/x.svg", "c", "d", 0, 10};
  expect_invalid(in, "image.width");
  in = input();
  in.image = domain::Image{"/media/x.svg", "c", "d", 0, 0};  // a hero image's size is needed
  expect_invalid(in, "image.width");
  in = input();
  in.related = std::vector<std::int64_t>{999};
  expect_invalid(in, "related");
  EXPECT_EQ(store->articles().count().value(), 0);
}

TEST_F(ArticleServiceTest, LinksTranslationsAcrossEditions) {
  auto en = service.create(input()).value();
  auto de_in = input("de", "wirtschaft");
  de_in.headline = "Hafenarbeiter streiken in Brennsund";
  de_in.translation_of = en.id;
  auto de = service.create(de_in).value();
  service.publish(en.id).value();
  service.publish(de.id).value();
  auto en_now = service.by_id(en.id, false).value();
  auto t = service.translations(en_now).value();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.at("de").slug, "hafenarbeiter-streiken-in-brennsund");
  auto again = de_in;
  again.slug = "zweite";
  auto dup = service.create(again);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::conflict);
  auto same = input();
  same.slug = "other";
  same.translation_of = en.id;
  EXPECT_EQ(service.create(same).error().code, ErrorCode::invalid);
}

TEST_F(ArticleServiceTest, RelatedPrefersChosenThenSharedTags) {
  auto base = service.create(input()).value();
  auto mk = [&](std::string slug, std::vector<std::string> tags) {
    auto in = input();
    in.slug = slug;
    in.tags = tags;
    auto a = service.create(in).value();
    return service.publish(a.id).value();
  };
  auto chosen = mk("chosen", {"culture"});
  auto tagged = mk("tagged", {"harbour"});
  mk("unrelated", {"sport"});
  ArticleInput change;
  change.related = std::vector<std::int64_t>{chosen.id};
  auto updated = service.update(base.id, change, std::nullopt).value();
  auto rel = service.related(updated, 3).value();
  ASSERT_EQ(rel.size(), 2u);
  EXPECT_EQ(rel[0].id, chosen.id);
  EXPECT_EQ(rel[1].id, tagged.id);
}

TEST_F(ArticleServiceTest, UpdatesCheckVersionsAndBumpTheGeneration) {
  auto a = service.create(input()).value();
  auto g = service.content_generation();
  ArticleInput change;
  change.headline = "New";
  EXPECT_EQ(service.update(a.id, change, 7).error().code, ErrorCode::conflict);
  auto b = service.update(a.id, change, a.version);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->headline, "New");
  EXPECT_GT(service.content_generation(), g);
  ArticleInput move;
  move.edition = "de";
  EXPECT_EQ(service.update(a.id, move, std::nullopt).error().code, ErrorCode::invalid);
}

TEST_F(ArticleServiceTest, ReservedWordsCannotBeSections) {
  EXPECT_EQ(service.create_section("en", "articles", "Articles", 0).error().code,
            ErrorCode::invalid);
  EXPECT_EQ(service.create_section("xx", "news", "News", 0).error().code, ErrorCode::invalid);
}

TEST(TokenService, StoresOnlyAHashAndAuthenticatesTheSecret) {
  TempDir dir;
  auto store = open_test_store(dir);
  domain::TokenService tokens(*store);
  auto issued = tokens.create("wire", domain::Role::editor);
  ASSERT_TRUE(issued);
  EXPECT_TRUE(issued->secret.starts_with("dp_"));
  EXPECT_GE(issued->secret.size(), 40u);
  EXPECT_EQ(issued->token.secret_hash.size(), 64u);
  EXPECT_EQ(issued->token.secret_hash.find(issued->secret), std::string::npos);
  EXPECT_EQ(tokens.authenticate(issued->secret)->role, domain::Role::editor);
  EXPECT_EQ(tokens.authenticate("dp_wrong").error().code, ErrorCode::unauthorized);
  ASSERT_TRUE(tokens.revoke("wire"));
  EXPECT_EQ(tokens.authenticate(issued->secret).error().code, ErrorCode::unauthorized);
  EXPECT_EQ(tokens.create("bad name!", domain::Role::editor).error().code, ErrorCode::invalid);
}
