// The account life cycle against a real SQLite store, with a fake clock, a
// recording AccountMails (that can be told to fail). Password hashing is
// real argon2id at the minimum cost; tests that need an account without
// going through registration insert one with a hash computed once.
#include "domain/account_service.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "domain/secrets.hpp"
#include "store_fixture.hpp"

using namespace depesche;
using domain::Account;
using domain::AccountMail;
using domain::AccountMailKind;
using domain::AccountService;
using domain::RegisterInput;
using domain::Role;
using domain::TokenPurpose;

namespace {

constexpr Millis kStart = 1'800'000'000'000;
constexpr Millis kMinute = 60'000;
constexpr Millis kHour = 60 * kMinute;
constexpr Millis kDay = 24 * kHour;
const std::string kPassword = "Tidewater-Lantern-42";
const std::string kNewPassword = "Harbour-Light-Seven-7";

const domain::Passwords& test_passwords() {
  static const domain::Passwords p(
      domain::PasswordSettings{.argon2_memory_kib = 19456, .argon2_passes = 2},
      {"password12345", "letmeinletmein"});
  return p;
}

// A hash of kPassword, computed once for accounts a test puts into the store.
const std::string& password_hash() {
  static const std::string h = test_passwords().hash(kPassword).value();
  return h;
}

struct RecordingMails final : domain::AccountMails {
  std::vector<AccountMail> sent;
  bool broken = false;  // as an outbox whose store refuses the write
  Result<void> send(const AccountMail& m) override {
    if (broken) return fail(ErrorCode::unavailable, "the database is busy; try again");
    sent.push_back(m);
    return {};
  }
};

// The error code, or nothing when the call succeeded (where success is the bug).
template <class T>
std::optional<ErrorCode> code_of(const Result<T>& r) {
  return r ? std::nullopt : std::optional<ErrorCode>(r.error().code);
}

std::string token_of(const AccountMail& m) {
  auto at = m.link_path.find("token=");
  return at == std::string::npos ? std::string() : m.link_path.substr(at + 6);
}

std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class AccountServiceTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = open_test_store(dir);
  domain::Editions editions{{"de", "en", "ru"}, "en"};
  RecordingMails mails;
  Millis now = kStart;
  domain::AccountSettings settings;
  AccountService service{*store, editions, test_passwords(),
                         mails,  settings, [this] { return now; }};

  RegisterInput input(std::string email = "anna@example.org") {
    return RegisterInput{std::move(email), kPassword, "Anna Berg", "en"};
  }
  Account add_account(std::string email, bool confirmed = true, Role role = Role::reader,
                      std::string name = "Anna Berg") {
    Account a;
    a.email = std::move(email);
    a.display_name = std::move(name);
    a.password_hash = password_hash();
    a.role = role;
    a.edition = "en";
    a.created_at = now;
    if (confirmed) a.confirmed_at = now;
    auto stored = store->accounts().insert(a);
    EXPECT_TRUE(stored) << stored.error().message;
    return *stored;
  }
  // A session put straight into the store, as a login at `now` would open it.
  std::string add_session(std::int64_t account_id) {
    std::string secret = domain::random_secret();
    domain::Session s{domain::sha256_hex(secret), account_id, now, now, "test"};
    EXPECT_TRUE(store->accounts().insert_session(s));
    return secret;
  }
  std::size_t account_count() { return store->accounts().list(0, 1000).value().size(); }
  std::vector<AccountMail> mails_of(AccountMailKind kind) {
    std::vector<AccountMail> out;
    for (const auto& m : mails.sent)
      if (m.kind == kind) out.push_back(m);
    return out;
  }
  std::string last_token(AccountMailKind kind) {
    auto of_kind = mails_of(kind);
    EXPECT_FALSE(of_kind.empty()) << domain::to_string(kind);
    return of_kind.empty() ? std::string() : token_of(of_kind.back());
  }
  bool authenticates(const std::string& secret) { return service.authenticate(secret).has_value(); }
};

// --- registration -----------------------------------------------------------

TEST_F(AccountServiceTest, RegistrationStoresAnUnconfirmedReaderAndMailsAConfirmLink) {
  auto in = input(" Anna@Example.ORG ");
  in.display_name = "  Anna Berg ";
  in.edition = "de";
  ASSERT_TRUE(service.register_account(in, "192.0.2.1"));
  auto a = store->accounts().by_email("anna@example.org");
  ASSERT_TRUE(a) << "the address is stored normalised";
  EXPECT_FALSE(a->confirmed());
  EXPECT_FALSE(AccountService::may_post(*a));
  EXPECT_EQ(a->role, Role::reader);
  EXPECT_EQ(a->edition, "de");
  EXPECT_EQ(a->display_name, "Anna Berg");
  EXPECT_EQ(a->created_at, kStart);
  EXPECT_TRUE(a->password_hash.starts_with("$argon2id$"));
  EXPECT_EQ(a->password_hash.find(kPassword), std::string::npos);

  ASSERT_EQ(mails.sent.size(), 1u);
  const AccountMail& m = mails.sent[0];
  EXPECT_EQ(m.kind, AccountMailKind::confirm);
  EXPECT_EQ(m.to, "anna@example.org");
  EXPECT_EQ(m.edition, "de");
  EXPECT_EQ(m.display_name, "Anna Berg");
  EXPECT_TRUE(m.link_path.starts_with("/account/confirm?token=")) << m.link_path;
  EXPECT_GE(token_of(m).size(), 43u) << "256 random bits";
}

