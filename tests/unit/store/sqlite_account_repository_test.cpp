// The account and mail-queue store contracts, run against SQLite (and later
// PostgreSQL, same tests).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store_fixture.hpp"

using namespace depesche;
using domain::Account;
using domain::AccountToken;
using domain::MailState;
using domain::QueuedMail;
using domain::Role;
using domain::Session;
using domain::TokenPurpose;

namespace {

constexpr Millis kStart = 1'800'000'000'000;

Account make_account(std::string email, Millis created = kStart) {
  Account a;
  a.email = std::move(email);
  a.display_name = "Anna Berg";
  a.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
  a.role = Role::reader;
  a.edition = "en";
  a.created_at = created;
  return a;
}

AccountToken make_token(std::string hash, std::int64_t account_id, TokenPurpose purpose,
                        Millis expires = kStart + 1000) {
  AccountToken t;
  t.hash = std::move(hash);
  t.account_id = account_id;
  t.purpose = purpose;
  t.created_at = kStart;
  t.expires_at = expires;
  return t;
}

QueuedMail make_queued(std::string to, Millis due) {
  QueuedMail q;
  q.kind = "confirm";
  q.mail.from = "Depesche <noreply@news.example>";
  q.mail.to = std::move(to);
  q.mail.subject = "Subject";
  q.mail.text = "Text";
  q.created_at = kStart;
  q.next_attempt_at = due;
  return q;
}

class SqliteAccountRepositoryTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = open_test_store(dir);
  store::AccountRepository& accounts = store->accounts();
  store::MailQueueRepository& queue = store->mail_queue();

  Account add(std::string email) {
    auto a = accounts.insert(make_account(std::move(email)));
    EXPECT_TRUE(a) << a.error().message;
    return *a;
  }
  void add_session(std::string hash, std::int64_t account_id, Millis at = kStart) {
    ASSERT_TRUE(accounts.insert_session(Session{std::move(hash), account_id, at, at, "ua"}));
  }
};

TEST_F(SqliteAccountRepositoryTest, ReadsBackEveryField) {
  Account a = make_account("anna@example.org");
  a.role = Role::editor;
  a.edition = "de";
  a.confirmed_at = kStart + 5;
  auto stored = accounts.insert(a);
  ASSERT_TRUE(stored);
  EXPECT_GT(stored->id, 0);
  for (auto read : {accounts.by_id(stored->id), accounts.by_email("anna@example.org")}) {
    ASSERT_TRUE(read);
    EXPECT_EQ(read->id, stored->id);
    EXPECT_EQ(read->email, "anna@example.org");
    EXPECT_EQ(read->display_name, "Anna Berg");
    EXPECT_EQ(read->password_hash, a.password_hash);
    EXPECT_EQ(read->role, Role::editor);
    EXPECT_EQ(read->edition, "de");
    EXPECT_EQ(read->created_at, kStart);
    EXPECT_EQ(read->confirmed_at, kStart + 5);
    EXPECT_FALSE(read->deleted_at);
  }
  EXPECT_EQ(accounts.by_id(9999).error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.by_email("nobody@example.org").error().code, ErrorCode::not_found);
}

TEST_F(SqliteAccountRepositoryTest, AnAddressBelongsToOneAccount) {
  add("anna@example.org");
  auto dup = accounts.insert(make_account("anna@example.org"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::conflict);
  EXPECT_EQ(dup.error().field, "email");
  Account bob = add("bob@example.org");
  auto taken = accounts.set_email(bob.id, "anna@example.org");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::conflict);
  EXPECT_EQ(accounts.by_id(bob.id)->email, "bob@example.org");
  ASSERT_TRUE(accounts.set_email(bob.id, "robert@example.org"));
  EXPECT_EQ(accounts.by_email("robert@example.org")->id, bob.id);
  EXPECT_EQ(accounts.list(0, 100)->size(), 2u);
}

