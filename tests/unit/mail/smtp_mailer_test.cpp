// SmtpMailer against a real SMTP server: Debian's aiosmtpd, started per test
// on a free loopback port (CTest label "smtp"). Skips only when
// /usr/bin/python3 cannot import aiosmtpd; any other setup failure fails.

#include "mail/smtp/smtp_mailer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "mail/child_process.hpp"
#include "mail/mail_test_support.hpp"

using namespace depesche;
using namespace mail_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using depesche::mail::Mail;
using depesche::mail::SmtpOptions;

namespace {
const std::string kPython = "/usr/bin/python3";
const std::string kOpenssl = "/usr/bin/openssl";
constexpr auto kStartTimeout = 20s;

bool have_aiosmtpd() {
  static const bool have = [] {
    TempDir dir;
    ChildProcess check({kPython, "-c", "import aiosmtpd"}, dir.path / "stderr");
    return check.started() && check.wait_exit(30s) == 0;
  }();
  return have;
}

#define REQUIRE_AIOSMTPD()                                    \
  if (!have_aiosmtpd())                                       \
  GTEST_SKIP() << "/usr/bin/python3 cannot import aiosmtpd; " \
                  "apt-get install python3-aiosmtpd to run the SMTP tests"

struct SmtpServer {
  TempDir dir;
  std::unique_ptr<ChildProcess> process;
  int port = 0;

  fs::path maildir() const { return dir.path / "mbox"; }
  std::vector<fs::path> received() const { return files_in(maildir() / "new"); }
  fs::path cert() const { return dir.path / "cert.pem"; }
  fs::path key() const { return dir.path / "key.pem"; }
};

// aiosmtpd's own command line with its Mailbox handler: the plainest server.
void start_cli_server(SmtpServer& server) {
  { server.port = LocalSocket(false).port(); }  // free now; aiosmtpd binds it next
  server.process = std::make_unique<ChildProcess>(
      std::vector<std::string>{kPython, "-m", "aiosmtpd", "-n", "-l",
                               "127.0.0.1:" + std::to_string(server.port), "-c",
                               "aiosmtpd.handlers.Mailbox", server.maildir().string()},
      server.dir.path / "stderr");
  ASSERT_TRUE(server.process->started());
  ASSERT_TRUE(server.process->wait_for_port(server.port, kStartTimeout))
      << "aiosmtpd did not listen: " << server.process->stderr_text();
}

// tests/unit/mail/smtp_test_server.py, for the behaviours the command line
// lacks; it reports the port it bound, so there is no race for the port.
void start_script_server(SmtpServer& server, std::vector<std::string> options = {}) {
  std::vector<std::string> argv = {
      kPython, std::string(DEPESCHE_SOURCE_DIR) + "/tests/unit/mail/smtp_test_server.py",
      server.maildir().string()};
  argv.insert(argv.end(), options.begin(), options.end());
  server.process = std::make_unique<ChildProcess>(argv, server.dir.path / "stderr");
  ASSERT_TRUE(server.process->started());
  auto line = server.process->read_line(kStartTimeout);
  ASSERT_TRUE(line.has_value()) << "the test server did not start: "
                                << server.process->stderr_text();
  server.port = std::stoi(*line);
}

// A self-signed certificate for 127.0.0.1 and localhost, valid for a day.
void make_certificate(const SmtpServer& server) {
  ChildProcess openssl(
      {kOpenssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
       "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout",
       server.key().string(), "-out", server.cert().string()},
      server.dir.path / "openssl.stderr");
  ASSERT_TRUE(openssl.started()) << "cannot run " << kOpenssl;
  ASSERT_EQ(openssl.wait_exit(60s), 0) << openssl.stderr_text();
}

SmtpOptions parsed(const std::string& url) {
  auto options = mail::SmtpMailer::parse_url(url);
  EXPECT_TRUE(options.has_value()) << url << ": " << options.error().message;
  options->connect_timeout_ms = 5'000;
  options->timeout_ms = 20'000;
  return *options;
}

std::string local(int port) { return "127.0.0.1:" + std::to_string(port); }

Mail confirmation() {
  Mail m;
  m.from = "Depesche Köln <noreply@news.example.org>";
  m.to = "reader@example.com";
  m.subject = "Подтвердите регистрацию – Grüße aus Köln";
  m.text = "Hallo,\n\nbitte öffnen Sie https://news.example.org/confirm?token=abc123.\n";
  m.html = "<p><a href=\"https://news.example.org/confirm?token=abc123\">Bestätigen</a></p>\n";
  return m;
}

std::string crlf(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

// The one mail in the server's maildir, checked against what was sent.
void expect_received(const SmtpServer& server, const Mail& sent) {
  auto files = server.received();
  ASSERT_EQ(files.size(), 1u);
  Message m = parse_message(read_file(files[0]));
  EXPECT_EQ(m.header("X-RcptTo"), "reader@example.com");
  EXPECT_EQ(m.header("X-MailFrom"), "noreply@news.example.org");
  EXPECT_EQ(m.header("To"), "reader@example.com");
  EXPECT_EQ(decode_header_value(m.header("Subject")), sent.subject);
  EXPECT_EQ(decode_header_value(m.header("From")), sent.from);
  auto parts = split_parts(m.body, boundary_of(m.header("Content-Type")));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(decode_quoted_printable(parts[0].body), crlf(sent.text));
  EXPECT_EQ(decode_quoted_printable(parts[1].body), crlf(sent.html));
}
}  // namespace

TEST(SmtpMailer, DeliversToARealServer) {
  REQUIRE_AIOSMTPD();
  SmtpServer server;
  ASSERT_NO_FATAL_FAILURE(start_cli_server(server));
  mail::SmtpMailer mailer(parsed("smtp://" + local(server.port)));
  EXPECT_STREQ(mailer.kind(), "smtp");
  Mail mail = confirmation();
  auto result = mailer.deliver(mail);
  ASSERT_TRUE(result.has_value()) << result.error().message << "\n"
                                  << server.process->stderr_text();
  expect_received(server, mail);
}

// A line holding only "." ends SMTP's DATA; libcurl must dot-stuff it.
TEST(SmtpMailer, KeepsBodyLinesThatStartWithADot) {
  REQUIRE_AIOSMTPD();
  SmtpServer server;
  ASSERT_NO_FATAL_FAILURE(start_script_server(server));
  mail::SmtpMailer mailer(parsed("smtp://" + local(server.port)));
  Mail mail = confirmation();
  mail.text = "first\n.\n..two dots\n.\r\nlast\n";
  mail.html = ".\n<p>.</p>\n.";
  auto result = mailer.deliver(mail);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  expect_received(server, mail);
}

TEST(SmtpMailer, ReportsUnavailableQuicklyWhenNothingListens) {
  LocalSocket refusing(false);
  mail::SmtpMailer mailer(parsed("smtp://" + local(refusing.port())));
  auto start = Clock::now();
  auto result = mailer.deliver(confirmation());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::unavailable);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_NE(result.error().message.find(local(refusing.port())), std::string::npos)
      << result.error().message;
}

