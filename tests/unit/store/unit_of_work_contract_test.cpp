// The Store::transact contract across repositories: an entity, its
// related rows and its events commit together or not at all; reads inside
// a unit see its writes, other threads do not until it commits; nested
// units are savepoints. Run against every Store implementation
// (store_kinds()). The event log's own unit-of-work tests are in
// event_log_contract_test.cpp.
#include <gtest/gtest.h>

#include <thread>

#include "store_fixture.hpp"

using namespace depesche;
using domain::Account;
using domain::LiveBlog;
using domain::QueuedMail;
using domain::TickerEntry;

namespace {

constexpr Millis kStart = 1'800'000'000'000;

TickerEntry make_entry(std::string ticker, Millis created) {
  TickerEntry e;
  e.ticker = std::move(ticker);
  e.body = "Body";
  e.body_html = "<p>Body</p>";
  e.created_at = e.updated_at = created;
  return e;
}

LiveBlog make_blog(std::string slug) {
  LiveBlog b;
  b.slug = std::move(slug);
  b.edition = "de";
  b.title = "Title";
  b.created_at = kStart;
  return b;
}

Account make_account(std::string email) {
  Account a;
  a.email = std::move(email);
  a.display_name = "Anna";
  a.password_hash = "hash";
  a.edition = "en";
  a.created_at = kStart;
  return a;
}

QueuedMail make_mail(std::string to) {
  QueuedMail q;
  q.kind = "confirm";
  q.mail.from = "noreply@news.example";
  q.mail.to = std::move(to);
  q.mail.subject = "Subject";
  q.mail.text = "Text";
  q.created_at = q.next_attempt_at = kStart;
  return q;
}

/// Turns a failed step into the unit's error, so a test reads like the
/// service code it stands for.
#define STEP(expr)                                                 \
  do {                                                             \
    auto step_result = (expr);                                     \
    if (!step_result) return std::unexpected(step_result.error()); \
  } while (false)

class UnitOfWorkContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = GetParam().open(dir);

  std::size_t entries(std::string ticker) {
    auto page = store->tickers().entries({std::move(ticker)});
    EXPECT_TRUE(page);
    return page ? page->items.size() : 0;
  }
  std::size_t events(std::string topic) {
    auto e = store->events().topic_after(topic, 0, 100);
    EXPECT_TRUE(e);
    return e ? e->size() : 0;
  }
};