TEST_F(AccountServiceTest, RegistrationIsStoredBeforeItIsAnswered) {
  ASSERT_TRUE(service.register_account(input(), "192.0.2.1"));
  EXPECT_EQ(account_count(), 1u) << "nothing left for later that a crash could lose";
  EXPECT_EQ(mails.sent.size(), 1u);
}

TEST_F(AccountServiceTest, ARegistrationWhoseMailCannotBeQueuedLeavesNothingBehind) {
  mails.broken = true;
  auto r = service.register_account(input(), "192.0.2.1");
  ASSERT_FALSE(r) << "never 'a mail is on its way' when it is not";
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
  EXPECT_EQ(account_count(), 0u) << "the account rolled back with its mail";
  mails.broken = false;
  ASSERT_TRUE(service.register_account(input(), "192.0.2.1")) << "and the address is still free";
  EXPECT_EQ(account_count(), 1u);
  auto confirmed = service.confirm(last_token(AccountMailKind::confirm));
  ASSERT_TRUE(confirmed) << "the one link there is works";
}

TEST_F(AccountServiceTest, AResetWhoseMailCannotBeQueuedIsRefusedAndIssuesNoLink) {
  add_account("anna@example.org");
  mails.broken = true;
  ASSERT_FALSE(service.request_reset("anna@example.org", "192.0.2.1"));
  mails.broken = false;
  ASSERT_TRUE(service.request_reset("anna@example.org", "192.0.2.2"));
  ASSERT_EQ(mails_of(AccountMailKind::reset).size(), 1u);
  EXPECT_TRUE(service.reset_password(last_token(AccountMailKind::reset), kNewPassword));
}

TEST_F(AccountServiceTest, RegisteringAConfirmedAddressMailsANoticeAndCreatesNothing) {
  Account anna = add_account("anna@example.org");
  auto in = input("ANNA@example.org");
  in.password = kNewPassword;
  in.display_name = "Someone Else";
  ASSERT_TRUE(service.register_account(in, "192.0.2.1")) << "the same answer as for a new address";
  EXPECT_EQ(account_count(), 1u);
  auto still = store->accounts().by_id(anna.id).value();
  EXPECT_EQ(still.password_hash, anna.password_hash);
  EXPECT_EQ(still.display_name, "Anna Berg");
  ASSERT_EQ(mails.sent.size(), 1u);
  EXPECT_EQ(mails.sent[0].kind, AccountMailKind::already_registered);
  EXPECT_EQ(mails.sent[0].to, "anna@example.org");
  EXPECT_EQ(mails.sent[0].link_path, "/account/login");
  EXPECT_EQ(mails.sent[0].display_name, "Anna Berg") << "addressed to the owner, not the asker";
}

TEST_F(AccountServiceTest, RegisteringAnUnconfirmedAddressAgainMailsAFreshConfirmLink) {
  ASSERT_TRUE(service.register_account(input(), "192.0.2.1"));
  ASSERT_TRUE(service.register_account(input(), "192.0.2.2"));
  EXPECT_EQ(account_count(), 1u);
  auto confirms = mails_of(AccountMailKind::confirm);
  ASSERT_EQ(confirms.size(), 2u);
  EXPECT_NE(token_of(confirms[0]), token_of(confirms[1]));
  auto confirmed = service.confirm(token_of(confirms[1]));
  ASSERT_TRUE(confirmed) << confirmed.error().message;
  EXPECT_TRUE(store->accounts().by_email("anna@example.org")->confirmed());
}

TEST_F(AccountServiceTest, RejectsInvalidRegistrationsWithTheFieldAndStoresAndMailsNothing) {
  int n = 0;
  // More cases than the per-client registration budget: rejected input must
  // not use it up, or the later cases would come back rate_limited.
  auto expect_invalid = [&](RegisterInput in, const char* field) {
    auto r = service.register_account(in, "192.0.2.1");
    ++n;
    ASSERT_FALSE(r) << "case " << n << " (" << field << ")";
    EXPECT_EQ(r.error().code, ErrorCode::invalid) << "case " << n << ": " << r.error().message;
    EXPECT_EQ(r.error().field, field) << "case " << n << ": " << r.error().message;
  };
  for (std::string email : {"", "   ", "not-an-address", "anna@localhost", "anna@@example.org",
                            "an na@example.org", "anna@example..org"}) {
    auto in = input();
    in.email = email;
    expect_invalid(in, "email");
  }
  for (std::string name :
       {std::string(), std::string(" \t "), std::string(61, 'x'),
        std::string("Anna\x01"
                    "Berg"),
        std::string("Anna\nBerg"), std::string("Anna\x7f"), std::string("bad \xff utf8")}) {
    auto in = input();
    in.display_name = name;
    expect_invalid(in, "display_name");
  }
  for (std::string edition : {"fr", ""}) {
    auto in = input();
    in.edition = edition;
    expect_invalid(in, "edition");
  }
  for (std::string password : {
           std::string("short-pw1"),           // 9 characters
           std::string(129, 'k'),              // too long
           std::string("Password12345"),       // on the list, in another case
           std::string("zzzzzzzzzzzzzz"),      // one character
           std::string("my-anna-password-1"),  // the address's local part
           std::string("XX-ANNA-XX-2024"),     // ... in any case
           std::string("abcdefghijkl\xff"),    // not UTF-8
       }) {
    auto in = input();
    in.password = password;
    expect_invalid(in, "password");
  }
  auto named = input("reader@example.org");
  named.password = "I am Anna Berg!";  // the display name
  expect_invalid(named, "password");
  EXPECT_EQ(account_count(), 0u);
  EXPECT_TRUE(mails.sent.empty());
  EXPECT_TRUE(service.register_account(input(), "192.0.2.1")) << "the budget is untouched";
}