TEST_F(SqliteAccountRepositoryTest, DeletionScrubsTheRowAndFreesTheAddress) {
  Account anna = add("anna@example.org");
  add_session(std::string(64, 's'), anna.id);
  ASSERT_TRUE(
      accounts.insert_token(make_token(std::string(64, 't'), anna.id, TokenPurpose::reset)));
  ASSERT_TRUE(accounts.mark_deleted(anna.id, kStart + 7));

  auto gone = accounts.by_id(anna.id);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->deleted_at, kStart + 7);
  EXPECT_EQ(gone->email, "");
  EXPECT_EQ(gone->display_name, "");
  EXPECT_EQ(gone->password_hash, "");
  EXPECT_EQ(accounts.by_email("anna@example.org").error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.session(std::string(64, 's')).error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.peek_token(std::string(64, 't'), TokenPurpose::reset).error().code,
            ErrorCode::not_found);
  EXPECT_TRUE(accounts.sessions_of(anna.id)->empty());

  // Changes to a deleted account find nothing to change.
  EXPECT_EQ(accounts.mark_deleted(anna.id, kStart + 8).error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.set_role(anna.id, Role::admin).error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.set_email(anna.id, "back@example.org").error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.set_password(anna.id, "x").error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.set_profile(anna.id, "X", "en").error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.set_confirmed(anna.id, kStart).error().code, ErrorCode::not_found);

  // Two deleted accounts at once: the scrubbed addresses do not collide.
  Account again = add("anna@example.org");
  EXPECT_NE(again.id, anna.id);
  ASSERT_TRUE(accounts.mark_deleted(again.id, kStart + 9));
  EXPECT_TRUE(accounts.insert(make_account("anna@example.org")));
}

TEST_F(SqliteAccountRepositoryTest, SettersChangeOneAccount) {
  Account anna = add("anna@example.org");
  Account bob = add("bob@example.org");
  ASSERT_TRUE(accounts.set_confirmed(anna.id, kStart + 1));
  ASSERT_TRUE(accounts.set_confirmed(anna.id, kStart + 2));
  EXPECT_EQ(accounts.by_id(anna.id)->confirmed_at, kStart + 1) << "the first confirmation counts";
  ASSERT_TRUE(accounts.set_profile(anna.id, "Anna B.", "ru"));
  ASSERT_TRUE(accounts.set_role(anna.id, Role::moderator));
  auto a = accounts.by_id(anna.id).value();
  EXPECT_EQ(a.display_name, "Anna B.");
  EXPECT_EQ(a.edition, "ru");
  EXPECT_EQ(a.role, Role::moderator);
  auto b = accounts.by_id(bob.id).value();
  EXPECT_FALSE(b.confirmed_at);
  EXPECT_EQ(b.display_name, "Anna Berg");
  EXPECT_EQ(b.role, Role::reader);
  EXPECT_EQ(accounts.set_role(9999, Role::admin).error().code, ErrorCode::not_found);
}

TEST_F(SqliteAccountRepositoryTest, SettingThePasswordEndsEverySessionOfThatAccountOnly) {
  Account anna = add("anna@example.org");
  Account bob = add("bob@example.org");
  add_session(std::string(64, 'a'), anna.id);
  add_session(std::string(64, 'b'), anna.id);
  add_session(std::string(64, 'c'), bob.id);
  ASSERT_TRUE(accounts.set_password(anna.id, "new-hash"));
  EXPECT_EQ(accounts.by_id(anna.id)->password_hash, "new-hash");
  EXPECT_TRUE(accounts.sessions_of(anna.id)->empty());
  EXPECT_TRUE(accounts.session(std::string(64, 'c')));
}

TEST_F(SqliteAccountRepositoryTest, SessionsAreListedMostRecentlyUsedFirst) {
  Account anna = add("anna@example.org");
  add_session("h1", anna.id, kStart);
  add_session("h2", anna.id, kStart + 10);
  add_session("h3", anna.id, kStart + 20);
  ASSERT_TRUE(accounts.touch_session("h1", kStart + 30));
  auto s = accounts.session("h1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->created_at, kStart);
  EXPECT_EQ(s->last_seen_at, kStart + 30);
  EXPECT_EQ(s->user_agent, "ua");
  auto all = accounts.sessions_of(anna.id).value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id_hash, "h1");
  EXPECT_EQ(all[1].id_hash, "h3");
  EXPECT_EQ(all[2].id_hash, "h2");
  ASSERT_TRUE(accounts.delete_session("h3"));
  EXPECT_EQ(accounts.session("h3").error().code, ErrorCode::not_found);
  EXPECT_TRUE(accounts.delete_session("h3")) << "deleting an unknown session is fine";
  EXPECT_EQ(accounts.sessions_of(anna.id)->size(), 2u);
}

