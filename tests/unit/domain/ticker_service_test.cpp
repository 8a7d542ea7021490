// Tickers and live blogs against a real SQLite store, with a recording
// TickerEvents: validation, the event after every change, stored state,
// cursor pagination, live blog creation and unknown tickers.
#include "domain/ticker_service.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store_fixture.hpp"

using namespace depesche;
using domain::Cursor;
using domain::EntryChange;
using domain::EntryQuery;
using domain::Image;
using domain::PageOrder;
using domain::TickerEntry;
using domain::TickerEntryInput;

namespace {

// Records what the service describes; the events go to the real event log.
struct RecordingEvents final : domain::TickerEvents {
  struct Change {
    TickerEntry entry;
    EntryChange change;
  };
  std::vector<Change> changes;
  std::vector<domain::LiveBlog> blogs;
  domain::LiveEvent entry_event(const TickerEntry& entry, EntryChange change) override {
    changes.push_back({entry, change});
    return {"ticker:" + entry.ticker, "ticker.entry", R"({"id":)" + std::to_string(entry.id) + "}"};
  }
  domain::LiveEvent blog_event(const domain::LiveBlog& blog) override {
    blogs.push_back(blog);
    return {"ticker:" + blog.slug, "ticker.blog", "{}"};
  }
};

// The error code, or nothing when the call succeeded (where success is the bug).
template <class T>
std::optional<ErrorCode> code_of(const Result<T>& r) {
  return r ? std::nullopt : std::optional<ErrorCode>(r.error().code);
}

TickerEntryInput body(std::string text) {
  TickerEntryInput in;
  in.body = std::move(text);
  return in;
}

std::vector<std::int64_t> ids_of(const std::vector<TickerEntry>& entries) {
  std::vector<std::int64_t> out;
  for (const auto& e : entries) out.push_back(e.id);
  return out;
}

class TickerServiceTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = open_test_store(dir);
  domain::Editions editions{{"de", "en", "ru"}, "en"};
  domain::ArticleService articles{*store, editions};
  RecordingEvents events;
  domain::TickerService service{*store, editions, articles, events};

  void SetUp() override { ASSERT_TRUE(articles.create_section("en", "economy", "Economy", 1)); }

  TickerEntry post(std::string_view ticker, std::string text) {
    auto e = service.post_entry(ticker, body(std::move(text)));
    EXPECT_TRUE(e) << e.error().message;
    return e.value_or(TickerEntry{});
  }
  // An article in "en/economy", published when asked.
  domain::Article article(std::string slug, bool publish) {
    domain::ArticleInput in;
    in.edition = "en";
    in.section = "economy";
    in.slug = slug;
    in.headline = "Dockworkers strike in Brennsund";
    in.body = "The terminal stands still.";
    auto a = articles.create(in);
    EXPECT_TRUE(a) << a.error().message;
    if (publish && a) a = articles.publish(a->id);
    EXPECT_TRUE(a) << a.error().message;
    return a.value_or(domain::Article{});
  }
  // Every entry of a ticker, page by page.
  std::vector<TickerEntry> all_pages(std::string ticker, PageOrder order, int limit) {
    std::vector<TickerEntry> out;
    std::optional<Cursor> after;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = service.entries(EntryQuery{ticker, order, after, limit});
      EXPECT_TRUE(page) << page.error().message;
      if (!page) break;
      EXPECT_LE(page->items.size(), static_cast<std::size_t>(limit));
      out.insert(out.end(), page->items.begin(), page->items.end());
      if (!page->next) break;
      EXPECT_FALSE(page->items.empty()) << "a page with a next cursor has entries";
      EXPECT_EQ(page->next->id, page->items.back().id) << "the cursor is the last entry shown";
      EXPECT_EQ(page->next->at, page->items.back().created_at);
      after = page->next;
    }
    return out;
  }
  // Events in the store's log, all topics: what pages and readers follow.
  std::size_t logged_events() {
    return store->events()
        .after_position(0, 1'000'000)
        .value_or(std::vector<store::LoggedEvent>{})
        .size();
  }
  std::size_t stored_count(std::string ticker) {
    return all_pages(std::move(ticker), PageOrder::newest, 100).size();
  }
  void expect_invalid(const TickerEntryInput& in, const std::string& field) {
    auto r = service.post_entry("de", in);
    ASSERT_FALSE(r) << field << " was accepted";
    EXPECT_EQ(r.error().code, ErrorCode::invalid) << field;
    EXPECT_EQ(r.error().field, field);
  }
};

// --- posting ------------------------------------------------------------------

