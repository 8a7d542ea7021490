// The TickerRepository contract (live blogs, ticker entries, pages, pins),
// run against every Store implementation (store_kinds()).
#include <gtest/gtest.h>

#include <algorithm>

#include "store_fixture.hpp"

using namespace depesche;
using domain::Cursor;
using domain::EntryQuery;
using domain::LiveBlog;
using domain::PageOrder;
using domain::TickerEntry;

namespace {

constexpr Millis kStart = 1'800'000'000'000;

LiveBlog make_blog(std::string slug, Millis created = kStart) {
  LiveBlog b;
  b.slug = std::move(slug);
  b.edition = "de";
  b.title = "Streik im Hafen";
  b.teaser = "Alles zum Streik";
  b.created_at = created;
  return b;
}

TickerEntry make_entry(std::string ticker, Millis created, std::string body = "Body") {
  TickerEntry e;
  e.ticker = std::move(ticker);
  e.body = std::move(body);
  e.body_html = "<p>" + e.body + "</p>";
  e.created_at = e.updated_at = created;
  return e;
}

class TickerRepositoryContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = GetParam().open(dir);
  store::TickerRepository& tickers = store->tickers();

  TickerEntry add(std::string ticker, Millis created, bool pinned = false) {
    TickerEntry e = make_entry(std::move(ticker), created);
    e.pinned = pinned;
    auto stored = tickers.insert_entry(e);
    EXPECT_TRUE(stored) << stored.error().message;
    return stored.value_or(TickerEntry{});
  }
  std::vector<std::int64_t> ids(const std::vector<TickerEntry>& entries) {
    std::vector<std::int64_t> out;
    for (const auto& e : entries) out.push_back(e.id);
    return out;
  }
  /// Every entry of a ticker, page by page; checks that the pages chain.
  std::vector<std::int64_t> all_pages(std::string ticker, PageOrder order, int limit) {
    std::vector<std::int64_t> out;
    EntryQuery q{std::move(ticker), order, std::nullopt, limit};
    for (int pages = 0; pages < 100; ++pages) {
      auto page = tickers.entries(q);
      EXPECT_TRUE(page) << page.error().message;
      if (!page) break;
      EXPECT_LE(static_cast<int>(page->items.size()), limit);
      for (const auto& e : page->items) out.push_back(e.id);
      if (!page->next) break;
      EXPECT_FALSE(page->items.empty()) << "a page with a next cursor has items";
      EXPECT_EQ(page->next->id, page->items.back().id) << "the cursor is the last item";
      EXPECT_EQ(page->next->at, page->items.back().created_at);
      q.after = page->next;
    }
    return out;
  }
};

// --- live blogs ---------------------------------------------------------------

TEST_P(TickerRepositoryContract, LiveBlogsReadBackEveryField) {
  LiveBlog b = make_blog("hafenstreik");
  auto stored = tickers.insert_live_blog(b);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_GT(stored->id, 0);
  auto read = tickers.live_blog("hafenstreik");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->id, stored->id);
  EXPECT_EQ(read->slug, "hafenstreik");
  EXPECT_EQ(read->edition, "de");
  EXPECT_EQ(read->title, "Streik im Hafen");
  EXPECT_EQ(read->teaser, "Alles zum Streik");
  EXPECT_EQ(read->created_at, kStart);
  EXPECT_FALSE(read->ended_at);

  LiveBlog ended = make_blog("wahl", kStart + 1);
  ended.ended_at = kStart + 2;
  ASSERT_TRUE(tickers.insert_live_blog(ended));
  EXPECT_EQ(tickers.live_blog("wahl")->ended_at, kStart + 2) << "a blog may be stored ended";
}

TEST_P(TickerRepositoryContract, ALiveBlogSlugIsTakenOnce) {
  ASSERT_TRUE(tickers.insert_live_blog(make_blog("hafenstreik")));
  LiveBlog other = make_blog("hafenstreik", kStart + 5);
  other.edition = "en";
  other.title = "Another";
  auto dup = tickers.insert_live_blog(other);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::conflict);
  EXPECT_EQ(dup.error().field, "slug");
  EXPECT_EQ(tickers.live_blog("hafenstreik")->title, "Streik im Hafen") << "the first one stays";
  EXPECT_EQ(tickers.live_blogs()->size(), 1u);
}