TEST_F(AccountServiceTest, DisplayNamesAreLimitedInCharactersNotBytes) {
  auto in = input();
  std::string sixty;
  for (int i = 0; i < 60; ++i) sixty += "Ж";
  in.display_name = sixty;
  EXPECT_TRUE(service.register_account(in, "192.0.2.1"));
  in.display_name = sixty + "Ж";
  auto r = service.register_account(in, "192.0.2.1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "display_name");
}

// --- confirmation and mailed tokens -----------------------------------------

TEST_F(AccountServiceTest, ConfirmLinkWorksOnceAndIsThenUsed) {
  ASSERT_TRUE(service.register_account(input(), "192.0.2.1"));
  std::string token = last_token(AccountMailKind::confirm);
  now += kHour;
  auto a = service.confirm(token);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->confirmed_at, kStart + kHour);
  auto stored = store->accounts().by_email("anna@example.org").value();
  EXPECT_EQ(stored.confirmed_at, kStart + kHour);
  EXPECT_TRUE(AccountService::may_post(stored));
  auto again = service.confirm(token);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::invalid);
  EXPECT_EQ(again.error().field, "token");
  EXPECT_NE(again.error().message.find("used"), std::string::npos) << again.error().message;
}

TEST_F(AccountServiceTest, ExpiredConfirmLinksAreRejected) {
  ASSERT_TRUE(service.register_account(input(), "192.0.2.1"));
  std::string first = last_token(AccountMailKind::confirm);

  now = kStart + settings.confirm_ttl_ms;  // the link's last moment has passed
  auto expired = service.confirm(first);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, ErrorCode::invalid);
  EXPECT_NE(expired.error().message.find("expired"), std::string::npos);
  EXPECT_FALSE(store->accounts().by_email("anna@example.org")->confirmed());

  ASSERT_TRUE(service.resend_confirmation("anna@example.org", "192.0.2.1"));
  std::string second = last_token(AccountMailKind::confirm);
  ASSERT_NE(first, second);
  EXPECT_TRUE(service.confirm(second)) << "a resent link is valid for a full period again";
}

TEST_F(AccountServiceTest, AResentLinkReplacesThePendingOneAndCarriesItsRegistration) {
  ASSERT_TRUE(service.register_account(input(), "192.0.2.1"));
  auto squatter_hash = store->accounts().by_email("anna@example.org")->password_hash;
  RegisterInput owner = input();
  owner.password = "another-long-password-42";
  owner.display_name = "Anna Owner";
  ASSERT_TRUE(service.register_account(owner, "192.0.2.2"));
  std::string owners_link = last_token(AccountMailKind::confirm);
  ASSERT_TRUE(service.resend_confirmation("anna@example.org", "192.0.2.3"));
  std::string resent = last_token(AccountMailKind::confirm);
  ASSERT_NE(owners_link, resent);

  EXPECT_FALSE(service.confirm(owners_link)) << "replaced by the resent link";
  auto confirmed = service.confirm(resent);
  ASSERT_TRUE(confirmed);
  EXPECT_NE(confirmed->password_hash, squatter_hash);
  EXPECT_EQ(confirmed->display_name, "Anna Owner");
  EXPECT_TRUE(service.login("anna@example.org", "another-long-password-42", "192.0.2.2", "ua"));
}

TEST_F(AccountServiceTest, UnknownMalformedAndForeignPurposeLinksAreInvalid) {
  Account anna = add_account("anna@example.org");
  ASSERT_TRUE(service.request_reset("anna@example.org", "192.0.2.1"));
  std::string reset_token = last_token(AccountMailKind::reset);
  for (std::string token :
       {std::string(), std::string("nope"), std::string(101, 'a'), reset_token}) {
    auto r = service.confirm(token);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::invalid);
    EXPECT_EQ(r.error().field, "token");
  }
  auto peek = store->accounts().peek_token(domain::sha256_hex(reset_token), TokenPurpose::reset);
  ASSERT_TRUE(peek);
  EXPECT_FALSE(peek->used_at) << "trying it as a confirm link did not use the reset link";
  EXPECT_EQ(peek->account_id, anna.id);
}

TEST_F(AccountServiceTest, MailedTokensAndSessionIdsAreStoredOnlyAsSha256) {
  ASSERT_TRUE(service.register_account(input(), "192.0.2.1"));
  std::string token = last_token(AccountMailKind::confirm);
  auto login = service.login("anna@example.org", kPassword, "192.0.2.1", "test");
  ASSERT_TRUE(login) << login.error().message;
  std::string session = login->session_secret;

  EXPECT_TRUE(store->accounts().peek_token(domain::sha256_hex(token), TokenPurpose::confirm));
  EXPECT_FALSE(store->accounts().peek_token(token, TokenPurpose::confirm));
  EXPECT_TRUE(store->accounts().session(domain::sha256_hex(session)));
  EXPECT_FALSE(store->accounts().session(session));

  // Every byte SQLite wrote (database, WAL, shared memory).
  std::string all;
  for (const auto& f : std::filesystem::directory_iterator(dir.path)) all += file_bytes(f.path());
  EXPECT_EQ(all.find(token), std::string::npos) << "the link's secret is not in the database";
  EXPECT_EQ(all.find(session), std::string::npos) << "the cookie's secret is not in the database";
  EXPECT_EQ(all.find(kPassword), std::string::npos);
  EXPECT_NE(all.find(domain::sha256_hex(token)), std::string::npos);
  EXPECT_NE(all.find(domain::sha256_hex(session)), std::string::npos);
}