TEST(SmtpMailer, TimesOutOnAServerThatNeverGreets) {
  LocalSocket silent(true);  // the kernel accepts; nobody ever speaks
  SmtpOptions options = parsed("smtp://" + local(silent.port()));
  options.timeout_ms = 500;
  mail::SmtpMailer mailer(options);
  auto start = Clock::now();
  auto result = mailer.deliver(confirmation());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::unavailable);
  EXPECT_LT(Clock::now() - start, 5s);
}

TEST(SmtpMailer, RejectsAMalformedAddressWithoutConnecting) {
  LocalSocket refusing(false);  // were it to connect, it would get `unavailable`
  mail::SmtpMailer mailer(parsed("smtp://" + local(refusing.port())));
  Mail mail = confirmation();
  mail.to = "not an address";
  auto result = mailer.deliver(mail);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::invalid);
  EXPECT_EQ(result.error().field, "to");
}

TEST(SmtpMailer, ReportsInvalidWhenTheServerRejectsTheRecipient) {
  REQUIRE_AIOSMTPD();
  SmtpServer server;
  ASSERT_NO_FATAL_FAILURE(start_script_server(server, {"--reject-rcpt"}));
  mail::SmtpMailer mailer(parsed("smtp://" + local(server.port)));
  auto result = mailer.deliver(confirmation());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::invalid) << result.error().message;
  EXPECT_NE(result.error().message.find("550 no such user"), std::string::npos)
      << result.error().message;
  EXPECT_TRUE(server.received().empty());
}

TEST(SmtpMailer, AuthenticatesWithPercentEncodedCredentialsFromTheUrl) {
  REQUIRE_AIOSMTPD();
  SmtpServer server;
  ASSERT_NO_FATAL_FAILURE(start_script_server(server, {"--auth", "depesche:p@ss:w%rd"}));
  mail::SmtpMailer mailer(
      parsed("smtp://depesche:p%40ss%3Aw%25rd@" + local(server.port) + "?starttls=off"));
  Mail mail = confirmation();
  auto result = mailer.deliver(mail);
  ASSERT_TRUE(result.has_value()) << result.error().message << "\n"
                                  << server.process->stderr_text();
  expect_received(server, mail);
}