TEST_P(TickerRepositoryContract, UnknownLiveBlogsAreNotFound) {
  EXPECT_EQ(tickers.live_blog("nope").error().code, ErrorCode::not_found);
  ASSERT_TRUE(tickers.insert_live_blog(make_blog("hafenstreik")));
  EXPECT_EQ(tickers.live_blog("Hafenstreik").error().code, ErrorCode::not_found)
      << "slugs are compared exactly";
  LiveBlog ghost = make_blog("ghost");
  ghost.id = 9999;
  EXPECT_EQ(tickers.update_live_blog(ghost).error().code, ErrorCode::not_found);
  EXPECT_TRUE(tickers.live_blogs()->size() == 1u) << "updating nothing creates nothing";
}

TEST_P(TickerRepositoryContract, LiveBlogsAreListedNewestFirst) {
  EXPECT_TRUE(tickers.live_blogs()->empty());
  auto old = tickers.insert_live_blog(make_blog("old", kStart)).value();
  auto newest = tickers.insert_live_blog(make_blog("newest", kStart + 20)).value();
  auto middle = tickers.insert_live_blog(make_blog("middle", kStart + 10)).value();
  auto twin = tickers.insert_live_blog(make_blog("twin", kStart + 10)).value();
  auto all = tickers.live_blogs();
  ASSERT_TRUE(all);
  std::vector<std::int64_t> got;
  for (const auto& b : *all) got.push_back(b.id);
  EXPECT_EQ(got, (std::vector<std::int64_t>{newest.id, twin.id, middle.id, old.id}))
      << "ties by id, the later one first";
}

TEST_P(TickerRepositoryContract, ALiveBlogEndsAndReopens) {
  auto blog = tickers.insert_live_blog(make_blog("hafenstreik")).value();
  blog.ended_at = kStart + 100;
  blog.title = "Streik beendet";
  blog.teaser = "Der Streik ist vorbei";
  auto ended = tickers.update_live_blog(blog);
  ASSERT_TRUE(ended) << ended.error().message;
  EXPECT_EQ(ended->ended_at, kStart + 100);
  auto read = tickers.live_blog("hafenstreik").value();
  EXPECT_EQ(read.ended_at, kStart + 100);
  EXPECT_EQ(read.title, "Streik beendet");
  EXPECT_EQ(read.teaser, "Der Streik ist vorbei");
  EXPECT_EQ(read.created_at, kStart) << "the creation time stays";
  EXPECT_EQ(read.edition, "de");

  read.ended_at.reset();
  ASSERT_TRUE(tickers.update_live_blog(read));
  EXPECT_FALSE(tickers.live_blog("hafenstreik")->ended_at) << "reopened";
}

TEST_P(TickerRepositoryContract, UpdatingOneLiveBlogLeavesTheOthers) {
  auto a = tickers.insert_live_blog(make_blog("a")).value();
  ASSERT_TRUE(tickers.insert_live_blog(make_blog("b")));
  a.ended_at = kStart + 1;
  a.title = "A ended";
  ASSERT_TRUE(tickers.update_live_blog(a));
  auto b = tickers.live_blog("b").value();
  EXPECT_FALSE(b.ended_at);
  EXPECT_EQ(b.title, "Streik im Hafen");
}

// --- entries ------------------------------------------------------------------