TEST_F(AccountServiceTest, ResendMailsAFreshLinkOnlyForUnconfirmedAccounts) {
  add_account("confirmed@example.org", true);
  add_account("pending@example.org", false);
  ASSERT_TRUE(service.resend_confirmation("confirmed@example.org", "192.0.2.1"));
  ASSERT_TRUE(service.resend_confirmation("nobody@example.org", "192.0.2.1"));
  EXPECT_TRUE(mails.sent.empty());
  ASSERT_TRUE(service.resend_confirmation(" Pending@Example.org", "192.0.2.1"));
  ASSERT_EQ(mails.sent.size(), 1u);
  EXPECT_EQ(mails.sent[0].kind, AccountMailKind::confirm);
  EXPECT_EQ(mails.sent[0].to, "pending@example.org");
  EXPECT_TRUE(service.confirm(token_of(mails.sent[0])));
  EXPECT_EQ(service.resend_confirmation("not-an-address", "192.0.2.1").error().field, "email");
}

// --- login and rate limits --------------------------------------------------

TEST_F(AccountServiceTest, LoginFailsTheSameForUnknownAddressAndWrongPassword) {
  Account anna = add_account("anna@example.org");
  auto wrong = service.login("anna@example.org", "Wrong-password-123", "192.0.2.1", "ua");
  auto unknown = service.login("nobody@example.org", kPassword, "192.0.2.1", "ua");
  ASSERT_FALSE(wrong);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(wrong.error().code, ErrorCode::unauthorized);
  EXPECT_EQ(unknown.error().code, ErrorCode::unauthorized);
  EXPECT_EQ(wrong.error().message, unknown.error().message);
  EXPECT_EQ(wrong.error().field, unknown.error().field);
  auto empty = service.login("anna@example.org", "", "192.0.2.1", "ua");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, wrong.error().message);

  auto ok = service.login(" ANNA@example.org ", kPassword, "192.0.2.1", "ua");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->account.id, anna.id);
  EXPECT_GE(ok->session_secret.size(), 43u);
}

TEST_F(AccountServiceTest, UnconfirmedAccountsMayLogInButNotPost) {
  add_account("anna@example.org", false);
  auto ok = service.login("anna@example.org", kPassword, "192.0.2.1", "ua");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_FALSE(AccountService::may_post(ok->account));
}

TEST_F(AccountServiceTest, LoginKeepsAShortenedValidUserAgent) {
  add_account("anna@example.org");
  // Byte 200 falls inside the two-byte "Ж".
  std::string ua = std::string(199, 'a') + "Ж" + std::string(50, 'b');
  auto ok = service.login("anna@example.org", kPassword, "192.0.2.1", ua);
  ASSERT_TRUE(ok);
  auto s = store->accounts().session(domain::sha256_hex(ok->session_secret)).value();
  EXPECT_EQ(s.user_agent, std::string(199, 'a'));
  EXPECT_EQ(s.created_at, kStart);
  EXPECT_EQ(s.last_seen_at, kStart);
}

TEST_F(AccountServiceTest, LoginIsRateLimitedPerAddress) {
  add_account("anna@example.org");
  for (int i = 0; i < settings.login_per_minute; ++i) {
    auto r =
        service.login("anna@example.org", "Wrong-password-123", "client" + std::to_string(i), "ua");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::unauthorized) << i;
  }
  auto limited = service.login("anna@example.org", kPassword, "fresh-client", "ua");
  ASSERT_FALSE(limited) << "even the right password waits";
  EXPECT_EQ(limited.error().code, ErrorCode::rate_limited);
  EXPECT_GT(limited.error().retry_after_ms, 0);
  EXPECT_LE(limited.error().retry_after_ms, kMinute);
  now += limited.error().retry_after_ms;
  EXPECT_TRUE(service.login("anna@example.org", kPassword, "fresh-client", "ua"));
}

TEST_F(AccountServiceTest, LoginIsRateLimitedPerClient) {
  for (int i = 0; i < settings.login_per_minute; ++i) {
    auto r =
        service.login("nobody" + std::to_string(i) + "@example.org", kPassword, "192.0.2.1", "ua");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::unauthorized) << i;
  }
  auto limited = service.login("another@example.org", kPassword, "192.0.2.1", "ua");
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code, ErrorCode::rate_limited);
  EXPECT_GT(limited.error().retry_after_ms, 0);
  auto other_client = service.login("another@example.org", kPassword, "192.0.2.2", "ua");
  ASSERT_FALSE(other_client);
  EXPECT_EQ(other_client.error().code, ErrorCode::unauthorized);
}

TEST_F(AccountServiceTest, SuccessfulLoginResetsTheAddressBudget) {
  add_account("anna@example.org");
  int client = 0;
  auto attempt = [&](const std::string& password) {
    return service.login("anna@example.org", password, "client" + std::to_string(client++), "ua");
  };
  for (int i = 0; i < settings.login_per_minute - 1; ++i)
    ASSERT_EQ(attempt("Wrong-password-123").error().code, ErrorCode::unauthorized);
  ASSERT_TRUE(attempt(kPassword)) << "the last attempt of the budget";
  for (int i = 0; i < settings.login_per_minute; ++i)
    EXPECT_EQ(attempt("Wrong-password-123").error().code, ErrorCode::unauthorized)
        << "a full budget again, attempt " << i;
  EXPECT_EQ(attempt("Wrong-password-123").error().code, ErrorCode::rate_limited);
}