TEST_F(SqliteAccountRepositoryTest, ListPagesNewestFirst) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(add("u" + std::to_string(i) + "@example.org").id);
  auto first = accounts.list(0, 2).value();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, ids[4]);
  EXPECT_EQ(first[1].id, ids[3]);
  auto next = accounts.list(first[1].id, 10).value();
  ASSERT_EQ(next.size(), 3u);
  EXPECT_EQ(next[0].id, ids[2]);
  EXPECT_EQ(next[2].id, ids[0]);
}

TEST_F(SqliteAccountRepositoryTest, ConsumeTokenUsesItOnce) {
  Account anna = add("anna@example.org");
  auto t = make_token(std::string(64, 'a'), anna.id, TokenPurpose::email_change);
  t.new_email = "new@example.org";
  ASSERT_TRUE(accounts.insert_token(t));
  EXPECT_EQ(accounts.insert_token(t).error().code, ErrorCode::conflict);

  EXPECT_EQ(accounts.consume_token(t.hash, TokenPurpose::reset, kStart).error().code,
            ErrorCode::not_found)
      << "a token of another purpose is unknown";
  EXPECT_EQ(
      accounts.consume_token(std::string(64, 'z'), TokenPurpose::email_change, kStart).error().code,
      ErrorCode::not_found);

  auto used = accounts.consume_token(t.hash, TokenPurpose::email_change, kStart + 10);
  ASSERT_TRUE(used) << used.error().message;
  EXPECT_EQ(used->account_id, anna.id);
  EXPECT_EQ(used->new_email, "new@example.org");
  EXPECT_EQ(used->purpose, TokenPurpose::email_change);
  EXPECT_EQ(used->used_at, kStart + 10);
  auto again = accounts.consume_token(t.hash, TokenPurpose::email_change, kStart + 11);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::invalid);
}

TEST_F(SqliteAccountRepositoryTest, ConsumeTokenRefusesExpiredTokens) {
  Account anna = add("anna@example.org");
  ASSERT_TRUE(accounts.insert_token(
      make_token(std::string(64, 'e'), anna.id, TokenPurpose::confirm, kStart + 100)));
  auto expired = accounts.consume_token(std::string(64, 'e'), TokenPurpose::confirm, kStart + 100);
  ASSERT_FALSE(expired) << "expires_at is the first moment it no longer works";
  EXPECT_EQ(expired.error().code, ErrorCode::invalid);
  auto peek = accounts.peek_token(std::string(64, 'e'), TokenPurpose::confirm);
  ASSERT_TRUE(peek);
  EXPECT_FALSE(peek->used_at) << "a refused token is not marked used";
  EXPECT_TRUE(accounts.consume_token(std::string(64, 'e'), TokenPurpose::confirm, kStart + 99))
      << "(with a clock that went back)";
}

TEST_F(SqliteAccountRepositoryTest, PeekTokenReadsWithoutConsuming) {
  Account anna = add("anna@example.org");
  ASSERT_TRUE(
      accounts.insert_token(make_token(std::string(64, 'p'), anna.id, TokenPurpose::reset)));
  for (int i = 0; i < 2; ++i) {
    auto peek = accounts.peek_token(std::string(64, 'p'), TokenPurpose::reset);
    ASSERT_TRUE(peek);
    EXPECT_EQ(peek->account_id, anna.id);
    EXPECT_EQ(peek->expires_at, kStart + 1000);
    EXPECT_FALSE(peek->used_at);
  }
  EXPECT_EQ(accounts.peek_token(std::string(64, 'p'), TokenPurpose::confirm).error().code,
            ErrorCode::not_found);
  ASSERT_TRUE(accounts.consume_token(std::string(64, 'p'), TokenPurpose::reset, kStart + 1));
  auto after = accounts.peek_token(std::string(64, 'p'), TokenPurpose::reset);
  ASSERT_TRUE(after) << "used tokens can still be peeked at";
  EXPECT_EQ(after->used_at, kStart + 1);
}