TEST_P(TickerRepositoryContract, EntriesReadBackEveryField) {
  TickerEntry e = make_entry("de", kStart, "**Eilmeldung**");
  e.title = "Hafen geschlossen";
  e.image = domain::Image{"/media/hafen.webp", "Der Hafen", "Agentur / Fotografin", 1600, 900};
  e.pinned = true;
  e.breaking = true;
  e.updated_at = kStart + 3;
  auto stored = tickers.insert_entry(e);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_GT(stored->id, 0);
  auto read = tickers.entry(stored->id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->id, stored->id);
  EXPECT_EQ(read->ticker, "de");
  EXPECT_EQ(read->title, "Hafen geschlossen");
  EXPECT_EQ(read->body, "**Eilmeldung**");
  EXPECT_EQ(read->body_html, "<p>**Eilmeldung**</p>");
  ASSERT_TRUE(read->image);
  EXPECT_EQ(read->image->url, "/media/hafen.webp");
  EXPECT_EQ(read->image->caption, "Der Hafen");
  EXPECT_EQ(read->image->credit, "Agentur / Fotografin");
  EXPECT_EQ(read->image->width, 1600);
  EXPECT_EQ(read->image->height, 900);
  EXPECT_FALSE(read->article_id);
  EXPECT_TRUE(read->pinned);
  EXPECT_TRUE(read->breaking);
  EXPECT_EQ(read->created_at, kStart);
  EXPECT_EQ(read->updated_at, kStart + 3);

  auto plain = tickers.insert_entry(make_entry("de", kStart + 1));
  ASSERT_TRUE(plain);
  auto p = tickers.entry(plain->id).value();
  EXPECT_NE(p.id, stored->id);
  EXPECT_EQ(p.title, "");
  EXPECT_FALSE(p.image);
  EXPECT_FALSE(p.pinned);
  EXPECT_FALSE(p.breaking);
}

TEST_P(TickerRepositoryContract, AnEntryLinksToAnExistingArticleOnly) {
  auto section = store->articles().create_section({0, "de", "politik", "Politik", 1}).value();
  domain::Article a;
  a.edition = "de";
  a.slug = "hafen";
  a.section_id = section.id;
  a.headline = "Hafen";
  a.status = domain::ArticleStatus::published;
  a.published_at = a.created_at = a.updated_at = kStart;
  auto article = store->articles().insert(a).value();

  TickerEntry e = make_entry("de", kStart);
  e.article_id = article.id;
  e.article_path = "/de/articles/hafen";
  auto stored = tickers.insert_entry(e);
  ASSERT_TRUE(stored) << stored.error().message;
  auto read = tickers.entry(stored->id).value();
  EXPECT_EQ(read.article_id, article.id);
  EXPECT_EQ(read.article_path, "") << "the path is derived by the domain, not stored";

  TickerEntry dangling = make_entry("de", kStart + 1);
  dangling.article_id = article.id + 1000;
  auto refused = tickers.insert_entry(dangling);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::invalid);
  EXPECT_EQ(tickers.entries({"de"})->items.size(), 1u) << "nothing stored";
}

TEST_P(TickerRepositoryContract, UnknownEntriesAreNotFound) {
  EXPECT_EQ(tickers.entry(9999).error().code, ErrorCode::not_found);
  TickerEntry ghost = make_entry("de", kStart);
  ghost.id = 9999;
  EXPECT_EQ(tickers.update_entry(ghost).error().code, ErrorCode::not_found);
  EXPECT_EQ(tickers.delete_entry(9999).error().code, ErrorCode::not_found);
  EXPECT_TRUE(tickers.entries({"de"})->items.empty()) << "updating nothing creates nothing";
}

TEST_P(TickerRepositoryContract, UpdateReplacesTheEntry) {
  TickerEntry e = make_entry("de", kStart, "First");
  e.title = "Title";
  e.image = domain::Image{"/media/a.webp", "A", "Agency", 10, 20};
  auto stored = tickers.insert_entry(e).value();
  auto other = add("de", kStart + 1);

  TickerEntry changed = stored;
  changed.title = "";
  changed.body = "Second";
  changed.body_html = "<p>Second</p>";
  changed.image.reset();
  changed.pinned = true;
  changed.breaking = true;
  changed.updated_at = kStart + 50;
  auto updated = tickers.update_entry(changed);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(updated->id, stored.id);
  EXPECT_EQ(updated->body, "Second");

  auto read = tickers.entry(stored.id).value();
  EXPECT_EQ(read.title, "");
  EXPECT_EQ(read.body, "Second");
  EXPECT_EQ(read.body_html, "<p>Second</p>");
  EXPECT_FALSE(read.image) << "the image was removed";
  EXPECT_TRUE(read.pinned);
  EXPECT_TRUE(read.breaking);
  EXPECT_EQ(read.created_at, kStart);
  EXPECT_EQ(read.updated_at, kStart + 50);

  auto untouched = tickers.entry(other.id).value();
  EXPECT_EQ(untouched.body, "Body");
  EXPECT_FALSE(untouched.pinned);

  read.image = domain::Image{"/media/b.webp", "B", "Agency B", 30, 40};
  ASSERT_TRUE(tickers.update_entry(read));
  auto again = tickers.entry(stored.id).value();
  ASSERT_TRUE(again.image) << "an image can be added back";
  EXPECT_EQ(again.image->url, "/media/b.webp");
  EXPECT_EQ(again.image->height, 40);
}