TEST_F(AccountServiceTest, RegistrationIsRateLimitedPerClient) {
  for (int i = 0; i < settings.register_per_hour; ++i)
    ASSERT_TRUE(
        service.register_account(input("user" + std::to_string(i) + "@example.org"), "192.0.2.1"))
        << i;
  auto limited = service.register_account(input("late@example.org"), "192.0.2.1");
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code, ErrorCode::rate_limited);
  EXPECT_GT(limited.error().retry_after_ms, 0);
  EXPECT_LE(limited.error().retry_after_ms, kHour);
  EXPECT_TRUE(service.register_account(input("late@example.org"), "192.0.2.2"));
  now += limited.error().retry_after_ms;
  EXPECT_TRUE(service.register_account(input("later@example.org"), "192.0.2.1"));
  EXPECT_EQ(account_count(), static_cast<std::size_t>(settings.register_per_hour) + 2);
}

TEST_F(AccountServiceTest, ResetRequestsAreLimitedAlikeForKnownAndUnknownAddresses) {
  add_account("anna@example.org");
  for (std::string email : {"anna@example.org", "nobody@example.org"}) {
    for (int i = 0; i < settings.reset_per_hour; ++i)
      ASSERT_TRUE(service.request_reset(email, email + std::to_string(i))) << email << i;
    auto limited = service.request_reset(email, "fresh-client");
    ASSERT_FALSE(limited) << email;
    EXPECT_EQ(limited.error().code, ErrorCode::rate_limited) << email;
    EXPECT_GT(limited.error().retry_after_ms, 0);
  }
  // Per client, too: five different addresses from one client.
  for (int i = 0; i < settings.reset_per_hour; ++i)
    ASSERT_TRUE(service.request_reset("x" + std::to_string(i) + "@example.org", "192.0.2.9"));
  EXPECT_EQ(service.request_reset("y@example.org", "192.0.2.9").error().code,
            ErrorCode::rate_limited);
}

TEST_F(AccountServiceTest, ResendIsLimitedPerAddress) {
  add_account("anna@example.org", false);
  for (int i = 0; i < settings.resend_per_hour; ++i)
    ASSERT_TRUE(service.resend_confirmation("anna@example.org", "client" + std::to_string(i)));
  auto limited = service.resend_confirmation("anna@example.org", "fresh-client");
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code, ErrorCode::rate_limited);
  EXPECT_EQ(mails_of(AccountMailKind::confirm).size(),
            static_cast<std::size_t>(settings.resend_per_hour));
}

TEST_F(AccountServiceTest, AccountMailsToOneAddressAreCappedPerHour) {
  add_account("anna@example.org");
  for (int i = 0; i < settings.account_mails_per_hour + 2; ++i)
    ASSERT_TRUE(service.register_account(input(), "client" + std::to_string(i)));
  EXPECT_EQ(mails.sent.size(), static_cast<std::size_t>(settings.account_mails_per_hour))
      << "registering someone's address over and over does not flood their mailbox";
  now += kHour;
  ASSERT_TRUE(service.register_account(input(), "client-late"));
  EXPECT_EQ(mails.sent.size(), static_cast<std::size_t>(settings.account_mails_per_hour) + 1);
}

// --- sessions ---------------------------------------------------------------

TEST_F(AccountServiceTest, AuthenticateFindsTheAccountBehindASession) {
  Account anna = add_account("anna@example.org");
  auto login = service.login("anna@example.org", kPassword, "192.0.2.1", "Firefox");
  ASSERT_TRUE(login);
  auto who = service.authenticate(login->session_secret);
  ASSERT_TRUE(who) << who.error().message;
  EXPECT_EQ(who->account.id, anna.id);
  EXPECT_EQ(who->session.account_id, anna.id);
  EXPECT_EQ(who->session.user_agent, "Firefox");
  for (std::string bad : {std::string(), std::string("nope"), std::string(101, 'a')})
    EXPECT_EQ(service.authenticate(bad).error().code, ErrorCode::unauthorized);
}

TEST_F(AccountServiceTest, SessionsEndAfterTheIdleTimeout) {
  Account anna = add_account("anna@example.org");
  std::string kept = add_session(anna.id);
  std::string idle = add_session(anna.id);
  now = kStart + settings.session_idle_ms;
  EXPECT_TRUE(authenticates(kept)) << "idle for exactly the limit is still fine";
  now += 1;
  auto r = service.authenticate(idle);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::unauthorized);
  EXPECT_EQ(store->accounts().session(domain::sha256_hex(idle)).error().code, ErrorCode::not_found)
      << "an expired session is deleted";
  EXPECT_TRUE(authenticates(kept)) << "its use a moment ago kept it alive";
}

TEST_F(AccountServiceTest, SessionsEndAtTheAbsoluteTimeoutEvenWhenInUse) {
  Account anna = add_account("anna@example.org");
  std::string secret = add_session(anna.id);
  Millis step = settings.session_idle_ms - kDay;
  for (now = kStart + step; now < kStart + settings.session_absolute_ms; now += step)
    ASSERT_TRUE(authenticates(secret)) << (now - kStart) / kDay << " days";
  now = kStart + settings.session_absolute_ms;
  EXPECT_TRUE(authenticates(secret));
  now += 1;
  EXPECT_FALSE(authenticates(secret));
  EXPECT_FALSE(store->accounts().session(domain::sha256_hex(secret)));
}