TEST_P(UnitOfWorkContract, AnEntryAndItsEventCommitTogether) {
  std::int64_t id = 0;
  auto r = store->transact([&]() -> Result<void> {
    auto e = store->tickers().insert_entry(make_entry("de", kStart));
    if (!e) return std::unexpected(e.error());
    id = e->id;
    // Reads inside the unit see its own writes, in every repository.
    if (store->tickers().entries({"de"})->items.size() != 1u)
      return fail(ErrorCode::internal, "page does not see the entry");
    if (!store->tickers().entry(id)) return fail(ErrorCode::internal, "entry not visible");
    STEP(store->events().append("ticker:de", "ticker.entry", "{}", kStart));
    if (store->events().head("ticker:de")->seq != 1u)
      return fail(ErrorCode::internal, "head does not see the event");
    return {};
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(store->tickers().entry(id));
  EXPECT_EQ(entries("de"), 1u);
  EXPECT_EQ(events("ticker:de"), 1u);
}

TEST_P(UnitOfWorkContract, AFailedUnitLeavesNothingInAnyRepository) {
  auto sec = store->articles().create_section({0, "en", "economy", "Economy", 1}).value();
  auto r = store->transact([&]() -> Result<void> {
    STEP(store->tickers().insert_live_blog(make_blog("hafen")));
    STEP(store->tickers().insert_entry(make_entry("hafen", kStart)));
    STEP(store->accounts().insert(make_account("anna@example.org")));
    STEP(store->mail_queue().enqueue(make_mail("anna@example.org")));
    STEP(store->tokens().insert({0, "wire", domain::Role::editor, "h", kStart, std::nullopt}));
    domain::Article a;
    a.edition = "en";
    a.slug = "a";
    a.section_id = sec.id;
    a.headline = "A";
    a.created_at = a.updated_at = kStart;
    STEP(store->articles().insert(a));
    STEP(store->events().append("ticker:hafen", "ticker.entry", "{}", kStart));
    return fail(ErrorCode::conflict, "someone else was faster");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::conflict) << "the work's error is passed on";
  EXPECT_EQ(r.error().message, "someone else was faster");
  EXPECT_EQ(store->tickers().live_blog("hafen").error().code, ErrorCode::not_found);
  EXPECT_TRUE(store->tickers().live_blogs()->empty());
  EXPECT_EQ(entries("hafen"), 0u);
  EXPECT_EQ(store->accounts().by_email("anna@example.org").error().code, ErrorCode::not_found);
  EXPECT_EQ(store->mail_queue().count(domain::MailState::pending).value(), 0);
  EXPECT_EQ(store->tokens().active_by_hash("h").error().code, ErrorCode::not_found);
  EXPECT_EQ(store->articles().count().value(), 0);
  EXPECT_EQ(events("ticker:hafen"), 0u);
  EXPECT_EQ(store->events().latest_position().value(), 0);
  EXPECT_EQ(store->articles().sections("en")->size(), 1u) << "what came before stays";
}

TEST_P(UnitOfWorkContract, RepositoryCallsWithTheirOwnTransactionsJoinTheUnit) {
  auto anna = store->accounts().insert(make_account("anna@example.org")).value();
  ASSERT_TRUE(
      store->accounts().insert_session({"s", anna.id, kStart, kStart, "ua"}));  // ends below
  domain::AccountToken t;
  t.hash = "t";
  t.account_id = anna.id;
  t.purpose = domain::TokenPurpose::reset;
  t.created_at = kStart;
  t.expires_at = kStart + 1000;
  ASSERT_TRUE(store->accounts().insert_token(t));
  ASSERT_TRUE(store->mail_queue().enqueue(make_mail("anna@example.org")));

  // set_password, consume_token and mark_deleted are atomic on their own;
  // inside a unit they must still roll back with it.
  auto r = store->transact([&]() -> Result<void> {
    STEP(store->accounts().consume_token("t", domain::TokenPurpose::reset, kStart + 1));
    STEP(store->accounts().set_password(anna.id, "new"));
    STEP(store->accounts().mark_deleted(anna.id, kStart + 2));
    return fail(ErrorCode::invalid, "undo");
  });
  ASSERT_FALSE(r);
  auto a = store->accounts().by_id(anna.id).value();
  EXPECT_FALSE(a.deleted());
  EXPECT_EQ(a.email, "anna@example.org");
  EXPECT_EQ(a.password_hash, "hash");
  EXPECT_TRUE(store->accounts().session("s"));
  EXPECT_FALSE(store->accounts().peek_token("t", domain::TokenPurpose::reset)->used_at);
  EXPECT_EQ(store->mail_queue().count(domain::MailState::pending).value(), 1);

  auto ok = store->transact([&]() -> Result<void> {
    STEP(store->accounts().consume_token("t", domain::TokenPurpose::reset, kStart + 1));
    STEP(store->accounts().set_password(anna.id, "new"));
    return {};
  });
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(store->accounts().by_id(anna.id)->password_hash, "new");
  EXPECT_EQ(store->accounts().session("s").error().code, ErrorCode::not_found);
  EXPECT_EQ(store->accounts().peek_token("t", domain::TokenPurpose::reset)->used_at, kStart + 1);
}

TEST_P(UnitOfWorkContract, OtherThreadsSeeAUnitOnlyOnceItCommits) {
  std::size_t seen_inside = 99;
  std::int64_t position_inside = -1;
  auto r = store->transact([&]() -> Result<void> {
    STEP(store->tickers().insert_entry(make_entry("de", kStart)));
    STEP(store->events().append("ticker:de", "ticker.entry", "{}", kStart));
    std::thread other([&] {
      auto page = store->tickers().entries({"de"});
      seen_inside = page ? page->items.size() : 98;
      auto events = store->events().after_position(0, 10);
      position_inside = events ? static_cast<std::int64_t>(events->size()) : -2;
    });
    other.join();
    return {};
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(seen_inside, 0u) << "no dirty reads";
  EXPECT_EQ(position_inside, 0) << "the relay does not see uncommitted events";
  std::size_t seen_after = 99;
  std::thread([&] { seen_after = entries("de"); }).join();
  EXPECT_EQ(seen_after, 1u);
}

TEST_P(UnitOfWorkContract, ANestedUnitIsASavepoint) {
  auto r = store->transact([&]() -> Result<void> {
    STEP(store->tickers().insert_entry(make_entry("de", kStart)));
    auto inner_failed = store->transact([&]() -> Result<void> {
      STEP(store->tickers().insert_entry(make_entry("de", kStart + 1)));
      STEP(store->accounts().insert(make_account("anna@example.org")));
      return fail(ErrorCode::invalid, "inner");
    });
    EXPECT_FALSE(inner_failed);
    EXPECT_EQ(store->tickers().entries({"de"})->items.size(), 1u) << "undone at once";
    auto inner_ok = store->transact([&]() -> Result<void> {
      STEP(store->accounts().insert(make_account("bob@example.org")));
      return {};
    });
    EXPECT_TRUE(inner_ok);
    return {};
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(entries("de"), 1u);
  EXPECT_EQ(store->accounts().by_email("anna@example.org").error().code, ErrorCode::not_found);
  EXPECT_TRUE(store->accounts().by_email("bob@example.org"));
}

TEST_P(UnitOfWorkContract, AConflictInANestedUnitLeavesTheOuterUnitUsable) {
  ASSERT_TRUE(store->tickers().insert_live_blog(make_blog("hafen")));
  auto r = store->transact([&]() -> Result<void> {
    auto dup = store->transact([&]() -> Result<void> {
      STEP(store->tickers().insert_live_blog(make_blog("hafen")));
      return {};
    });
    if (dup || dup.error().code != ErrorCode::conflict)
      return fail(ErrorCode::internal, "expected a conflict");
    STEP(store->tickers().insert_live_blog(make_blog("hafen-2")));
    return {};
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(store->tickers().live_blogs()->size(), 2u);
}

TEST_P(UnitOfWorkContract, ACommittedInnerUnitGoesIfTheOuterOneFails) {
  auto r = store->transact([&]() -> Result<void> {
    auto inner = store->transact([&]() -> Result<void> {
      STEP(store->tickers().insert_entry(make_entry("de", kStart)));
      STEP(store->events().append("ticker:de", "ticker.entry", "{}", kStart));
      return {};
    });
    if (!inner) return inner;
    return fail(ErrorCode::invalid, "outer");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(entries("de"), 0u);
  EXPECT_EQ(events("ticker:de"), 0u);
}

TEST_P(UnitOfWorkContract, InTransactionHandsBackTheCommittedValue) {
  auto stored = store::in_transaction(*store, [&]() -> Result<TickerEntry> {
    auto e = store->tickers().insert_entry(make_entry("de", kStart));
    if (!e) return e;
    STEP(store->events().append("ticker:de", "ticker.entry", "{}", kStart));
    return e;
  });
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(store->tickers().entry(stored->id)->ticker, "de");

  auto refused = store::in_transaction(*store, [&]() -> Result<TickerEntry> {
    STEP(store->tickers().insert_entry(make_entry("de", kStart + 1)));
    return fail(ErrorCode::not_found, "no such ticker");
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::not_found);
  EXPECT_EQ(entries("de"), 1u);
}

TEST_P(UnitOfWorkContract, UnitsFromManyThreadsAllCommitWholly) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto r = store->transact([&]() -> Result<void> {
          STEP(store->tickers().insert_entry(make_entry("de", kStart + t * 100 + i)));
          STEP(store->events().append("ticker:de", "ticker.entry", "{}", kStart));
          return {};
        });
        EXPECT_TRUE(r) << r.error().message;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(
      store->tickers().entries({"de", domain::PageOrder::newest, std::nullopt, 100})->items.size(),
      40u);
  EXPECT_EQ(store->events().head("ticker:de")->seq, 40u);
  EXPECT_EQ(events("ticker:de"), 40u);
}

TEST_P(UnitOfWorkContract, ConcurrentUnitsStampOneTickerInCommitOrder) {
  // Four writers whose clocks all say the same time: each unit takes its
  // place from the store, so the entries come out in commit order (by id)
  // with times that never go back.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto r = store->transact([&]() -> Result<void> {
          auto at = store->tickers().next_entry_time("de", kStart);
          if (!at) return std::unexpected(at.error());
          STEP(store->tickers().insert_entry(make_entry("de", *at + 1)));
          return {};
        });
        EXPECT_TRUE(r) << r.error().message;
      }
    });
  for (auto& th : threads) th.join();
  auto page = store->tickers().entries({"de", domain::PageOrder::oldest, std::nullopt, 100});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 40u);
  for (std::size_t i = 1; i < page->items.size(); ++i) {
    EXPECT_LT(page->items[i - 1].id, page->items[i].id) << "entry " << i;
    EXPECT_LT(page->items[i - 1].created_at, page->items[i].created_at) << "entry " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, UnitOfWorkContract, ::testing::ValuesIn(store_kinds()),
                         store_kind_name);

}  // namespace