TEST_P(TickerRepositoryContract, DeletedEntriesAreGoneEverywhere) {
  auto a = add("de", kStart, true);
  auto b = add("de", kStart + 1, true);
  auto c = add("de", kStart + 2);
  ASSERT_TRUE(tickers.delete_entry(b.id));
  EXPECT_EQ(tickers.entry(b.id).error().code, ErrorCode::not_found);
  EXPECT_EQ(ids(tickers.entries({"de"})->items), (std::vector<std::int64_t>{c.id, a.id}));
  EXPECT_EQ(ids(tickers.pinned("de").value()), (std::vector<std::int64_t>{a.id}));
  auto again = tickers.delete_entry(b.id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::not_found) << "deleting twice";
  auto d = add("de", kStart + 3);
  EXPECT_NE(d.id, b.id);
  EXPECT_TRUE(tickers.entry(c.id)) << "the others stay";
}

// --- pages --------------------------------------------------------------------

TEST_P(TickerRepositoryContract, AnEmptyTickerHasAnEmptyLastPage) {
  for (auto order : {PageOrder::newest, PageOrder::oldest}) {
    auto page = tickers.entries({"de", order});
    ASSERT_TRUE(page);
    EXPECT_TRUE(page->items.empty());
    EXPECT_FALSE(page->next);
  }
  EXPECT_TRUE(tickers.pinned("de")->empty());
}

TEST_P(TickerRepositoryContract, PagesNewestFirstAndOldestFirst) {
  auto e1 = add("de", kStart + 10);
  auto e2 = add("de", kStart + 20);
  auto e3 = add("de", kStart + 30);
  auto e4 = add("de", kStart + 40);
  auto e5 = add("de", kStart + 50);

  auto newest = tickers.entries({"de", PageOrder::newest, std::nullopt, 2});
  ASSERT_TRUE(newest);
  EXPECT_EQ(ids(newest->items), (std::vector<std::int64_t>{e5.id, e4.id}));
  ASSERT_TRUE(newest->next);
  auto next = tickers.entries({"de", PageOrder::newest, newest->next, 2}).value();
  EXPECT_EQ(ids(next.items), (std::vector<std::int64_t>{e3.id, e2.id}));
  auto last = tickers.entries({"de", PageOrder::newest, next.next, 2}).value();
  EXPECT_EQ(ids(last.items), (std::vector<std::int64_t>{e1.id}));
  EXPECT_FALSE(last.next);

  auto oldest = tickers.entries({"de", PageOrder::oldest, std::nullopt, 3});
  ASSERT_TRUE(oldest);
  EXPECT_EQ(ids(oldest->items), (std::vector<std::int64_t>{e1.id, e2.id, e3.id}));
  ASSERT_TRUE(oldest->next);
  auto rest = tickers.entries({"de", PageOrder::oldest, oldest->next, 3}).value();
  EXPECT_EQ(ids(rest.items), (std::vector<std::int64_t>{e4.id, e5.id}));
  EXPECT_FALSE(rest.next);
}

