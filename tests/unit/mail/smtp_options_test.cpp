#include "mail/smtp/smtp_options.hpp"

#include <gtest/gtest.h>

#include "mail/smtp/smtp_mailer.hpp"

using namespace depesche;
using namespace depesche::mail;

TEST(SmtpUrl, ParsesHostPortAndDefaults) {
  auto o = SmtpMailer::parse_url("smtp://mail.example.org");
  ASSERT_TRUE(o.has_value()) << o.error().message;
  EXPECT_EQ(o->host, "mail.example.org");
  EXPECT_EQ(o->port, 25);
  EXPECT_FALSE(o->implicit_tls);
  EXPECT_EQ(o->starttls, StartTls::optional);
  EXPECT_EQ(o->url, "smtp://mail.example.org:25");
  EXPECT_EQ(o->endpoint, "smtp://mail.example.org:25");
  EXPECT_TRUE(o->username.empty());

  o = SmtpMailer::parse_url("SMTPS://mail.example.org");
  ASSERT_TRUE(o.has_value());
  EXPECT_TRUE(o->implicit_tls);
  EXPECT_EQ(o->port, 465);
  EXPECT_EQ(o->url, "smtps://mail.example.org:465");

  o = SmtpMailer::parse_url("smtp://127.0.0.1:2525");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->port, 2525);

  o = SmtpMailer::parse_url("smtp://[::1]:587/client.example.org");
  ASSERT_TRUE(o.has_value()) << o.error().message;
  EXPECT_EQ(o->host, "[::1]");
  EXPECT_EQ(o->url, "smtp://[::1]:587/client.example.org");
  EXPECT_EQ(o->endpoint, "smtp://[::1]:587");
}

TEST(SmtpUrl, DecodesCredentialsAndKeepsThemOutOfTheCurlUrl) {
  auto o = SmtpMailer::parse_url("smtp://news%40example.org:p%3As%40ss%25@mail.example.org:587");
  ASSERT_TRUE(o.has_value()) << o.error().message;
  EXPECT_EQ(o->username, "news@example.org");
  EXPECT_EQ(o->password, "p:s@ss%");
  EXPECT_EQ(o->url, "smtp://mail.example.org:587");
  // A raw '@' in the password still works: the last '@' ends the user info.
  o = SmtpMailer::parse_url("smtp://user:p@ss@mail.example.org");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->password, "p@ss");
  o = SmtpMailer::parse_url("smtp://user@mail.example.org");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->username, "user");
  EXPECT_EQ(o->password, "");
}

TEST(SmtpUrl, ReadsTheStartTlsMode) {
  EXPECT_EQ(SmtpMailer::parse_url("smtp://h.example?starttls=required")->starttls,
            StartTls::required);
  EXPECT_EQ(SmtpMailer::parse_url("smtp://h.example?starttls=optional")->starttls,
            StartTls::optional);
  EXPECT_EQ(SmtpMailer::parse_url("smtp://h.example:587?starttls=off")->starttls, StartTls::off);
  EXPECT_EQ(SmtpMailer::parse_url("smtp://u:p@h.example:587")->starttls, StartTls::required)
      << "credentials never go out in clear by default";
  EXPECT_EQ(SmtpMailer::parse_url("smtp://u:p@h.example:587?starttls=off")->starttls,
            StartTls::off);
}

TEST(SmtpUrl, RejectsBadUrlsWithAClearMessage) {
  struct Case {
    const char* url;
    const char* says;
  };
  for (auto [url, says] : std::initializer_list<Case>{
           {"http://mail.example.org", "scheme"},
           {"mail.example.org:25", "scheme"},
           {"smtp://", "host is missing"},
           {"smtp://:25", "host is missing"},
           {"smtp://user:pw@", "host is missing"},
           {"smtp://mail.example.org:0", "port"},
           {"smtp://mail.example.org:65536", "port"},
           {"smtp://mail.example.org:", "port"},
           {"smtp://mail.example.org:2x", "port"},
           {"smtp://mail.example.org?tls=yes", "unknown option 'tls'"},
           {"smtp://mail.example.org?starttls=always", "required, optional or off"},
           {"smtp://mail.example.org?starttls=off&starttls=required", "twice"},
           {"smtps://mail.example.org?starttls=required", "smtps://"},
           {"smtp://mail.example.org/a/b", "path"},
           {"smtp://mail.example.org#x", "fragment"},
           {"smtp://mail_example.org", "host"},
           {"smtp://[::1", "']'"},
           {"smtp://[zz]:25", "IPv6"},
           {"smtp://u%zz:pw@mail.example.org", "percent"},
           {"smtp://:pw@mail.example.org", "user name"},
       }) {
    auto o = SmtpMailer::parse_url(url);
    ASSERT_FALSE(o.has_value()) << url;
    EXPECT_EQ(o.error().code, ErrorCode::invalid);
    EXPECT_NE(o.error().message.find(says), std::string::npos) << url << ": " << o.error().message;
  }
}

TEST(SmtpUrl, NeverRepeatsThePasswordInAnError) {
  auto o = SmtpMailer::parse_url("smtp://user:hunter2@mail.example.org:99999");
  ASSERT_FALSE(o.has_value());
  EXPECT_EQ(o.error().message.find("hunter2"), std::string::npos) << o.error().message;
}