TEST_F(AccountServiceTest, SessionUseIsWrittenAtMostOncePerMinute) {
  Account anna = add_account("anna@example.org");
  std::string secret = add_session(anna.id);
  auto last_seen = [&] {
    return store->accounts().session(domain::sha256_hex(secret)).value().last_seen_at;
  };
  now = kStart + kMinute;
  ASSERT_TRUE(authenticates(secret));
  EXPECT_EQ(last_seen(), kStart);
  now += 1;
  ASSERT_TRUE(authenticates(secret));
  EXPECT_EQ(last_seen(), kStart + kMinute + 1);
  now += 30'000;
  auto who = service.authenticate(secret);
  ASSERT_TRUE(who);
  EXPECT_EQ(last_seen(), kStart + kMinute + 1);
  EXPECT_EQ(who->session.last_seen_at, kStart + kMinute + 1);
}

TEST_F(AccountServiceTest, LogoutEndsTheSession) {
  Account anna = add_account("anna@example.org");
  std::string secret = add_session(anna.id);
  std::string other = add_session(anna.id);
  ASSERT_TRUE(authenticates(secret));
  ASSERT_TRUE(service.logout(secret));
  EXPECT_FALSE(authenticates(secret));
  EXPECT_TRUE(authenticates(other)) << "only that browser is logged out";
  EXPECT_TRUE(service.logout(secret)) << "logging out twice is fine";
  EXPECT_TRUE(service.logout(""));
}

// --- password reset and change ----------------------------------------------

TEST_F(AccountServiceTest, ResetEndsEverySessionAndARejectedPasswordKeepsTheLink) {
  Account anna = add_account("anna@example.org");
  std::string s1 = add_session(anna.id);
  std::string s2 = add_session(anna.id);
  ASSERT_TRUE(service.request_reset("Anna@example.org", "192.0.2.1"));
  ASSERT_EQ(mails.sent.size(), 1u);
  EXPECT_EQ(mails.sent[0].kind, AccountMailKind::reset);
  EXPECT_EQ(mails.sent[0].to, "anna@example.org");
  EXPECT_TRUE(mails.sent[0].link_path.starts_with("/account/reset?token="));
  std::string token = token_of(mails.sent[0]);

  auto weak = service.reset_password(token, "short");
  ASSERT_FALSE(weak);
  EXPECT_EQ(weak.error().code, ErrorCode::invalid);
  EXPECT_EQ(weak.error().field, "password");
  auto peek = store->accounts().peek_token(domain::sha256_hex(token), TokenPurpose::reset);
  ASSERT_TRUE(peek);
  EXPECT_FALSE(peek->used_at) << "a rejected password does not use up the link";
  EXPECT_TRUE(authenticates(s1));

  auto done = service.reset_password(token, kNewPassword);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->id, anna.id);
  EXPECT_FALSE(authenticates(s1));
  EXPECT_FALSE(authenticates(s2));
  ASSERT_EQ(mails.sent.size(), 2u);
  EXPECT_EQ(mails.sent[1].kind, AccountMailKind::password_changed);
  EXPECT_EQ(mails.sent[1].to, "anna@example.org");
  EXPECT_EQ(service.login("anna@example.org", kPassword, "192.0.2.1", "ua").error().code,
            ErrorCode::unauthorized);
  EXPECT_TRUE(service.login("anna@example.org", kNewPassword, "192.0.2.1", "ua"));
  auto again = service.reset_password(token, "Yet-Another-Password-3");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().field, "token");
}

TEST_F(AccountServiceTest, ResetForAnUnknownAddressMailsNothing) {
  ASSERT_TRUE(service.request_reset("nobody@example.org", "192.0.2.1"));
  EXPECT_TRUE(mails.sent.empty());
  EXPECT_EQ(service.request_reset("nonsense", "192.0.2.1").error().field, "email");
}

TEST_F(AccountServiceTest, ExpiredResetLinkIsRejectedAsALinkNotAsAPassword) {
  add_account("anna@example.org");
  ASSERT_TRUE(service.request_reset("anna@example.org", "192.0.2.1"));
  std::string token = last_token(AccountMailKind::reset);
  now += settings.reset_ttl_ms;
  auto r = service.reset_password(token, "short");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid);
  EXPECT_EQ(r.error().field, "token");
  EXPECT_EQ(service.reset_password("unknown", kNewPassword).error().field, "token");
}

TEST_F(AccountServiceTest, ResetConfirmsAnUnconfirmedAccount) {
  Account anna = add_account("anna@example.org", false);
  ASSERT_TRUE(service.request_reset("anna@example.org", "192.0.2.1"));
  auto done = service.reset_password(last_token(AccountMailKind::reset), kNewPassword);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_TRUE(done->confirmed()) << "following a mailed link proves the address";
}

TEST_F(AccountServiceTest, ChangingThePasswordEndsOtherSessionsAndOpensANewOne) {
  Account anna = add_account("anna@example.org");
  std::string s1 = add_session(anna.id);
  std::string s2 = add_session(anna.id);
  auto wrong = service.change_password(anna.id, "Wrong-password-123", kNewPassword, "ua");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::invalid);
  EXPECT_EQ(wrong.error().field, "current_password");
  auto weak = service.change_password(anna.id, kPassword, "short", "ua");
  ASSERT_FALSE(weak);
  EXPECT_EQ(weak.error().field, "password");
  EXPECT_TRUE(authenticates(s1)) << "failed attempts change nothing";
  EXPECT_TRUE(mails.sent.empty());

  auto changed = service.change_password(anna.id, kPassword, kNewPassword, "Firefox");
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_FALSE(authenticates(s1));
  EXPECT_FALSE(authenticates(s2));
  auto who = service.authenticate(changed->session_secret);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->account.id, anna.id);
  EXPECT_EQ(who->session.user_agent, "Firefox");
  ASSERT_EQ(mails.sent.size(), 1u);
  EXPECT_EQ(mails.sent[0].kind, AccountMailKind::password_changed);
  EXPECT_TRUE(service.login("anna@example.org", kNewPassword, "192.0.2.1", "ua"));
  EXPECT_EQ(service.change_password(9999, kPassword, kNewPassword, "ua").error().code,
            ErrorCode::unauthorized);
}