TEST_F(TickerServiceTest, PostingStoresTheEntryRendersMarkdownAndReportsIt) {
  auto logged = logged_events();
  TickerEntryInput in = body("  **Strike** at the terminal.\n");
  in.title = "  Harbour  ";
  in.breaking = true;
  Millis before = now_millis();
  auto e = service.post_entry("de", in);
  Millis after = now_millis();
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_GT(e->id, 0);
  EXPECT_EQ(e->ticker, "de");
  EXPECT_EQ(e->title, "Harbour");
  EXPECT_EQ(e->body, "**Strike** at the terminal.");
  EXPECT_NE(e->body_html.find("<strong>Strike</strong>"), std::string::npos) << e->body_html;
  EXPECT_TRUE(e->breaking);
  EXPECT_FALSE(e->pinned);
  EXPECT_FALSE(e->image);
  EXPECT_FALSE(e->article_id);
  EXPECT_GE(e->created_at, before);
  EXPECT_LE(e->created_at, after);
  EXPECT_EQ(e->updated_at, e->created_at);
  EXPECT_GT(logged_events(), logged) << "an event for pages and readers";

  auto stored = store->tickers().entry(e->id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->ticker, "de");
  EXPECT_EQ(stored->title, "Harbour");
  EXPECT_EQ(stored->body, e->body);
  EXPECT_EQ(stored->body_html, e->body_html);
  EXPECT_TRUE(stored->breaking);
  EXPECT_FALSE(stored->pinned);
  EXPECT_EQ(stored->created_at, e->created_at);

  ASSERT_EQ(events.changes.size(), 1u);
  EXPECT_EQ(events.changes[0].change, EntryChange::created);
  EXPECT_EQ(events.changes[0].entry.id, e->id);
  EXPECT_EQ(events.changes[0].entry.ticker, "de");
  EXPECT_EQ(events.changes[0].entry.body_html, e->body_html);
}

TEST_F(TickerServiceTest, RendersMarkdownSafely) {
  auto e = post("en", "<script>alert(1)</script> [x](javascript:alert(2))");
  EXPECT_EQ(e.body_html.find("<script>"), std::string::npos) << e.body_html;
  EXPECT_EQ(e.body_html.find("javascript:"), std::string::npos) << e.body_html;
}

TEST_F(TickerServiceTest, PostingRequiresABody) {
  TickerEntryInput no_body;
  no_body.title = "Only a title";
  expect_invalid(no_body, "body");
  expect_invalid(body(""), "body");
  expect_invalid(body(" \n\t\r\n "), "body");
  EXPECT_TRUE(events.changes.empty());
  EXPECT_EQ(stored_count("de"), 0u);
}