TEST_F(SqliteAccountRepositoryTest, ConcurrentConsumersUseATokenExactlyOnce) {
  Account anna = add("anna@example.org");
  for (int round = 0; round < 10; ++round) {
    std::string hash = std::string(63, 'c') + std::to_string(round);
    ASSERT_TRUE(accounts.insert_token(make_token(hash, anna.id, TokenPurpose::reset)));
    std::atomic<int> successes = 0, refusals = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t)
      threads.emplace_back([&] {
        auto r = accounts.consume_token(hash, TokenPurpose::reset, kStart + 1);
        if (r)
          ++successes;
        else if (r.error().code == ErrorCode::invalid)
          ++refusals;
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(successes, 1) << "round " << round;
    EXPECT_EQ(refusals, 5) << "round " << round;
  }
}

// --- the mail queue ---------------------------------------------------------

TEST_F(SqliteAccountRepositoryTest, MailQueueReturnsDueMailsOldestDueFirst) {
  auto late = queue.enqueue(make_queued("late@example.org", kStart + 300)).value();
  auto early = queue.enqueue(make_queued("early@example.org", kStart + 100)).value();
  auto middle = queue.enqueue(make_queued("middle@example.org", kStart + 200)).value();
  auto early2 = queue.enqueue(make_queued("early2@example.org", kStart + 100)).value();
  auto future = queue.enqueue(make_queued("future@example.org", kStart + 10'000)).value();
  EXPECT_EQ(early.state, MailState::pending);

  auto due = queue.due(kStart + 300, 10).value();
  ASSERT_EQ(due.size(), 4u);
  EXPECT_EQ(due[0].id, early.id);
  EXPECT_EQ(due[1].id, early2.id) << "ties by id";
  EXPECT_EQ(due[2].id, middle.id);
  EXPECT_EQ(due[3].id, late.id);
  EXPECT_EQ(due[3].mail.to, "late@example.org");
  EXPECT_EQ(queue.due(kStart + 300, 2)->size(), 2u);
  EXPECT_EQ(queue.due(kStart + 99, 10)->size(), 0u);

  ASSERT_TRUE(queue.mark_sent(early.id, kStart + 400));
  ASSERT_TRUE(queue.mark_attempt_failed(early2.id, 1, std::nullopt, "550"));
  ASSERT_TRUE(queue.mark_attempt_failed(middle.id, 1, kStart + 500, "timeout"));
  due = queue.due(kStart + 300, 10).value();
  ASSERT_EQ(due.size(), 1u) << "sent, failed and postponed mails are not due";
  EXPECT_EQ(due[0].id, late.id);
  due = queue.due(kStart + 10'000, 10).value();
  ASSERT_EQ(due.size(), 3u);
  EXPECT_EQ(due[0].id, late.id);
  EXPECT_EQ(due[1].id, middle.id);
  EXPECT_EQ(due[2].id, future.id);

  EXPECT_EQ(queue.count(MailState::pending).value(), 3);
  EXPECT_EQ(queue.count(MailState::sent).value(), 1);
  EXPECT_EQ(queue.count(MailState::failed).value(), 1);
  auto failed = queue.in_state(MailState::failed, 10).value();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].id, early2.id);
  EXPECT_EQ(failed[0].last_error, "550");
  EXPECT_EQ(failed[0].attempts, 1);
  EXPECT_EQ(failed[0].next_attempt_at, kStart + 100) << "a failed mail keeps its last due time";
}

TEST_F(SqliteAccountRepositoryTest, RetryFailedRequeuesOnlyFailedMails) {
  auto sent = queue.enqueue(make_queued("sent@example.org", kStart)).value();
  auto failed = queue.enqueue(make_queued("failed@example.org", kStart)).value();
  ASSERT_TRUE(queue.mark_sent(sent.id, kStart + 1));
  ASSERT_TRUE(queue.mark_attempt_failed(failed.id, 8, std::nullopt, "gave up"));
  EXPECT_EQ(queue.retry_failed(kStart + 50).value(), 1);
  auto due = queue.due(kStart + 50, 10).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, failed.id);
  EXPECT_EQ(due[0].state, MailState::pending);
  EXPECT_EQ(due[0].next_attempt_at, kStart + 50);
  EXPECT_EQ(queue.count(MailState::sent).value(), 1);
}

}  // namespace