// --- e-mail address change --------------------------------------------------

TEST_F(AccountServiceTest, EmailChangeMailsBothAddressesAndSwitchesOnConfirmation) {
  Account anna = add_account("anna@example.org");
  ASSERT_TRUE(service.request_email_change(anna.id, kPassword, " Anna.New@Example.org "));
  EXPECT_EQ(store->accounts().by_id(anna.id)->email, "anna@example.org")
      << "nothing changes before the new address is proven";
  ASSERT_EQ(mails.sent.size(), 2u);
  auto to_new = mails_of(AccountMailKind::email_change);
  auto to_old = mails_of(AccountMailKind::email_change_notice);
  ASSERT_EQ(to_new.size(), 1u);
  ASSERT_EQ(to_old.size(), 1u);
  EXPECT_EQ(to_new[0].to, "anna.new@example.org");
  EXPECT_TRUE(to_new[0].link_path.starts_with("/account/confirm-email?token="));
  EXPECT_EQ(to_old[0].to, "anna@example.org");
  EXPECT_EQ(to_old[0].new_email, "anna.new@example.org");
  EXPECT_EQ(token_of(to_old[0]), "") << "the old address gets no link to the new one";

  auto changed = service.confirm_email_change(token_of(to_new[0]));
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_EQ(changed->email, "anna.new@example.org");
  EXPECT_EQ(store->accounts().by_email("anna.new@example.org")->id, anna.id);
  EXPECT_EQ(store->accounts().by_email("anna@example.org").error().code, ErrorCode::not_found);
  EXPECT_EQ(service.confirm_email_change(token_of(to_new[0])).error().code, ErrorCode::invalid);
}

TEST_F(AccountServiceTest, EmailChangeNeedsThePasswordAndANewValidAddress) {
  Account anna = add_account("anna@example.org");
  auto same = service.request_email_change(anna.id, kPassword, "ANNA@example.org");
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().field, "email");
  auto bad = service.request_email_change(anna.id, kPassword, "not-an-address");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "email");
  auto wrong = service.request_email_change(anna.id, "Wrong-password-123", "new@example.org");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::invalid);
  EXPECT_EQ(wrong.error().field, "password");
  EXPECT_TRUE(mails.sent.empty());
}

TEST_F(AccountServiceTest, EmailChangeToATakenAddressTellsOnlyItsOwner) {
  Account anna = add_account("anna@example.org");
  Account bob = add_account("bob@example.org", true, Role::reader, "Bob Lund");
  ASSERT_TRUE(service.request_email_change(anna.id, kPassword, "bob@example.org"))
      << "the answer does not reveal that the address is taken";
  ASSERT_EQ(mails.sent.size(), 1u);
  EXPECT_EQ(mails.sent[0].kind, AccountMailKind::already_registered);
  EXPECT_EQ(mails.sent[0].to, "bob@example.org");
  EXPECT_EQ(mails.sent[0].display_name, "Bob Lund");
  EXPECT_EQ(store->accounts().by_id(anna.id)->email, "anna@example.org");
  EXPECT_EQ(store->accounts().by_id(bob.id)->email, "bob@example.org");
}

TEST_F(AccountServiceTest, EmailChangeIsRefusedWhenTheAddressWasTakenMeanwhile) {
  Account anna = add_account("anna@example.org");
  ASSERT_TRUE(service.request_email_change(anna.id, kPassword, "new@example.org"));
  std::string token = last_token(AccountMailKind::email_change);
  add_account("new@example.org", true, Role::reader, "Nora Quick");
  auto r = service.confirm_email_change(token);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid);
  EXPECT_EQ(r.error().field, "token");
  EXPECT_EQ(store->accounts().by_id(anna.id)->email, "anna@example.org");
}

// --- profile, export, deletion ----------------------------------------------

TEST_F(AccountServiceTest, ProfileUpdatesAreValidated) {
  Account anna = add_account("anna@example.org");
  EXPECT_EQ(service.update_profile(anna.id, "", "en").error().field, "display_name");
  EXPECT_EQ(service.update_profile(anna.id, "Anna", "xx").error().field, "edition");
  auto ok = service.update_profile(anna.id, " Anna B. ", "ru");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->display_name, "Anna B.");
  EXPECT_EQ(ok->edition, "ru");
}

TEST_F(AccountServiceTest, ExportHoldsTheAccountAndItsSessions) {
  Account anna = add_account("anna@example.org");
  add_session(anna.id);
  add_session(anna.id);
  auto e = service.export_data(anna.id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->account.email, "anna@example.org");
  EXPECT_EQ(e->sessions.size(), 2u);
  EXPECT_EQ(service.export_data(9999).error().code, ErrorCode::not_found);
}

