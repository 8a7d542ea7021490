// The AccountRepository contract (accounts, sessions, mailed single-use
// tokens), run against every Store implementation (store_kinds()).
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

class AccountRepositoryContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = GetParam().open(dir);
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

TEST_P(AccountRepositoryContract, ReadsBackEveryField) {
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

TEST_P(AccountRepositoryContract, AnAddressBelongsToOneAccount) {
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

TEST_P(AccountRepositoryContract, DeletionScrubsTheRowAndFreesTheAddress) {
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

TEST_P(AccountRepositoryContract, SettersChangeOneAccount) {
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

TEST_P(AccountRepositoryContract, SettingThePasswordEndsEverySessionOfThatAccountOnly) {
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

TEST_P(AccountRepositoryContract, SessionsAreListedMostRecentlyUsedFirst) {
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

TEST_P(AccountRepositoryContract, ListPagesNewestFirst) {
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

TEST_P(AccountRepositoryContract, ConsumeTokenUsesItOnce) {
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

TEST_P(AccountRepositoryContract, ConsumeTokenRefusesExpiredTokens) {
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

TEST_P(AccountRepositoryContract, PeekTokenReadsWithoutConsuming) {
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

TEST_P(AccountRepositoryContract, ConcurrentConsumersUseATokenExactlyOnce) {
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

TEST_P(AccountRepositoryContract, DeletionDropsTheMailsToTheAddressOnly) {
  Account anna = add("anna@example.org");
  add("bob@example.org");
  ASSERT_TRUE(queue.enqueue(make_queued("anna@example.org", kStart)));
  ASSERT_TRUE(queue.enqueue(make_queued("anna@example.org", kStart + 5)));
  auto bobs = queue.enqueue(make_queued("bob@example.org", kStart)).value();
  ASSERT_TRUE(accounts.mark_deleted(anna.id, kStart + 7));
  auto left = queue.in_state(MailState::pending, 10).value();
  ASSERT_EQ(left.size(), 1u) << "the mails hold the address, the name and maybe links";
  EXPECT_EQ(left[0].id, bobs.id);
}

TEST_P(AccountRepositoryContract, ADeletedAccountCanBeReadByIdForItsContent) {
  Account anna = add("anna@example.org");
  ASSERT_TRUE(accounts.set_role(anna.id, Role::editor));
  ASSERT_TRUE(accounts.mark_deleted(anna.id, kStart + 7));
  auto gone = accounts.by_id(anna.id);
  ASSERT_TRUE(gone) << "later content still shows \"deleted user\"";
  EXPECT_TRUE(gone->deleted());
  EXPECT_EQ(gone->created_at, kStart);
}

TEST_P(AccountRepositoryContract, UnknownAccountsAreNotFoundByEverySetter) {
  EXPECT_EQ(accounts.set_confirmed(9999, kStart).error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.set_profile(9999, "X", "en").error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.set_role(9999, Role::admin).error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.set_password(9999, "x").error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.set_email(9999, "x@example.org").error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.mark_deleted(9999, kStart).error().code, ErrorCode::not_found);
  EXPECT_TRUE(accounts.list(0, 10)->empty()) << "no setter creates an account";
  EXPECT_EQ(accounts.by_email("x@example.org").error().code, ErrorCode::not_found);
}

TEST_P(AccountRepositoryContract, SettingTheSameAddressAgainIsNoConflict) {
  Account anna = add("anna@example.org");
  ASSERT_TRUE(accounts.set_email(anna.id, "anna@example.org"));
  EXPECT_EQ(accounts.by_email("anna@example.org")->id, anna.id);
}

TEST_P(AccountRepositoryContract, EveryRoleIsKept) {
  for (Role role : {Role::reader, Role::moderator, Role::editor, Role::admin}) {
    Account a = make_account(std::string(domain::to_string(role)) + "@example.org");
    a.role = role;
    auto stored = accounts.insert(a);
    ASSERT_TRUE(stored);
    EXPECT_EQ(accounts.by_id(stored->id)->role, role);
  }
}

// --- sessions ---------------------------------------------------------------

TEST_P(AccountRepositoryContract, EndSessionsEndsEverySessionOfOneAccount) {
  Account anna = add("anna@example.org");
  Account bob = add("bob@example.org");
  add_session("a1", anna.id);
  add_session("a2", anna.id);
  add_session("b1", bob.id);
  ASSERT_TRUE(accounts.end_sessions(anna.id));
  EXPECT_TRUE(accounts.sessions_of(anna.id)->empty());
  EXPECT_EQ(accounts.session("a1").error().code, ErrorCode::not_found);
  EXPECT_EQ(accounts.session("a2").error().code, ErrorCode::not_found);
  auto b = accounts.sessions_of(bob.id).value();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].id_hash, "b1");
  EXPECT_EQ(accounts.by_id(anna.id)->password_hash, make_account("x").password_hash)
      << "the account itself stays as it was";
  EXPECT_TRUE(accounts.end_sessions(anna.id)) << "ending none is fine";
}

TEST_P(AccountRepositoryContract, SessionsReadBackEveryFieldAndBelongToAnAccount) {
  Account anna = add("anna@example.org");
  ASSERT_TRUE(accounts.insert_session(Session{"h", anna.id, kStart, kStart + 1, "Firefox 128"}));
  auto s = accounts.session("h");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id_hash, "h");
  EXPECT_EQ(s->account_id, anna.id);
  EXPECT_EQ(s->created_at, kStart);
  EXPECT_EQ(s->last_seen_at, kStart + 1);
  EXPECT_EQ(s->user_agent, "Firefox 128");
  EXPECT_EQ(accounts.session("H").error().code, ErrorCode::not_found);
  EXPECT_TRUE(accounts.sessions_of(9999)->empty());
  auto again = accounts.insert_session(Session{"h", anna.id, kStart, kStart, "again"});
  ASSERT_FALSE(again) << "a session id is used once";
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
  EXPECT_EQ(accounts.session("h")->user_agent, "Firefox 128");
  auto orphan = accounts.insert_session(Session{"o", 9999, kStart, kStart, "ua"});
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code, ErrorCode::invalid) << "no session without an account";
}

// --- mailed tokens ----------------------------------------------------------

TEST_P(AccountRepositoryContract, TokensReadBackEveryField) {
  Account anna = add("anna@example.org");
  AccountToken t = make_token(std::string(64, 'r'), anna.id, TokenPurpose::confirm, kStart + 500);
  t.password_hash = "$argon2id$new";
  t.display_name = "Anna B.";
  t.edition = "de";
  ASSERT_TRUE(accounts.insert_token(t));
  AccountToken change = make_token(std::string(64, 'n'), anna.id, TokenPurpose::email_change);
  change.new_email = "new@example.org";
  ASSERT_TRUE(accounts.insert_token(change));

  auto read = accounts.peek_token(t.hash, TokenPurpose::confirm);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->hash, t.hash);
  EXPECT_EQ(read->account_id, anna.id);
  EXPECT_EQ(read->purpose, TokenPurpose::confirm);
  EXPECT_EQ(read->password_hash, "$argon2id$new");
  EXPECT_EQ(read->display_name, "Anna B.");
  EXPECT_EQ(read->edition, "de");
  EXPECT_EQ(read->new_email, "");
  EXPECT_EQ(read->created_at, kStart);
  EXPECT_EQ(read->expires_at, kStart + 500);
  EXPECT_FALSE(read->used_at);
  auto c = accounts.peek_token(change.hash, TokenPurpose::email_change);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->new_email, "new@example.org");
  EXPECT_EQ(c->purpose, TokenPurpose::email_change);

  auto orphan = accounts.insert_token(make_token(std::string(64, 'o'), 9999, TokenPurpose::reset));
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code, ErrorCode::invalid) << "no token without an account";
}

TEST_P(AccountRepositoryContract, NewestUnusedTokenIsTheLatestLinkStillOpen) {
  Account anna = add("anna@example.org");
  Account bob = add("bob@example.org");
  EXPECT_EQ(accounts.newest_unused_token(anna.id, TokenPurpose::confirm).error().code,
            ErrorCode::not_found);
  auto old = make_token(std::string(64, '1'), anna.id, TokenPurpose::confirm, kStart + 10);
  auto newer = make_token(std::string(64, '2'), anna.id, TokenPurpose::confirm, kStart + 10);
  newer.created_at = kStart + 5;
  auto twin = make_token(std::string(64, '3'), anna.id, TokenPurpose::confirm, kStart + 10);
  twin.created_at = kStart + 5;  // same millisecond: the later insert is newer
  ASSERT_TRUE(accounts.insert_token(old));
  ASSERT_TRUE(accounts.insert_token(newer));
  ASSERT_TRUE(accounts.insert_token(twin));
  ASSERT_TRUE(accounts.insert_token(
      make_token(std::string(64, '4'), anna.id, TokenPurpose::reset, kStart + 10)));
  ASSERT_TRUE(accounts.insert_token(
      make_token(std::string(64, '5'), bob.id, TokenPurpose::confirm, kStart + 10)));

  auto newest = accounts.newest_unused_token(anna.id, TokenPurpose::confirm);
  ASSERT_TRUE(newest);
  EXPECT_EQ(newest->hash, twin.hash);
  EXPECT_EQ(newest->purpose, TokenPurpose::confirm);
  ASSERT_TRUE(accounts.consume_token(twin.hash, TokenPurpose::confirm, kStart + 6));
  EXPECT_EQ(accounts.newest_unused_token(anna.id, TokenPurpose::confirm)->hash, newer.hash)
      << "used tokens do not count";
  EXPECT_EQ(accounts.newest_unused_token(bob.id, TokenPurpose::confirm)->hash, std::string(64, '5'))
      << "each account its own";
}

TEST_P(AccountRepositoryContract, NewestUnusedTokenIncludesExpiredOnes) {
  Account anna = add("anna@example.org");
  ASSERT_TRUE(accounts.insert_token(
      make_token(std::string(64, 'x'), anna.id, TokenPurpose::confirm, kStart + 1)));
  auto t = accounts.newest_unused_token(anna.id, TokenPurpose::confirm);
  ASSERT_TRUE(t) << "expired or not";
  EXPECT_EQ(t->hash, std::string(64, 'x'));
  EXPECT_EQ(accounts.newest_unused_token(anna.id, TokenPurpose::reset).error().code,
            ErrorCode::not_found)
      << "of that purpose only";
}

TEST_P(AccountRepositoryContract, RetireTokensClosesTheOpenLinksOfOnePurpose) {
  Account anna = add("anna@example.org");
  Account bob = add("bob@example.org");
  ASSERT_TRUE(
      accounts.insert_token(make_token(std::string(64, 'a'), anna.id, TokenPurpose::confirm)));
  ASSERT_TRUE(
      accounts.insert_token(make_token(std::string(64, 'b'), anna.id, TokenPurpose::confirm)));
  ASSERT_TRUE(
      accounts.insert_token(make_token(std::string(64, 'c'), anna.id, TokenPurpose::reset)));
  ASSERT_TRUE(
      accounts.insert_token(make_token(std::string(64, 'd'), bob.id, TokenPurpose::confirm)));
  ASSERT_TRUE(accounts.consume_token(std::string(64, 'a'), TokenPurpose::confirm, kStart + 1));

  ASSERT_TRUE(accounts.retire_tokens(anna.id, TokenPurpose::confirm, kStart + 9));
  EXPECT_EQ(accounts.newest_unused_token(anna.id, TokenPurpose::confirm).error().code,
            ErrorCode::not_found);
  EXPECT_EQ(accounts.peek_token(std::string(64, 'a'), TokenPurpose::confirm)->used_at, kStart + 1)
      << "a used token keeps its time";
  EXPECT_EQ(accounts.peek_token(std::string(64, 'b'), TokenPurpose::confirm)->used_at, kStart + 9);
  auto retired = accounts.consume_token(std::string(64, 'b'), TokenPurpose::confirm, kStart + 10);
  ASSERT_FALSE(retired);
  EXPECT_EQ(retired.error().code, ErrorCode::invalid);
  EXPECT_FALSE(accounts.peek_token(std::string(64, 'c'), TokenPurpose::reset)->used_at)
      << "other purposes stay open";
  EXPECT_FALSE(accounts.peek_token(std::string(64, 'd'), TokenPurpose::confirm)->used_at)
      << "other accounts' tokens stay open";
  EXPECT_TRUE(accounts.retire_tokens(anna.id, TokenPurpose::confirm, kStart + 11))
      << "retiring none is fine";
}

TEST_P(AccountRepositoryContract, ANewPasswordRetiresTheResetLinksMailedBefore) {
  Account anna = add("anna@example.org");
  ASSERT_TRUE(
      accounts.insert_token(make_token(std::string(64, 'r'), anna.id, TokenPurpose::reset)));
  ASSERT_TRUE(
      accounts.insert_token(make_token(std::string(64, 'c'), anna.id, TokenPurpose::confirm)));
  ASSERT_TRUE(accounts.set_password(anna.id, "new-hash"));
  EXPECT_EQ(accounts.newest_unused_token(anna.id, TokenPurpose::reset).error().code,
            ErrorCode::not_found);
  EXPECT_EQ(accounts.consume_token(std::string(64, 'r'), TokenPurpose::reset, kStart).error().code,
            ErrorCode::invalid);
  EXPECT_TRUE(accounts.newest_unused_token(anna.id, TokenPurpose::confirm))
      << "a confirmation link is not about the password";
}

INSTANTIATE_TEST_SUITE_P(Stores, AccountRepositoryContract, ::testing::ValuesIn(store_kinds()),
                         store_kind_name);

}  // namespace