TEST_P(TickerRepositoryContract, APageThatEndsTheTickerHasNoNextCursor) {
  for (int i = 0; i < 6; ++i) add("de", kStart + i);
  auto first = tickers.entries({"de", PageOrder::newest, std::nullopt, 3}).value();
  ASSERT_TRUE(first.next);
  auto second = tickers.entries({"de", PageOrder::newest, first.next, 3}).value();
  EXPECT_EQ(second.items.size(), 3u);
  EXPECT_FALSE(second.next) << "no empty page after an exact multiple of the limit";
  auto whole = tickers.entries({"de", PageOrder::oldest, std::nullopt, 6}).value();
  EXPECT_EQ(whole.items.size(), 6u);
  EXPECT_FALSE(whole.next);
}

TEST_P(TickerRepositoryContract, EntriesOfTheSameMillisecondPageByIdWithoutGapsOrRepeats) {
  std::vector<std::int64_t> by_time;
  for (int i = 0; i < 7; ++i) by_time.push_back(add("de", kStart + (i / 3)).id);
  // (created_at, id) ascending is insertion order here.
  auto oldest = all_pages("de", PageOrder::oldest, 2);
  EXPECT_EQ(oldest, by_time);
  auto newest = all_pages("de", PageOrder::newest, 2);
  std::reverse(by_time.begin(), by_time.end());
  EXPECT_EQ(newest, by_time);
}

TEST_P(TickerRepositoryContract, OrderIsByCreationTimeNotById) {
  auto later = add("de", kStart + 100);
  auto earlier = add("de", kStart + 50);  // e.g. imported with its original time
  EXPECT_EQ(ids(tickers.entries({"de", PageOrder::newest})->items),
            (std::vector<std::int64_t>{later.id, earlier.id}));
  EXPECT_EQ(ids(tickers.entries({"de", PageOrder::oldest})->items),
            (std::vector<std::int64_t>{earlier.id, later.id}));
  TickerEntry edited = later;
  edited.updated_at = kStart + 1000;
  ASSERT_TRUE(tickers.update_entry(edited));
  EXPECT_EQ(ids(tickers.entries({"de", PageOrder::newest})->items),
            (std::vector<std::int64_t>{later.id, earlier.id}))
      << "an edit does not move an entry";
}

TEST_P(TickerRepositoryContract, CursorsStayValidWhileEntriesArriveAndGo) {
  std::vector<TickerEntry> e;
  for (int i = 0; i < 5; ++i) e.push_back(add("de", kStart + 10 * i));
  auto first = tickers.entries({"de", PageOrder::newest, std::nullopt, 2}).value();
  EXPECT_EQ(ids(first.items), (std::vector<std::int64_t>{e[4].id, e[3].id}));
  add("de", kStart + 100);                     // arrives on top while the reader scrolls down
  ASSERT_TRUE(tickers.delete_entry(e[3].id));  // the cursor's own entry goes
  auto second = tickers.entries({"de", PageOrder::newest, first.next, 2}).value();
  EXPECT_EQ(ids(second.items), (std::vector<std::int64_t>{e[2].id, e[1].id}))
      << "no repeat, no gap";

  auto oldest = tickers.entries({"de", PageOrder::oldest, std::nullopt, 2}).value();
  auto arrived = add("de", kStart + 200);
  auto rest = tickers.entries({"de", PageOrder::oldest, oldest.next, 10}).value();
  ASSERT_FALSE(rest.items.empty());
  EXPECT_EQ(rest.items.back().id, arrived.id) << "oldest first reaches new entries at the end";
  EXPECT_EQ(rest.items.front().id, e[2].id);
}

TEST_P(TickerRepositoryContract, ACursorNeedNotNameAStoredEntry) {
  auto a = add("de", kStart + 10);
  auto b = add("de", kStart + 20);
  auto c = add("de", kStart + 30);
  auto page = tickers.entries({"de", PageOrder::newest, Cursor{kStart + 25, 0}, 10});
  ASSERT_TRUE(page);
  EXPECT_EQ(ids(page->items), (std::vector<std::int64_t>{b.id, a.id}));
  page = tickers.entries({"de", PageOrder::oldest, Cursor{kStart + 20, b.id}, 10});
  ASSERT_TRUE(page);
  EXPECT_EQ(ids(page->items), (std::vector<std::int64_t>{c.id}));
}