TEST_F(AccountServiceTest, DeletingScrubsTheAccountAndFreesTheAddress) {
  Account anna = add_account("anna@example.org");
  std::string session = add_session(anna.id);
  ASSERT_TRUE(service.request_reset("anna@example.org", "192.0.2.1"));
  std::string reset = last_token(AccountMailKind::reset);

  auto wrong = service.delete_account(anna.id, "Wrong-password-123");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().field, "password");
  ASSERT_TRUE(authenticates(session));

  ASSERT_TRUE(service.delete_account(anna.id, kPassword));
  auto gone = store->accounts().by_id(anna.id);
  ASSERT_TRUE(gone) << "the row stays for 'deleted user'";
  EXPECT_TRUE(gone->deleted());
  EXPECT_EQ(gone->email, "");
  EXPECT_EQ(gone->display_name, "");
  EXPECT_EQ(gone->password_hash, "");
  EXPECT_FALSE(AccountService::may_post(*gone));
  EXPECT_FALSE(authenticates(session));
  EXPECT_EQ(service.reset_password(reset, kNewPassword).error().code, ErrorCode::invalid);
  EXPECT_EQ(store->accounts().by_email("anna@example.org").error().code, ErrorCode::not_found);
  EXPECT_EQ(service.delete_account(anna.id, kPassword).error().code, ErrorCode::unauthorized);

  mails.sent.clear();
  ASSERT_TRUE(service.register_account(input(), "192.0.2.1"));
  auto again = store->accounts().by_email("anna@example.org");
  ASSERT_TRUE(again) << "the address is free again";
  EXPECT_NE(again->id, anna.id);
  EXPECT_FALSE(again->confirmed());
  ASSERT_EQ(mails.sent.size(), 1u);
  EXPECT_EQ(mails.sent[0].kind, AccountMailKind::confirm);
}

// --- roles and bootstrap ----------------------------------------------------

TEST_F(AccountServiceTest, OnlyAdminsChangeRolesAndNeverTheirOwn) {
  Account admin = add_account("admin@example.org", true, Role::admin);
  Account editor = add_account("editor@example.org", true, Role::editor);
  Account reader = add_account("reader@example.org", true, Role::reader);
  Account gone = add_account("gone@example.org", true, Role::reader);
  ASSERT_TRUE(store->accounts().mark_deleted(gone.id, now));

  EXPECT_EQ(service.set_role(editor, reader.id, Role::moderator).error().code,
            ErrorCode::forbidden);
  EXPECT_EQ(service.set_role(reader, reader.id, Role::admin).error().code, ErrorCode::forbidden);
  EXPECT_EQ(service.set_role(admin, admin.id, Role::reader).error().code, ErrorCode::forbidden);
  EXPECT_EQ(store->accounts().by_id(admin.id)->role, Role::admin);
  EXPECT_EQ(service.set_role(admin, 9999, Role::editor).error().code, ErrorCode::not_found);
  EXPECT_EQ(service.set_role(admin, gone.id, Role::editor).error().code, ErrorCode::not_found);

  auto promoted = service.set_role(admin, reader.id, Role::moderator);
  ASSERT_TRUE(promoted);
  EXPECT_EQ(promoted->role, Role::moderator);
  EXPECT_EQ(store->accounts().by_id(reader.id)->role, Role::moderator);
}

TEST_F(AccountServiceTest, CreateConfirmedMakesAConfirmedAccountWithTheRole) {
  auto a = service.create_confirmed(" Chief@Example.org ", kPassword, "Chief Editor", Role::admin);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->email, "chief@example.org");
  EXPECT_EQ(a->role, Role::admin);
  EXPECT_EQ(a->edition, "en");
  EXPECT_TRUE(a->confirmed());
  EXPECT_TRUE(AccountService::may_post(*a));
  EXPECT_TRUE(mails.sent.empty());
  auto stored = store->accounts().by_email("chief@example.org");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->id, a->id);
  EXPECT_EQ(stored->role, Role::admin);

  EXPECT_EQ(
      service.create_confirmed("chief@example.org", kPassword, "Again", Role::reader).error().code,
      ErrorCode::conflict);
  EXPECT_EQ(service.create_confirmed("x@example.org", "short", "X", Role::reader).error().field,
            "password");
  EXPECT_EQ(service.create_confirmed("nonsense", kPassword, "X", Role::reader).error().field,
            "email");
  EXPECT_EQ(service.create_confirmed("x@example.org", kPassword, "", Role::reader).error().field,
            "display_name");
}

// --- account pre-hijacking --------------------------------------------------

// Someone registers another person's address with a password of their own
// and logs in (unconfirmed accounts may). When the owner of the address then
// registers, they get a confirmation link; following it proves the address
// for *them*. Neither the first registrant's session nor their password may
// survive that.
TEST_F(AccountServiceTest, ConfirmingTheOwnersRegistrationShutsOutAnEarlierRegistrant) {
  const std::string attacker_password = "Attacker-Chosen-99";
  auto attacker = input();
  attacker.password = attacker_password;
  ASSERT_TRUE(service.register_account(attacker, "198.51.100.7"));
  auto attacker_login = service.login("anna@example.org", attacker_password, "198.51.100.7", "x");
  ASSERT_TRUE(attacker_login);

  ASSERT_TRUE(service.register_account(input(), "192.0.2.1"));  // the owner, with kPassword
  ASSERT_TRUE(service.confirm(last_token(AccountMailKind::confirm)));

  EXPECT_FALSE(authenticates(attacker_login->session_secret));
  EXPECT_EQ(code_of(service.login("anna@example.org", attacker_password, "198.51.100.7", "x")),
            ErrorCode::unauthorized);
  EXPECT_TRUE(service.login("anna@example.org", kPassword, "192.0.2.1", "ua"));
}

}  // namespace
