// Account mails as written into the outbox: the account's edition, the site's
// public URL in front of the link, validity and "ignore" lines where they
// belong, and an HTML part that escapes what users typed.
#include "web/account_mail_writer.hpp"

#include <gtest/gtest.h>

#include "store_fixture.hpp"

using namespace depesche;
using domain::AccountMail;
using domain::AccountMailKind;
using domain::MailState;

namespace {

const std::string kRoot = DEPESCHE_SOURCE_DIR;

class NoMailer final : public mail::Mailer {
 public:
  Result<void> deliver(const mail::Mail&) override {
    ADD_FAILURE() << "the writer only queues";
    return {};
  }
  const char* kind() const override { return "none"; }
};

class AccountMailWriterTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = open_test_store(dir);
  std::unique_ptr<web::I18n> i18n =
      web::I18n::load(kRoot + "/locales", {"de", "en", "ru"}, "Europe/Berlin").value();
  std::unique_ptr<web::Templates> templates = web::Templates::load(kRoot + "/templates").value();
  NoMailer mailer;
  domain::MailOutbox outbox{*store, mailer, domain::OutboxSettings{}, [] { return Millis{1000}; }};
  web::SiteInfo site{"Depesche", "https://news.example", "1"};
  domain::AccountSettings settings;
  web::AccountMailWriter writer{*i18n, *templates, outbox, site, settings};

  domain::QueuedMail write(AccountMail m) {
    auto r = writer.send(m);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    auto queued = store->mail_queue().in_state(MailState::pending, 1).value();
    EXPECT_EQ(queued.size(), 1u);
    return queued.empty() ? domain::QueuedMail{} : queued[0];
  }
  static AccountMail mail(AccountMailKind kind, std::string edition = "en",
                          std::string link = "/account/confirm?token=abc") {
    return AccountMail{kind,        "anna@example.org", std::move(edition),
                       "Anna Berg", std::move(link),    ""};
  }
};

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

TEST_F(AccountMailWriterTest, ConfirmMailCarriesTheFullLinkItsValidityAndTheIgnoreLine) {
  auto q = write(mail(AccountMailKind::confirm));
  EXPECT_EQ(q.kind, "confirm");
  EXPECT_EQ(q.mail.to, "anna@example.org");
  EXPECT_EQ(q.mail.from, domain::OutboxSettings{}.from);
  EXPECT_EQ(q.mail.subject, "Please confirm your e-mail address");
  EXPECT_TRUE(contains(q.mail.text, "Hello Anna Berg,")) << q.mail.text;
  EXPECT_TRUE(contains(q.mail.text, "https://news.example/account/confirm?token=abc&ed=en\n"))
      << q.mail.text;
  EXPECT_TRUE(contains(q.mail.text, "48 hours")) << q.mail.text;
  EXPECT_TRUE(contains(q.mail.text, "ignore this mail")) << q.mail.text;
  EXPECT_TRUE(contains(q.mail.text, "\n-- \nYour Depesche team")) << q.mail.text;
  EXPECT_TRUE(contains(q.mail.html, "<html lang=\"en\">"));
  EXPECT_TRUE(
      contains(q.mail.html, "href=\"https://news.example/account/confirm?token=abc&amp;ed=en\""))
      << q.mail.html;
}

TEST_F(AccountMailWriterTest, MailsAreWrittenInTheAccountsEdition) {
  auto q = write(mail(AccountMailKind::reset, "de", "/account/reset?token=xyz"));
  EXPECT_EQ(q.kind, "reset");
  EXPECT_EQ(q.mail.subject, "Neues Passwort festlegen");
  EXPECT_TRUE(contains(q.mail.text, "Hallo Anna Berg,"));
  EXPECT_TRUE(contains(q.mail.text, "/account/reset?token=xyz&ed=de"));
  EXPECT_TRUE(contains(q.mail.text, "2 Stunden")) << q.mail.text;
  EXPECT_TRUE(contains(q.mail.html, "<html lang=\"de\">"));
}