TEST_P(TickerRepositoryContract, TickersAreSeparate) {
  auto de = add("de", kStart);
  auto en = add("en", kStart + 1);
  auto blog = add("hafenstreik", kStart + 2, true);
  EXPECT_EQ(ids(tickers.entries({"de"})->items), (std::vector<std::int64_t>{de.id}));
  EXPECT_EQ(ids(tickers.entries({"en"})->items), (std::vector<std::int64_t>{en.id}));
  EXPECT_EQ(ids(tickers.entries({"hafenstreik"})->items), (std::vector<std::int64_t>{blog.id}));
  EXPECT_TRUE(tickers.entries({"DE"})->items.empty()) << "ticker ids are compared exactly";
  EXPECT_TRUE(tickers.pinned("de")->empty());
  EXPECT_EQ(ids(tickers.pinned("hafenstreik").value()), (std::vector<std::int64_t>{blog.id}));
}

TEST_P(TickerRepositoryContract, APageHoldsAtMostTheLargestPage) {
  for (int i = 0; i < domain::max_entry_page + 5; ++i) add("de", kStart + i);
  auto page = tickers.entries({"de", PageOrder::newest, std::nullopt, 1000});
  ASSERT_TRUE(page);
  EXPECT_EQ(static_cast<int>(page->items.size()), domain::max_entry_page);
  EXPECT_TRUE(page->next);
  for (int limit : {0, -1}) {
    auto small = tickers.entries({"de", PageOrder::newest, std::nullopt, limit});
    ASSERT_TRUE(small) << "limit " << limit;
    EXPECT_EQ(small->items.size(), 1u) << "a limit below one means one";
    ASSERT_TRUE(small->next);
  }
}

// --- pinned -------------------------------------------------------------------

TEST_P(TickerRepositoryContract, PinnedEntriesNewestFirst) {
  auto a = add("de", kStart + 10, true);
  add("de", kStart + 20);
  auto c = add("de", kStart + 30, true);
  auto d = add("de", kStart + 5, true);
  EXPECT_EQ(ids(tickers.pinned("de").value()), (std::vector<std::int64_t>{c.id, a.id, d.id}));

  TickerEntry unpin = c;
  unpin.pinned = false;
  ASSERT_TRUE(tickers.update_entry(unpin));
  EXPECT_EQ(ids(tickers.pinned("de").value()), (std::vector<std::int64_t>{a.id, d.id}));
  EXPECT_EQ(tickers.entries({"de"})->items.size(), 4u) << "pinned entries stay in the ticker";
}

TEST_P(TickerRepositoryContract, PinnedHoldsOnlyTheNewestFew) {
  std::vector<std::int64_t> pinned;
  for (int i = 0; i < domain::max_pinned_entries + 3; ++i)
    pinned.push_back(add("de", kStart + i, true).id);
  std::reverse(pinned.begin(), pinned.end());
  pinned.resize(static_cast<std::size_t>(domain::max_pinned_entries));
  EXPECT_EQ(ids(tickers.pinned("de").value()), pinned);
}

TEST_P(TickerRepositoryContract, ANewEntryTakesNowOnAnEmptyTicker) {
  EXPECT_EQ(tickers.next_entry_time("de", kStart).value(), kStart);
}

TEST_P(TickerRepositoryContract, ANewEntryIsNeverDatedBeforeTheNewestOne) {
  add("de", kStart + 5'000);
  add("en", kStart + 9'000);
  // A clock that stepped back (or another node's, behind this one) still
  // gives an entry the ticker's newest time, never an earlier one.
  EXPECT_EQ(tickers.next_entry_time("de", kStart).value(), kStart + 5'000);
  EXPECT_EQ(tickers.next_entry_time("de", kStart + 7'000).value(), kStart + 7'000);
  // Another ticker's entries do not count.
  EXPECT_EQ(tickers.next_entry_time("ru", kStart).value(), kStart);
}

INSTANTIATE_TEST_SUITE_P(Stores, TickerRepositoryContract, ::testing::ValuesIn(store_kinds()),
                         store_kind_name);

}  // namespace
