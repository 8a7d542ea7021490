#include "mail/maildir/maildir_mailer.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <thread>

#include "mail/mail_test_support.hpp"

using namespace depesche;
using namespace depesche::mail;
using namespace mail_test;
namespace fs = std::filesystem;

namespace {
Mail confirmation() {
  Mail m;
  m.from = "Depesche <noreply@news.example.org>";
  m.to = "reader@example.com";
  m.subject = "Bestätigen Sie Ihr Konto";
  m.text = "Hallo,\n\nbitte öffnen Sie https://news.example.org/confirm?token=abc123.\n";
  m.html = "<p><a href=\"https://news.example.org/confirm?token=abc123\">Bestätigen</a></p>";
  return m;
}

// Delivers with the "mail written" log line captured, to keep test output clean.
Result<void> deliver_quietly(MaildirMailer& mailer, const Mail& mail) {
  testing::internal::CaptureStdout();
  auto result = mailer.deliver(mail);
  testing::internal::GetCapturedStdout();
  return result;
}
}  // namespace

TEST(MaildirMailer, CreatesTheMaildirFolders) {
  TempDir dir;
  MaildirMailer mailer(dir.path / "outbox");
  for (const char* sub : {"tmp", "new", "cur"})
    EXPECT_TRUE(fs::is_directory(dir.path / "outbox" / sub)) << sub;
  EXPECT_STREQ(mailer.kind(), "maildir");
}

TEST(MaildirMailer, WritesOneFileIntoNewAndLeavesTmpEmpty) {
  TempDir dir;
  MaildirMailer mailer(dir.path);
  Mail mail = confirmation();
  ASSERT_TRUE(deliver_quietly(mailer, mail).has_value());
  auto files = files_in(dir.path / "new");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(files_in(dir.path / "tmp").empty());
  EXPECT_TRUE(files_in(dir.path / "cur").empty());
  // Maildir readers treat ':' as the start of flags; names must not hold one.
  EXPECT_EQ(files[0].filename().string().find(':'), std::string::npos);
  Message m = parse_message(read_file(files[0]));
  EXPECT_EQ(m.header("To"), "reader@example.com");
  EXPECT_EQ(decode_header_value(m.header("Subject")), mail.subject);
  auto parts = split_parts(m.body, boundary_of(m.header("Content-Type")));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(decode_quoted_printable(parts[0].body),
            "Hallo,\r\n\r\nbitte öffnen Sie https://news.example.org/confirm?token=abc123.\r\n");
}

TEST(MaildirMailer, KeepsMailsPrivateToTheServerUser) {
  TempDir dir;
  MaildirMailer mailer(dir.path);
  ASSERT_TRUE(deliver_quietly(mailer, confirmation()).has_value());
  auto files = files_in(dir.path / "new");
  ASSERT_EQ(files.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(files[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(MaildirMailer, LogsTheConfirmationLinkForOperators) {
  TempDir dir;
  MaildirMailer mailer(dir.path);
  testing::internal::CaptureStdout();
  auto ok = mailer.deliver(confirmation());
  std::string out = testing::internal::GetCapturedStdout();
  ASSERT_TRUE(ok.has_value());
  EXPECT_NE(out.find("\"msg\":\"mail written\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"to\":\"reader@example.com\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"subject\":\"Bestätigen Sie Ihr Konto\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"link\":\"https://news.example.org/confirm?token=abc123\""),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"path\":\"" + (dir.path / "new").string()), std::string::npos) << out;
}

TEST(MaildirMailer, FindsTheFirstHttpUrl) {
  EXPECT_EQ(first_http_url("open https://a.example/x?t=1 now"), "https://a.example/x?t=1");
  EXPECT_EQ(first_http_url("see http://a.example/1 and https://b.example/2"), "http://a.example/1");
  EXPECT_EQ(first_http_url("Link: https://a.example/confirm?t=abc."),
            "https://a.example/confirm?t=abc");
  EXPECT_EQ(first_http_url("(https://a.example/p)"), "https://a.example/p");
  EXPECT_EQ(first_http_url("<https://a.example/p>"), "https://a.example/p");
  EXPECT_EQ(first_http_url("https://a.example/p\r\nnext"), "https://a.example/p");
  EXPECT_EQ(first_http_url("no link here, ftp://x.example"), "");
  EXPECT_EQ(first_http_url(""), "");
}

TEST(MaildirMailer, GivesEveryMailItsOwnFileUnderConcurrency) {
  TempDir dir;
  MaildirMailer mailer(dir.path);
  constexpr int kThreads = 4, kEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  testing::internal::CaptureStdout();
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i)
        if (!mailer.deliver(confirmation())) ++failures;
    });
  for (auto& t : threads) t.join();
  testing::internal::GetCapturedStdout();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(files_in(dir.path / "new").size(), std::size_t{kThreads * kEach});
  EXPECT_TRUE(files_in(dir.path / "tmp").empty());
}

TEST(MaildirMailer, RecreatesFoldersRemovedWhileRunning) {
  TempDir dir;
  MaildirMailer mailer(dir.path / "outbox");
  fs::remove_all(dir.path / "outbox");
  auto ok = deliver_quietly(mailer, confirmation());
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(files_in(dir.path / "outbox" / "new").size(), 1u);
}

TEST(MaildirMailer, ReportsUnavailableAndCleansUpWhenNewCannotTakeTheMail) {
  TempDir dir;
  MaildirMailer mailer(dir.path);
  fs::remove(dir.path / "new");
  std::ofstream(dir.path / "new") << "a file where the folder should be";
  auto result = mailer.deliver(confirmation());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::unavailable);
  EXPECT_NE(result.error().message.find("new"), std::string::npos) << result.error().message;
  EXPECT_TRUE(files_in(dir.path / "tmp").empty());
}

TEST(MaildirMailer, ThrowsAtStartUpWhenTheFolderCannotBeMade) {
  TempDir dir;
  std::ofstream(dir.path / "file") << "x";
  EXPECT_THROW(MaildirMailer(dir.path / "file" / "outbox"), fs::filesystem_error);
}