TEST_F(TickerServiceTest, RejectsOversizedAndMalformedText) {
  expect_invalid(body(std::string(20'001, 'x')), "body");
  expect_invalid(body("bad \xff utf8"), "body");
  expect_invalid(body("bell\x07"), "body");
  auto long_title = body("fine");
  long_title.title = std::string(201, 't');
  expect_invalid(long_title, "title");
  auto control_title = body("fine");
  control_title.title = "a\x1b[31m";
  expect_invalid(control_title, "title");
  EXPECT_TRUE(events.changes.empty());
  EXPECT_EQ(stored_count("de"), 0u);

  // The limits count characters, not bytes, and are inclusive.
  std::string umlauts;
  for (int i = 0; i < 20'000; ++i) umlauts += "\xc3\xa4";
  EXPECT_TRUE(service.post_entry("de", body(umlauts)));
  auto at_limit = body(std::string(20'000, 'x'));
  at_limit.title = std::string(200, 't');
  EXPECT_TRUE(service.post_entry("de", at_limit));
  EXPECT_TRUE(service.post_entry("de", body("tab\tand\r\nline breaks are fine")));
  EXPECT_EQ(stored_count("de"), 3u);
  EXPECT_EQ(events.changes.size(), 3u);
}

TEST_F(TickerServiceTest, HonoursConfiguredLimits) {
  domain::TickerService small{*store, editions, articles, events,
                              domain::TickerLimits{.title = 5, .body = 10}};
  EXPECT_EQ(code_of(small.post_entry("de", body("eleven char"))), ErrorCode::invalid);
  EXPECT_TRUE(small.post_entry("de", body("ten chars!")));
  auto titled = body("ok");
  titled.title = "sixsix";
  EXPECT_EQ(code_of(small.post_entry("de", titled)), ErrorCode::invalid);
}

TEST_F(TickerServiceTest, RejectsBadImages) {
  struct Case {
    Image image;
    const char* field;
  };
  const Case cases[] = {
      {{"javascript:alert(1)", "", "", 10, 10}, "image"},
      {{"http://example.org/a.jpg", "", "", 10, 10}, "image"},
      {{"https://", "", "", 10, 10}, "image"},
      {{"https://example.org/a b.jpg", "", "", 10, 10}, "image"},
      {{"https://example.org/\"onerror=x", "", "", 10, 10}, "image"},
      {{"/media/../etc/passwd", "", "", 10, 10}, "image"},
      {{"media/a.jpg", "", "", 10, 10}, "image"},
      {{"", "", "", 10, 10}, "image"},
      {{"/media/" + std::string(2000, 'a'), "", "", 10, 10}, "image"},
      {{"/media/a.jpg", "", "", -1, 10}, "image"},
      {{"/media/a.jpg", "", "", 10, -1}, "image"},
      {{"/media/a.jpg", "", "", 20'001, 10}, "image"},
      {{"/media/a.jpg", "", "", 10, 20'001}, "image"},
      {{"/media/a.jpg", "", "", 10, 0}, "image"},
      {{"/media/a.jpg", "", "", 0, 10}, "image"},
      {{"/media/a.jpg", std::string(401, 'c'), "", 10, 10}, "image.caption"},
      {{"/media/a.jpg", "tab\x01", "", 10, 10}, "image.caption"},
      {{"/media/a.jpg", "", std::string(201, 'c'), 10, 10}, "image.credit"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.image.url.substr(0, 40));
    auto in = body("With a photo");
    in.image = c.image;
    expect_invalid(in, c.field);
  }
  EXPECT_TRUE(events.changes.empty());
  EXPECT_EQ(stored_count("de"), 0u);
}

TEST_F(TickerServiceTest, StoresAndRemovesImages) {
  auto in = body("With a photo");
  in.image = Image{"https://cdn.example.org/p.jpg", "  The quay ", "Agency", 20'000, 1};
  auto e = service.post_entry("de", in);
  ASSERT_TRUE(e) << e.error().message;
  ASSERT_TRUE(e->image);
  EXPECT_EQ(e->image->caption, "The quay");
  auto stored = store->tickers().entry(e->id).value();
  ASSERT_TRUE(stored.image);
  EXPECT_EQ(stored.image->url, "https://cdn.example.org/p.jpg");
  EXPECT_EQ(stored.image->caption, "The quay");
  EXPECT_EQ(stored.image->credit, "Agency");
  EXPECT_EQ(stored.image->width, 20'000);
  EXPECT_EQ(stored.image->height, 1);

  TickerEntryInput change;
  change.image = Image{"/media/harbour.svg", "", "", 800, 600};
  auto replaced = service.edit_entry("de", e->id, change);
  ASSERT_TRUE(replaced) << replaced.error().message;
  EXPECT_EQ(store->tickers().entry(e->id).value().image->url, "/media/harbour.svg");

  TickerEntryInput remove;
  remove.image = std::optional<Image>{};
  auto removed = service.edit_entry("de", e->id, remove);
  ASSERT_TRUE(removed);
  EXPECT_FALSE(removed->image);
  EXPECT_FALSE(store->tickers().entry(e->id).value().image);
  EXPECT_EQ(store->tickers().entry(e->id).value().body, "With a photo");
}

TEST_F(TickerServiceTest, StoresAnImageOfUnknownSize) {
  // The editor console sends no size; 0 × 0 says "not known".
  auto in = body("With a photo");
  in.image = Image{"/media/harbour.jpg", "", "", 0, 0};
  auto e = service.post_entry("de", in);
  ASSERT_TRUE(e) << e.error().message;
  auto stored = store->tickers().entry(e->id).value();
  ASSERT_TRUE(stored.image);
  EXPECT_EQ(stored.image->width, 0);
  EXPECT_EQ(stored.image->height, 0);
}

// --- article links ---------------------------------------------------------------

TEST_F(TickerServiceTest, RejectsLinksToArticlesThatDoNotExist) {
  auto in = body("Read more");
  in.article_id = std::int64_t{999};
  expect_invalid(in, "article_id");
  in.article_id = std::int64_t{-1};
  expect_invalid(in, "article_id");
  in.article_id = std::int64_t{0};
  expect_invalid(in, "article_id");
  EXPECT_EQ(stored_count("de"), 0u);
}

TEST_F(TickerServiceTest, LinksArticlesAndShowsThePathOnceTheyArePublished) {
  auto published = article("strike", true);
  auto in = body("Read more");
  in.article_id = published.id;
  auto e = service.post_entry("de", in);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->article_id, published.id);
  EXPECT_EQ(e->article_path, "/en/articles/strike");
  EXPECT_EQ(events.changes.back().entry.article_path, "/en/articles/strike");
  EXPECT_EQ(store->tickers().entry(e->id).value().article_id, published.id);

  // A draft may be linked ahead of publication, but readers get no path yet.
  auto draft = article("coming-soon", false);
  in.article_id = draft.id;
  auto linked = service.post_entry("de", in);
  ASSERT_TRUE(linked) << linked.error().message;
  EXPECT_EQ(linked->article_id, draft.id);
  EXPECT_EQ(linked->article_path, "");
  ASSERT_TRUE(articles.publish(draft.id));
  EXPECT_EQ(service.entry("de", linked->id).value().article_path, "/en/articles/coming-soon");
  auto page = service.entries({"de", PageOrder::newest, std::nullopt, 10}).value();
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[0].article_path, "/en/articles/coming-soon");
  EXPECT_EQ(page.items[1].article_path, "/en/articles/strike");

  TickerEntryInput unlink;
  unlink.article_id = std::optional<std::int64_t>{};
  auto unlinked = service.edit_entry("de", linked->id, unlink);
  ASSERT_TRUE(unlinked);
  EXPECT_FALSE(unlinked->article_id);
  EXPECT_EQ(unlinked->article_path, "");
  EXPECT_FALSE(store->tickers().entry(linked->id).value().article_id);
}

// --- editing, pinning, deleting ------------------------------------------------------

TEST_F(TickerServiceTest, EditingChangesOnlyTheGivenFieldsAndReportsAnUpdate) {
  auto in = body("First report");
  in.title = "Harbour";
  in.breaking = true;
  in.image = Image{"/media/a.jpg", "Quay", "Agency", 10, 10};
  auto e = service.post_entry("de", in).value();
  auto logged = logged_events();

  TickerEntryInput change;
  change.body = "Corrected *report*";
  auto edited = service.edit_entry("de", e.id, change);
  ASSERT_TRUE(edited) << edited.error().message;
  EXPECT_EQ(edited->id, e.id);
  EXPECT_EQ(edited->body, "Corrected *report*");
  EXPECT_NE(edited->body_html.find("<em>report</em>"), std::string::npos) << edited->body_html;
  EXPECT_EQ(edited->title, "Harbour");
  EXPECT_TRUE(edited->breaking);
  ASSERT_TRUE(edited->image);
  EXPECT_EQ(edited->image->url, "/media/a.jpg");
  EXPECT_EQ(edited->created_at, e.created_at) << "entries keep their place in the ticker";
  EXPECT_GE(edited->updated_at, e.updated_at);
  EXPECT_GT(logged_events(), logged);

  auto stored = store->tickers().entry(e.id).value();
  EXPECT_EQ(stored.body, "Corrected *report*");
  EXPECT_EQ(stored.body_html, edited->body_html);
  EXPECT_EQ(stored.title, "Harbour");
  EXPECT_EQ(stored.created_at, e.created_at);
  EXPECT_EQ(stored.updated_at, edited->updated_at);

  ASSERT_EQ(events.changes.size(), 2u);
  EXPECT_EQ(events.changes[1].change, EntryChange::updated);
  EXPECT_EQ(events.changes[1].entry.id, e.id);
  EXPECT_EQ(events.changes[1].entry.body, "Corrected *report*");

  TickerEntryInput clear_title;
  clear_title.title = "";
  clear_title.breaking = false;
  auto cleared = service.edit_entry("de", e.id, clear_title).value();
  EXPECT_EQ(cleared.title, "") << "the title is optional";
  EXPECT_FALSE(cleared.breaking);
  EXPECT_EQ(store->tickers().entry(e.id).value().title, "");
}

TEST_F(TickerServiceTest, InvalidEditsChangeNothingAndReportNothing) {
  auto in = body("Original");
  in.title = "Title";
  auto e = service.post_entry("de", in).value();
  auto logged = logged_events();

  EXPECT_EQ(code_of(service.edit_entry("de", e.id, body("   "))), ErrorCode::invalid);
  // A valid title with a bad image: nothing of the change is stored.
  TickerEntryInput mixed;
  mixed.title = "New title";
  mixed.pinned = true;
  mixed.image = Image{"javascript:x", "", "", 1, 1};
  auto r = service.edit_entry("de", e.id, mixed);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "image");

  auto stored = store->tickers().entry(e.id).value();
  EXPECT_EQ(stored.body, "Original");
  EXPECT_EQ(stored.title, "Title");
  EXPECT_FALSE(stored.pinned);
  EXPECT_EQ(stored.updated_at, e.updated_at);
  EXPECT_EQ(events.changes.size(), 1u) << "only the creation";
  EXPECT_EQ(logged_events(), logged);
}

TEST_F(TickerServiceTest, PinningReportsAnUpdateAndListsPinnedEntriesNewestFirst) {
  auto first = post("de", "first");
  auto second = post("de", "second");
  auto third = post("de", "third");
  post("en", "elsewhere");
  TickerEntryInput pin;
  pin.pinned = true;
  auto pinned_first = service.edit_entry("de", first.id, pin);
  ASSERT_TRUE(pinned_first);
  EXPECT_TRUE(pinned_first->pinned);
  EXPECT_EQ(pinned_first->body, "first");
  ASSERT_TRUE(service.edit_entry("de", third.id, pin));

  ASSERT_EQ(events.changes.size(), 6u);
  EXPECT_EQ(events.changes[4].change, EntryChange::updated);
  EXPECT_EQ(events.changes[4].entry.id, first.id);
  EXPECT_TRUE(events.changes[4].entry.pinned);
  EXPECT_TRUE(store->tickers().entry(first.id).value().pinned);
  EXPECT_FALSE(store->tickers().entry(second.id).value().pinned);

  EXPECT_EQ(ids_of(service.pinned("de").value()), (std::vector<std::int64_t>{third.id, first.id}));
  EXPECT_TRUE(service.pinned("en").value().empty());

  TickerEntryInput unpin;
  unpin.pinned = false;
  auto unpinned = service.edit_entry("de", third.id, unpin);
  ASSERT_TRUE(unpinned);
  EXPECT_FALSE(unpinned->pinned);
  EXPECT_FALSE(events.changes.back().entry.pinned);
  EXPECT_EQ(ids_of(service.pinned("de").value()), (std::vector<std::int64_t>{first.id}));
}

TEST_F(TickerServiceTest, PinnedShowsTheNewestTenOfAKnownTicker) {
  std::vector<std::int64_t> pinned;
  for (int i = 0; i < domain::max_pinned_entries + 2; ++i) {
    TickerEntryInput in = body("pin " + std::to_string(i));
    in.pinned = true;
    pinned.push_back(service.post_entry("de", in).value().id);
  }
  std::vector<std::int64_t> newest(pinned.rbegin(), pinned.rbegin() + domain::max_pinned_entries);
  EXPECT_EQ(ids_of(service.pinned("de").value()), newest);
  auto unknown = service.pinned("no-such-ticker");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::not_found);
}

TEST_F(TickerServiceTest, DeletingRemovesTheEntryAndReportsWhatItWas) {
  auto keep = post("de", "keep");
  auto gone = post("de", "gone");
  auto logged = logged_events();
  ASSERT_TRUE(service.delete_entry("de", gone.id));
  EXPECT_GT(logged_events(), logged);

  EXPECT_EQ(code_of(service.entry("de", gone.id)), ErrorCode::not_found);
  EXPECT_EQ(code_of(store->tickers().entry(gone.id)), ErrorCode::not_found);
  EXPECT_TRUE(store->tickers().entry(keep.id));
  EXPECT_EQ(ids_of(all_pages("de", PageOrder::newest, 10)), (std::vector<std::int64_t>{keep.id}));

  ASSERT_EQ(events.changes.size(), 3u);
  EXPECT_EQ(events.changes[2].change, EntryChange::deleted);
  EXPECT_EQ(events.changes[2].entry.id, gone.id);
  EXPECT_EQ(events.changes[2].entry.ticker, "de");
  EXPECT_EQ(events.changes[2].entry.body, "gone");

  EXPECT_EQ(code_of(service.delete_entry("de", gone.id)), ErrorCode::not_found);
  EXPECT_EQ(events.changes.size(), 3u) << "a failed delete reports nothing";
}

// --- unknown tickers and entries -------------------------------------------------------

TEST_F(TickerServiceTest, KnowsEditionTickersOnly) {
  EXPECT_TRUE(service.exists("de"));
  EXPECT_TRUE(service.exists("ru"));
  EXPECT_FALSE(service.exists("fr"));
  EXPECT_FALSE(service.exists(""));
  EXPECT_FALSE(service.exists("DE"));
  EXPECT_EQ(service.edition_of("en"), "en");
  EXPECT_EQ(service.edition_of("fr"), "");

  EXPECT_EQ(code_of(service.post_entry("fr", body("x"))), ErrorCode::not_found);
  EXPECT_EQ(code_of(service.post_entry("", body("x"))), ErrorCode::not_found);
  EXPECT_EQ(code_of(service.entries({"fr", PageOrder::newest, std::nullopt, 10})),
            ErrorCode::not_found);
  EXPECT_TRUE(events.changes.empty());
  EXPECT_TRUE(
      store->tickers().entries({"fr", PageOrder::newest, std::nullopt, 10}).value().items.empty());
  EXPECT_TRUE(
      store->tickers().entries({"", PageOrder::newest, std::nullopt, 10}).value().items.empty());
}

TEST_F(TickerServiceTest, EntriesAreOnlyFoundThroughTheirOwnTicker) {
  auto e = post("de", "Deutsch");
  EXPECT_EQ(code_of(service.entry("de", e.id + 1000)), ErrorCode::not_found);
  EXPECT_EQ(code_of(service.edit_entry("de", e.id + 1000, body("x"))), ErrorCode::not_found);
  EXPECT_EQ(code_of(service.delete_entry("de", e.id + 1000)), ErrorCode::not_found);

  EXPECT_EQ(code_of(service.entry("en", e.id)), ErrorCode::not_found);
  EXPECT_EQ(code_of(service.edit_entry("en", e.id, body("hijacked"))), ErrorCode::not_found);
  EXPECT_EQ(code_of(service.delete_entry("en", e.id)), ErrorCode::not_found);
  EXPECT_EQ(code_of(service.edit_entry("fr", e.id, body("hijacked"))), ErrorCode::not_found);

  auto stored = store->tickers().entry(e.id);
  ASSERT_TRUE(stored) << "still there";
  EXPECT_EQ(stored->body, "Deutsch");
  EXPECT_EQ(stored->ticker, "de");
  EXPECT_EQ(events.changes.size(), 1u) << "only the creation";
  EXPECT_EQ(service.entry("de", e.id).value().body, "Deutsch");
}

// --- pagination --------------------------------------------------------------------

TEST_F(TickerServiceTest, NewestAndOldestPagesAreExactReverses) {
  std::vector<std::int64_t> posted;
  for (int i = 0; i < 25; ++i) posted.push_back(post("de", "entry " + std::to_string(i)).id);
  for (int i = 0; i < 4; ++i) post("en", "other ticker");

  for (int limit : {1, 7, 25, 100}) {
    SCOPED_TRACE(limit);
    auto newest = all_pages("de", PageOrder::newest, limit);
    auto oldest = all_pages("de", PageOrder::oldest, limit);
    ASSERT_EQ(newest.size(), 25u);
    ASSERT_EQ(oldest.size(), 25u);
    EXPECT_EQ(ids_of(oldest), posted) << "oldest first is posting order";
    auto reversed = ids_of(newest);
    std::reverse(reversed.begin(), reversed.end());
    EXPECT_EQ(reversed, ids_of(oldest));
    for (std::size_t i = 1; i < newest.size(); ++i) {
      auto key = [](const TickerEntry& e) { return std::pair(e.created_at, e.id); };
      EXPECT_GT(key(newest[i - 1]), key(newest[i]));
    }
    for (const auto& e : newest) EXPECT_EQ(e.ticker, "de");
  }
}

TEST_F(TickerServiceTest, PageSizeOutsideOneToAHundredIsInvalid) {
  post("de", "one");
  for (int limit : {0, -1, 101}) {
    SCOPED_TRACE(limit);
    auto r = service.entries({"de", PageOrder::newest, std::nullopt, limit});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::invalid);
    EXPECT_EQ(r.error().field, "limit");
  }
  EXPECT_EQ(service.entries({"de", PageOrder::newest, std::nullopt, 1}).value().items.size(), 1u);
}

TEST_F(TickerServiceTest, LineBreaksAreStoredAndCountedAsOneLF) {
  auto e = service.post_entry("de", body("eins\r\nzwei\rdrei\n"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->body, "eins\nzwei\ndrei");
  // 10,000 lines as a browser sends them: 20,000 characters once stored.
  std::string lines;
  for (int i = 0; i < 10'000; ++i) lines += i + 1 < 10'000 ? "x\r\n" : "xx";
  auto full = service.post_entry("de", body(lines));
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->body.size(), 20'000u);
}

TEST_F(TickerServiceTest, ConcurrentPostsArePublishedInStoredOrder) {
  // Readers see the live order (the events) and the stored order (pages by
  // created_at, id); with posts racing on several threads they must agree.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i)
        ASSERT_TRUE(
            service.post_entry("de", body("t" + std::to_string(t) + " " + std::to_string(i))));
    });
  for (auto& t : threads) t.join();
  ASSERT_EQ(events.changes.size(), 100u);
  std::vector<std::int64_t> published;
  for (const auto& c : events.changes) published.push_back(c.entry.id);
  EXPECT_EQ(published, ids_of(all_pages("de", PageOrder::oldest, 100)));
  for (std::size_t i = 1; i < events.changes.size(); ++i)
    EXPECT_LE(events.changes[i - 1].entry.created_at, events.changes[i].entry.created_at);
}

TEST_F(TickerServiceTest, ATrustedDateIsStoredAndPublishedButNeverBeforeTheNewestEntry) {
  // The demo loader dates its entries back: the stored entry and its live
  // event carry that date, written together.
  auto in = body("an evening's first entry");
  in.posted_at = 1'800'000'000'000;
  auto first = service.post_entry("de", in).value();
  EXPECT_EQ(first.created_at, 1'800'000'000'000);
  EXPECT_EQ(store->tickers().entry(first.id)->created_at, 1'800'000'000'000);
  EXPECT_EQ(events.changes.back().entry.created_at, 1'800'000'000'000);
  // An earlier date would put the entry below one already posted.
  in.posted_at = 1'700'000'000'000;
  auto second = service.post_entry("de", in).value();
  EXPECT_EQ(second.created_at, 1'800'000'000'000);
  EXPECT_EQ(ids_of(all_pages("de", PageOrder::oldest, 10)), (std::vector{first.id, second.id}));
}

TEST_F(TickerServiceTest, PagesEndWithoutAnEmptyPage) {
  for (int i = 0; i < 14; ++i) post("de", "entry");
  auto first = service.entries({"de", PageOrder::newest, std::nullopt, 7}).value();
  ASSERT_EQ(first.items.size(), 7u);
  ASSERT_TRUE(first.next);
  auto second = service.entries({"de", PageOrder::newest, first.next, 7}).value();
  EXPECT_EQ(second.items.size(), 7u);
  EXPECT_FALSE(second.next) << "the last full page says it is the last";

  auto empty = service.entries({"ru", PageOrder::oldest, std::nullopt, 7}).value();
  EXPECT_TRUE(empty.items.empty());
  EXPECT_FALSE(empty.next);
}

TEST_F(TickerServiceTest, NewestPagesStayStableWhileEntriesArrive) {
  std::vector<std::int64_t> posted;
  for (int i = 0; i < 12; ++i) posted.push_back(post("de", "old " + std::to_string(i)).id);
  auto page = service.entries({"de", PageOrder::newest, std::nullopt, 5}).value();
  std::vector<std::int64_t> seen = ids_of(page.items);
  // Breaking news arrives while the reader scrolls down.
  for (int i = 0; i < 3; ++i) post("de", "new " + std::to_string(i));
  while (page.next) {
    page = service.entries({"de", PageOrder::newest, page.next, 5}).value();
    for (auto id : ids_of(page.items)) seen.push_back(id);
  }
  std::vector<std::int64_t> expected(posted.rbegin(), posted.rend());
  EXPECT_EQ(seen, expected) << "no entry twice, none skipped, none of the new ones";
}

TEST_F(TickerServiceTest, OldestPagesStayStableWhileEntriesArrive) {
  std::vector<std::int64_t> posted;
  for (int i = 0; i < 12; ++i) posted.push_back(post("de", "old " + std::to_string(i)).id);
  auto page = service.entries({"de", PageOrder::oldest, std::nullopt, 5}).value();
  std::vector<std::int64_t> seen = ids_of(page.items);
  for (int i = 0; i < 3; ++i) posted.push_back(post("de", "new " + std::to_string(i)).id);
  while (page.next) {
    page = service.entries({"de", PageOrder::oldest, page.next, 5}).value();
    for (auto id : ids_of(page.items)) seen.push_back(id);
  }
  EXPECT_EQ(seen, posted) << "the new entries come at the end, each once";
}

TEST_F(TickerServiceTest, DeletingAnEntryDoesNotBreakACursorOnIt) {
  std::vector<std::int64_t> posted;
  for (int i = 0; i < 6; ++i) posted.push_back(post("de", "entry").id);
  auto first = service.entries({"de", PageOrder::newest, std::nullopt, 3}).value();
  ASSERT_TRUE(first.next);
  ASSERT_TRUE(service.delete_entry("de", first.next->id));
  auto second = service.entries({"de", PageOrder::newest, first.next, 3}).value();
  EXPECT_EQ(ids_of(second.items), (std::vector<std::int64_t>{posted[2], posted[1], posted[0]}));
}

// --- live blogs ----------------------------------------------------------------------

TEST_F(TickerServiceTest, CreatesLiveBlogsWhoseSlugIsATicker) {
  auto logged = logged_events();
  Millis before = now_millis();
  auto b = service.create_live_blog("hafenstreik-2026", "de", "  Streik im Hafen ", "Alles dazu");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_GT(b->id, 0);
  EXPECT_EQ(b->slug, "hafenstreik-2026");
  EXPECT_EQ(b->edition, "de");
  EXPECT_EQ(b->title, "Streik im Hafen");
  EXPECT_EQ(b->teaser, "Alles dazu");
  EXPECT_GE(b->created_at, before);
  EXPECT_FALSE(b->ended_at);
  EXPECT_GT(logged_events(), logged);

  auto stored = store->tickers().live_blog("hafenstreik-2026");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->id, b->id);
  EXPECT_EQ(stored->title, "Streik im Hafen");
  EXPECT_EQ(stored->edition, "de");

  EXPECT_TRUE(service.exists("hafenstreik-2026"));
  EXPECT_EQ(service.edition_of("hafenstreik-2026"), "de");
  EXPECT_EQ(service.live_blog("hafenstreik-2026").value().id, b->id);
  auto de = service.live_blogs("de").value();
  ASSERT_EQ(de.size(), 1u);
  EXPECT_EQ(de[0].slug, "hafenstreik-2026");
  EXPECT_TRUE(service.live_blogs("en").value().empty());

  auto e = service.post_entry("hafenstreik-2026", body("Die Kräne stehen still."));
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->ticker, "hafenstreik-2026");
  EXPECT_EQ(events.changes.back().entry.ticker, "hafenstreik-2026");
  EXPECT_EQ(ids_of(all_pages("hafenstreik-2026", PageOrder::newest, 10)),
            (std::vector<std::int64_t>{e->id}));
  EXPECT_EQ(stored_count("de"), 0u) << "the blog's entries are not in the edition's ticker";
}

TEST_F(TickerServiceTest, LiveBlogSlugsAreUnique) {
  ASSERT_TRUE(service.create_live_blog("hafenstreik-2026", "de", "Streik im Hafen", ""));
  auto again = service.create_live_blog("hafenstreik-2026", "de", "Zweiter Versuch", "");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
  EXPECT_EQ(again.error().field, "slug");
  auto other_edition = service.create_live_blog("hafenstreik-2026", "en", "Harbour strike", "");
  EXPECT_EQ(code_of(other_edition), ErrorCode::conflict) << "one ticker per slug, site-wide";

  EXPECT_EQ(store->tickers().live_blog("hafenstreik-2026").value().title, "Streik im Hafen");
  EXPECT_EQ(store->tickers().live_blogs().value().size(), 1u);
  EXPECT_EQ(service.edition_of("hafenstreik-2026"), "de") << "the failed attempt changed nothing";
}

TEST_F(TickerServiceTest, RejectsInvalidLiveBlogs) {
  auto expect_invalid_blog = [&](std::string slug, std::string edition, std::string title,
                                 std::string teaser, const char* field) {
    auto r = service.create_live_blog(slug, edition, title, teaser);
    ASSERT_FALSE(r) << slug << " was accepted";
    EXPECT_EQ(r.error().code, ErrorCode::invalid) << slug;
    EXPECT_EQ(r.error().field, field) << slug;
    EXPECT_EQ(code_of(store->tickers().live_blog(slug)), ErrorCode::not_found) << slug;
    EXPECT_EQ(service.exists(slug), editions.contains(slug)) << slug;
  };
  expect_invalid_blog("", "de", "Title", "", "slug");
  expect_invalid_blog("Hafen-Streik", "de", "Title", "", "slug");
  expect_invalid_blog("hafen streik", "de", "Title", "", "slug");
  expect_invalid_blog("hafen--streik", "de", "Title", "", "slug");
  expect_invalid_blog("-hafen", "de", "Title", "", "slug");
  expect_invalid_blog("hafenstr\xc3\xa4ik-1", "de", "Title", "", "slug");
  expect_invalid_blog(std::string(81, 'a') + "-1", "de", "Title", "", "slug");
  // Slugs name tickers: an edition code, or anything that could become one, is not a slug.
  expect_invalid_blog("de", "de", "Title", "", "slug");
  expect_invalid_blog("en", "de", "Title", "", "slug");
  expect_invalid_blog("fr", "de", "Title", "", "slug");
  expect_invalid_blog("election", "de", "Title", "", "slug");
  expect_invalid_blog("hafen-1", "fr", "Title", "", "edition");
  expect_invalid_blog("hafen-1", "", "Title", "", "edition");
  expect_invalid_blog("hafen-1", "de", "  ", "", "title");
  expect_invalid_blog("hafen-1", "de", std::string(201, 't'), "", "title");
  expect_invalid_blog("hafen-1", "de", "Title", std::string(601, 't'), "teaser");
  expect_invalid_blog("hafen-1", "de", "Title", "bad \xff", "teaser");
  EXPECT_TRUE(store->tickers().live_blogs().value().empty());

  EXPECT_TRUE(
      service.create_live_blog("elections", "de", std::string(200, 't'), std::string(600, 't')))
      << "nine letters cannot be an edition code";
}

TEST_F(TickerServiceTest, EndingALiveBlogKeepsItReadable) {
  ASSERT_TRUE(service.create_live_blog("hafenstreik-2026", "de", "Streik im Hafen", ""));
  Millis before = now_millis();
  auto ended = service.end_live_blog("hafenstreik-2026");
  ASSERT_TRUE(ended) << ended.error().message;
  ASSERT_TRUE(ended->ended_at);
  EXPECT_GE(*ended->ended_at, before);
  EXPECT_EQ(store->tickers().live_blog("hafenstreik-2026").value().ended_at, ended->ended_at);
  EXPECT_TRUE(service.exists("hafenstreik-2026"));

  auto again = service.end_live_blog("hafenstreik-2026");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ended_at, ended->ended_at) << "ending twice keeps the first end";
  EXPECT_EQ(code_of(service.end_live_blog("no-such-blog")), ErrorCode::not_found);
  EXPECT_EQ(code_of(service.live_blog("no-such-blog")), ErrorCode::not_found);
}

TEST_F(TickerServiceTest, ALiveBlogCreatedElsewhereIsKnownAtOnce) {
  // Another node, or the CLI, has its own TickerService over the same store.
  RecordingEvents other_events;
  domain::TickerService elsewhere{*store, editions, articles, other_events};
  ASSERT_TRUE(elsewhere.create_live_blog("hafenstreik-2026", "de", "Streik im Hafen", ""));
  ASSERT_TRUE(elsewhere.create_live_blog("harbour-strike", "en", "Harbour strike", ""));
  EXPECT_TRUE(service.exists("hafenstreik-2026"));
  EXPECT_TRUE(service.exists("harbour-strike"));
  EXPECT_EQ(service.edition_of("harbour-strike"), "en");
  EXPECT_TRUE(service.post_entry("harbour-strike", body("Cranes idle")));
  EXPECT_EQ(events.changes.size(), 1u);
  EXPECT_TRUE(other_events.changes.empty());
  auto logged = store->events().topic_after("ticker:harbour-strike", 0, 10).value();
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[0].name, "ticker.blog") << "the blog's creation is an event too";
  EXPECT_EQ(logged[1].name, "ticker.entry");
}

TEST_F(TickerServiceTest, AnEntryAndItsEventCommitTogether) {
  auto e = post("de", "first");
  auto logged = store->events().topic_after("ticker:de", 0, 10).value();
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].seq, 1u);
  EXPECT_EQ(logged[0].data, R"({"id":)" + std::to_string(e.id) + "}");
  // A failing event write (an event without a name) takes the entry with it.
  struct Broken final : domain::TickerEvents {
    domain::LiveEvent entry_event(const TickerEntry& entry, EntryChange) override {
      return {"ticker:" + entry.ticker, "", "{}"};
    }
    domain::LiveEvent blog_event(const domain::LiveBlog&) override { return {}; }
  } broken;
  domain::TickerService failing{*store, editions, articles, broken};
  EXPECT_FALSE(failing.post_entry("de", body("never stored")));
  EXPECT_EQ(stored_count("de"), 1u) << "no entry without its event";
  EXPECT_EQ(store->events().topic_after("ticker:de", 0, 10).value().size(), 1u);
}

}  // namespace