TEST(SmtpMailer, FailsWithAWrongPasswordWithoutRevealingIt) {
  REQUIRE_AIOSMTPD();
  SmtpServer server;
  ASSERT_NO_FATAL_FAILURE(start_script_server(server, {"--auth", "depesche:right"}));
  mail::SmtpMailer mailer(
      parsed("smtp://depesche:wrong-secret@" + local(server.port) + "?starttls=off"));
  auto result = mailer.deliver(confirmation());
  ASSERT_FALSE(result.has_value());
  // A config mistake: the mail waits in the outbox until the operator fixes it.
  EXPECT_EQ(result.error().code, ErrorCode::unavailable) << result.error().message;
  EXPECT_EQ(result.error().message.find("wrong-secret"), std::string::npos)
      << result.error().message;
  EXPECT_NE(result.error().message.find("535"), std::string::npos) << result.error().message;
  EXPECT_TRUE(server.received().empty());
}

TEST(SmtpMailer, ReportsUnavailableWhenTheServerRequiresAuthentication) {
  REQUIRE_AIOSMTPD();
  SmtpServer server;
  ASSERT_NO_FATAL_FAILURE(start_script_server(server, {"--auth", "depesche:right"}));
  mail::SmtpMailer mailer(parsed("smtp://" + local(server.port)));
  auto result = mailer.deliver(confirmation());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::unavailable) << result.error().message;
  EXPECT_NE(result.error().message.find("530"), std::string::npos) << result.error().message;
  EXPECT_TRUE(server.received().empty());
}

TEST(SmtpMailer, DeliversOverRequiredStartTlsTrustingAPrivateCa) {
  REQUIRE_AIOSMTPD();
  SmtpServer server;
  ASSERT_NO_FATAL_FAILURE(make_certificate(server));
  ASSERT_NO_FATAL_FAILURE(
      start_script_server(server, {"--starttls", server.cert().string(), server.key().string()}));
  SmtpOptions options = parsed("smtp://" + local(server.port) + "?starttls=required");
  options.ca_file = server.cert().string();
  mail::SmtpMailer mailer(options);
  Mail mail = confirmation();
  auto result = mailer.deliver(mail);
  ASSERT_TRUE(result.has_value()) << result.error().message << "\n"
                                  << server.process->stderr_text();
  expect_received(server, mail);
}

TEST(SmtpMailer, RefusesACertificateItCannotVerify) {
  REQUIRE_AIOSMTPD();
  SmtpServer server;
  ASSERT_NO_FATAL_FAILURE(make_certificate(server));
  ASSERT_NO_FATAL_FAILURE(
      start_script_server(server, {"--starttls", server.cert().string(), server.key().string()}));
  // No ca_file: the system's CAs do not know this self-signed certificate.
  mail::SmtpMailer mailer(parsed("smtp://" + local(server.port) + "?starttls=required"));
  auto result = mailer.deliver(confirmation());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::unavailable) << result.error().message;
  EXPECT_TRUE(server.received().empty());
}

TEST(SmtpMailer, RequiredStartTlsFailsWhenTheServerOffersNone) {
  REQUIRE_AIOSMTPD();
  SmtpServer server;
  ASSERT_NO_FATAL_FAILURE(start_script_server(server));
  mail::SmtpMailer mailer(parsed("smtp://" + local(server.port) + "?starttls=required"));
  auto result = mailer.deliver(confirmation());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::unavailable) << result.error().message;
  EXPECT_TRUE(server.received().empty());
}

TEST(SmtpMailer, DeliversOverImplicitTls) {
  REQUIRE_AIOSMTPD();
  SmtpServer server;
  ASSERT_NO_FATAL_FAILURE(make_certificate(server));
  ASSERT_NO_FATAL_FAILURE(
      start_script_server(server, {"--smtps", server.cert().string(), server.key().string()}));
  SmtpOptions options = parsed("smtps://" + local(server.port));
  options.ca_file = server.cert().string();
  mail::SmtpMailer mailer(options);
  Mail mail = confirmation();
  auto result = mailer.deliver(mail);
  ASSERT_TRUE(result.has_value()) << result.error().message << "\n"
                                  << server.process->stderr_text();
  expect_received(server, mail);
}

TEST(SmtpMailer, DeliversFromSeveralThreadsAtOnce) {
  REQUIRE_AIOSMTPD();
  SmtpServer server;
  ASSERT_NO_FATAL_FAILURE(start_script_server(server));
  mail::SmtpMailer mailer(parsed("smtp://" + local(server.port)));
  constexpr int kThreads = 4, kEach = 3;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i)
        if (!mailer.deliver(confirmation())) ++failures;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(server.received().size(), std::size_t{kThreads * kEach});
}