TEST_F(AccountMailWriterTest, LinksWithoutAQueryGetTheEditionAsTheirFirstParameter) {
  auto q = write(mail(AccountMailKind::already_registered, "en", "/account/login"));
  EXPECT_TRUE(contains(q.mail.text, "https://news.example/account/login?ed=en\n")) << q.mail.text;
  EXPECT_FALSE(contains(q.mail.text, "valid for")) << "no link that expires";
  EXPECT_TRUE(contains(q.mail.text, "ignore this mail")) << "someone else may have caused it";
}

TEST_F(AccountMailWriterTest, NoticesCarryNeitherValidityNorIgnoreLine) {
  auto q = write(mail(AccountMailKind::password_changed, "en", "/account/reset-request"));
  EXPECT_EQ(q.mail.subject, "Your password was changed");
  EXPECT_FALSE(contains(q.mail.text, "valid for"));
  EXPECT_FALSE(contains(q.mail.text, "ignore this mail"));
}

TEST_F(AccountMailWriterTest, TheOldAddressIsToldTheNewOne) {
  auto m = mail(AccountMailKind::email_change_notice, "en", "/account/settings");
  m.new_email = "anna.new@example.org";
  auto q = write(m);
  EXPECT_TRUE(contains(q.mail.text, "anna.new@example.org")) << q.mail.text;
  EXPECT_TRUE(contains(q.mail.html, "anna.new@example.org"));
}

TEST_F(AccountMailWriterTest, WhatUsersTypedIsEscapedInTheHtmlPart) {
  auto m = mail(AccountMailKind::confirm);
  m.display_name = "<img src=x onerror=alert(1)> & \"Co\"";
  auto q = write(m);
  EXPECT_FALSE(contains(q.mail.html, "<img")) << q.mail.html;
  EXPECT_TRUE(contains(q.mail.html, "&lt;img")) << q.mail.html;
  EXPECT_TRUE(contains(q.mail.text, "<img src=x onerror=alert(1)>")) << "plain text stays plain";
}

TEST_F(AccountMailWriterTest, TheSiteUrlIsReadWhenTheMailIsWritten) {
  site.public_url = "http://127.0.0.1:40123";
  auto q = write(mail(AccountMailKind::confirm));
  EXPECT_TRUE(contains(q.mail.text, "http://127.0.0.1:40123/account/confirm?token=abc&ed=en"));
}

TEST_F(AccountMailWriterTest, EveryKindRendersInEveryEditionWithoutPlaceholders) {
  for (std::string edition : {"de", "en", "ru"}) {
    for (auto kind : {AccountMailKind::confirm, AccountMailKind::already_registered,
                      AccountMailKind::reset, AccountMailKind::password_changed,
                      AccountMailKind::email_change, AccountMailKind::email_change_notice}) {
      auto m = mail(kind, edition);
      m.new_email = "anna.new@example.org";
      ASSERT_TRUE(writer.send(m));
      auto q = store->mail_queue().in_state(MailState::pending, 1).value().at(0);
      std::string where = edition + "/" + domain::to_string(kind);
      EXPECT_FALSE(q.mail.subject.empty()) << where;
      EXPECT_FALSE(contains(q.mail.subject, "mail_")) << where << ": missing key";
      EXPECT_FALSE(contains(q.mail.text, "mail_")) << where << ": missing key\n" << q.mail.text;
      EXPECT_FALSE(contains(q.mail.text, "{")) << where << ": unformatted\n" << q.mail.text;
      EXPECT_FALSE(contains(q.mail.html, "{{")) << where;
      EXPECT_TRUE(contains(q.mail.subject + q.mail.text, "Depesche") ||
                  contains(q.mail.text, "Anna Berg"))
          << where;
    }
  }
}

}  // namespace
