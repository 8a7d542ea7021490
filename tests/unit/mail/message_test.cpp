#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "mail/header_encoding.hpp"
#include "mail/mail_test_support.hpp"
#include "mail/mailer.hpp"
#include "mail/quoted_printable.hpp"

using namespace depesche::mail;
using namespace mail_test;

namespace {
Mail sample() {
  Mail m;
  m.from = "Depesche <noreply@news.example.org>";
  m.to = "reader@example.com";
  m.subject = "Confirm your account";
  m.text = "Hello,\n\nopen https://news.example.org/confirm?token=abc to confirm.\n";
  m.html =
      "<p>Hello,</p>\n<p><a href=\"https://news.example.org/confirm?token=abc\">Confirm</a></p>\n";
  return m;
}

// Every line break is CRLF: no bare LF, no bare CR.
void expect_crlf_only(std::string_view raw) {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n') {
      ASSERT_TRUE(i > 0 && raw[i - 1] == '\r') << "bare LF at " << i;
    }
    if (raw[i] == '\r') {
      ASSERT_TRUE(i + 1 < raw.size() && raw[i + 1] == '\n') << "bare CR at " << i;
    }
  }
}

void expect_short_lines(std::string_view raw, std::size_t limit = 76) {
  for (const std::string& line : split_lines(raw)) EXPECT_LE(line.size(), limit) << line;
}

void expect_seven_bit(std::string_view raw) {
  for (unsigned char c : raw) ASSERT_LT(c, 0x80);
}

std::string crlf(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::string decoded_subject(const Mail& mail) {
  return decode_header_value(parse_message(format_message(mail)).header("Subject"));
}
}  // namespace

TEST(Message, HasTheHeadersOfRfc5322AndMime) {
  Message m = parse_message(format_message(sample()));
  EXPECT_TRUE(
      std::regex_match(m.header("Date"), std::regex(R"([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} )"
                                                    R"(\d{2}:\d{2}:\d{2} \+0000)")))
      << m.header("Date");
  EXPECT_TRUE(
      std::regex_match(m.header("Message-ID"), std::regex(R"(<[0-9a-f]{32}@news\.example\.org>)")))
      << m.header("Message-ID");
  EXPECT_EQ(m.header("From"), "Depesche <noreply@news.example.org>");
  EXPECT_EQ(m.header("To"), "reader@example.com");
  EXPECT_EQ(m.header("Subject"), "Confirm your account");
  EXPECT_EQ(m.header("MIME-Version"), "1.0");
  EXPECT_TRUE(m.header("Content-Type").starts_with("multipart/alternative; boundary=\"=_"));
  for (const char* name : {"Date", "Message-ID", "From", "To", "Subject", "MIME-Version"})
    EXPECT_EQ(m.count(name), 1) << name;
}

TEST(Message, HasPlainAndHtmlPartsInQuotedPrintable) {
  Mail mail = sample();
  Message m = parse_message(format_message(mail));
  std::vector<Message> parts = split_parts(m.body, boundary_of(m.header("Content-Type")));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(parts[1].header("Content-Type"), "text/html; charset=utf-8");
  for (const Message& p : parts)
    EXPECT_EQ(p.header("Content-Transfer-Encoding"), "quoted-printable");
  EXPECT_EQ(decode_quoted_printable(parts[0].body), crlf(mail.text));
  EXPECT_EQ(decode_quoted_printable(parts[1].body), crlf(mail.html));
}

TEST(Message, IsTextOnlyWithoutHtml) {
  Mail mail = sample();
  mail.html.clear();
  std::string raw = format_message(mail);
  Message m = parse_message(raw);
  EXPECT_EQ(m.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(m.header("Content-Transfer-Encoding"), "quoted-printable");
  EXPECT_EQ(raw.find("multipart"), std::string::npos);
  EXPECT_EQ(decode_quoted_printable(m.body), crlf(mail.text));
  EXPECT_TRUE(raw.ends_with("\r\n"));
}

TEST(Message, EndsTextWithoutFinalNewlineWithCrlf) {
  Mail mail = sample();
  mail.html.clear();
  mail.text = "no newline at the end";
  std::string raw = format_message(mail);
  EXPECT_TRUE(raw.ends_with("no newline at the end\r\n"));
}

TEST(Message, UsesCrlfOnlyWhateverTheInputLineEnds) {
  Mail mail = sample();
  mail.text = "unix\nwindows\r\nold mac\rend";
  mail.html = "<p>a</p>\n\r\n<p>b</p>\r";
  std::string raw = format_message(mail);
  expect_crlf_only(raw);
  Message m = parse_message(raw);
  std::vector<Message> parts = split_parts(m.body, boundary_of(m.header("Content-Type")));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(decode_quoted_printable(parts[0].body), "unix\r\nwindows\r\nold mac\r\nend");
  EXPECT_EQ(decode_quoted_printable(parts[1].body), "<p>a</p>\r\n\r\n<p>b</p>\r\n");
}

TEST(Message, KeepsEveryLineShortAndSevenBit) {
  Mail mail = sample();
  mail.subject = std::string(40, 'x') + " Überschrift für eine sehr lange Betreffzeile " +
                 "с кириллицей и ещё немного текста, чтобы строка была длинной";
  mail.from =
      "Die Redaktion der Zeitung aus Köln am Rhein mit einem langen Namen "
      "<redaktion@news.example.org>";
  mail.text = std::string(500, 'a') + "\n" + std::string(300, '=') + "\n" + "ü" + repeat("ö", 200);
  mail.html = "<p>" + std::string(1000, 'h') + "</p>";
  std::string raw = format_message(mail);
  expect_crlf_only(raw);
  expect_short_lines(raw);
  expect_seven_bit(raw);
  Message m = parse_message(raw);
  EXPECT_EQ(decode_header_value(m.header("Subject")), mail.subject);
  EXPECT_EQ(decode_header_value(m.header("From")),
            "Die Redaktion der Zeitung aus Köln am Rhein mit einem langen Namen "
            "<redaktion@news.example.org>");
}

TEST(Message, EncodesCyrillicAndUmlautSubjectsPerRfc2047) {
  Mail mail = sample();
  for (const std::string& subject : std::vector<std::string>{
           "Подтвердите регистрацию", "Grüße aus Köln – Bestätigung", "Ä", "日本語のテスト",
           "Mixed: Привет, Jürgen! 🎉 " + std::string(80, 'z'),
           std::string("Подтвердите регистрацию на сайте новостей, пожалуйста, ") +
               "это очень длинная тема письма"}) {
    mail.subject = subject;
    std::string raw = format_message(mail);
    Message m = parse_message(raw);
    std::string header = m.header("Subject");
    EXPECT_TRUE(header.starts_with("=?UTF-8?B?")) << header;
    EXPECT_EQ(decode_header_value(header), subject);
    expect_short_lines(raw);
    expect_seven_bit(raw);
  }
}

// RFC 2047 section 5: an encoded-word holds whole characters.
TEST(Message, NeverSplitsACharacterAcrossEncodedWords) {
  Mail mail = sample();
  mail.subject = std::string(200, 'a') + "ё" + repeat("ж", 100);
  std::string header = parse_message(format_message(mail)).header("Subject");
  std::regex word(R"(=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=)");
  int words = 0;
  for (auto it = std::sregex_iterator(header.begin(), header.end(), word);
       it != std::sregex_iterator(); ++it) {
    std::string bytes = decode_base64((*it)[1].str());
    ASSERT_FALSE(bytes.empty());
    EXPECT_NE(static_cast<unsigned char>(bytes.front()) & 0xc0, 0x80) << "starts mid-character";
    ++words;
  }
  EXPECT_GT(words, 3);
}

TEST(Message, LeavesAsciiSubjectsReadableAndFoldsThemAtSpaces) {
  Mail mail = sample();
  mail.subject =
      "A rather long subject line about the city council meeting that went on well "
      "past midnight yesterday";
  std::string raw = format_message(mail);
  Message m = parse_message(raw);
  EXPECT_EQ(m.header("Subject").find("=?"), std::string::npos);
  EXPECT_NE(m.header("Subject").find("\r\n "), std::string::npos);
  EXPECT_EQ(decoded_subject(mail), mail.subject);
  expect_short_lines(raw);
}

TEST(Message, EncodesAsciiThatLooksLikeAnEncodedWord) {
  Mail mail = sample();
  mail.subject = "what =?UTF-8?B?SGk=?= means";
  EXPECT_EQ(decoded_subject(mail), mail.subject);
}

TEST(Message, EncodesAnOverlongWordInsteadOfBreakingTheLineLimit) {
  Mail mail = sample();
  mail.subject = "see " + std::string(120, 'q');
  std::string raw = format_message(mail);
  expect_short_lines(raw);
  EXPECT_EQ(decoded_subject(mail), mail.subject);
}

TEST(Message, StripsLineBreaksFromHeadersSoNothingCanBeInjected) {
  Mail mail = sample();
  mail.subject = "Hello\r\nBcc: victim@example.net\r\n\r\nInjected body";
  mail.from = "Evil\r\nBcc: a@example.net <noreply@news.example.org>";
  mail.to = "reader@example.com\nCc: b@example.net";
  mail.message_id = "<id@x>\r\nX-Injected: yes";
  std::string raw = format_message(mail);
  expect_crlf_only(raw);
  Message m = parse_message(raw);
  for (const auto& [name, value] : m.headers) {
    EXPECT_NE(name, "Bcc");
    EXPECT_NE(name, "Cc");
    EXPECT_NE(name, "X-Injected");
  }
  EXPECT_EQ(m.headers.size(), 7u);  // Date, Message-ID, From, To, Subject, MIME, Content-Type
  EXPECT_EQ(decode_header_value(m.header("Subject")),
            "Hello  Bcc: victim@example.net    Injected body");
  EXPECT_EQ(m.header("To"), "reader@example.comCc:b@example.net");
}

TEST(Message, StripsOtherControlCharactersFromHeaders) {
  EXPECT_EQ(sanitize_header_value("a\tb\x01"
                                  "c\x7f"),
            "a b c");
  EXPECT_EQ(sanitize_header_value("  \r\n  "), "");
  EXPECT_EQ(sanitize_address(" <a@b.example>\r\n"), "a@b.example");
}

TEST(Message, UsesAGivenMessageIdAndMakesUniqueOnes) {
  Mail mail = sample();
  mail.message_id = "<fixed.1@news.example.org>";
  EXPECT_EQ(parse_message(format_message(mail)).header("Message-ID"), "<fixed.1@news.example.org>");
  mail.message_id.clear();
  std::set<std::string> ids, boundaries;
  for (int i = 0; i < 20; ++i) {
    Message m = parse_message(format_message(mail));
    ids.insert(m.header("Message-ID"));
    boundaries.insert(boundary_of(m.header("Content-Type")));
  }
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(boundaries.size(), 20u);
}

TEST(Message, FallsBackToLocalhostForAnOddSenderDomain) {
  Mail mail = sample();
  mail.from = "nobody";
  EXPECT_TRUE(parse_message(format_message(mail)).header("Message-ID").ends_with("@localhost>"));
}

TEST(Message, WritesDisplayNamesAsAtomsQuotedStringsOrEncodedWords) {
  Mailbox plain{"Depesche", "a@news.example.org"};
  EXPECT_EQ(mailbox_header("From", plain), "From: Depesche <a@news.example.org>");
  Mailbox comma{"Smith, \"Jo\"", "a@news.example.org"};
  EXPECT_EQ(mailbox_header("From", comma), "From: \"Smith, \\\"Jo\\\"\" <a@news.example.org>");
  Mailbox umlaut{"Zeitung Köln", "a@news.example.org"};
  std::string header = mailbox_header("From", umlaut);
  EXPECT_TRUE(header.starts_with("From: =?UTF-8?B?")) << header;
  EXPECT_EQ(decode_header_value(header.substr(6)), "Zeitung Köln <a@news.example.org>");
  EXPECT_EQ(mailbox_header("To", {"", "r@example.com"}), "To: r@example.com");
}

TEST(QuotedPrintable, RoundTripsTrickyText) {
  std::vector<std::string> samples = {
      "",
      "plain",
      "a=b",
      "trailing space \nand tab\t\nend ",
      "Grüße, Привет, 🎉",
      std::string(75, 'x'),
      std::string(76, 'x'),
      std::string(77, 'x'),
      std::string(74, 'x') + "=",
      std::string(75, 'x') + "=",
      std::string(73, 'x') + "ü",
      std::string(300, ' '),
      "line\r\n\r\n\r\n",
      ". a dot\nFrom the start",
  };
  std::string all_bytes;
  for (int c = 0; c < 256; ++c)
    if (c != '\r' && c != '\n') all_bytes += static_cast<char>(c);
  samples.push_back(all_bytes);
  for (const std::string& s : samples) {
    std::string encoded = encode_quoted_printable(s);
    expect_crlf_only(encoded);
    expect_short_lines(encoded);
    for (unsigned char c : encoded)
      EXPECT_TRUE((c >= 32 && c <= 126) || c == '\r' || c == '\n' || c == '\t') << int(c);
    EXPECT_EQ(decode_quoted_printable(encoded), crlf(s)) << s;
  }
}

TEST(QuotedPrintable, EncodesEqualsNonAsciiAndTrailingBlanks) {
  EXPECT_EQ(encode_quoted_printable("a=b"), "a=3Db");
  EXPECT_EQ(encode_quoted_printable("ä"), "=C3=A4");
  EXPECT_EQ(encode_quoted_printable("end \nx\t"), "end=20\r\nx=09");
  EXPECT_EQ(encode_quoted_printable("in between"), "in between");
}

TEST(QuotedPrintable, BreaksLongLinesSoftlyAt76) {
  std::string encoded = encode_quoted_printable(std::string(76, 'x'));
  EXPECT_EQ(encoded, std::string(76, 'x'));
  encoded = encode_quoted_printable(std::string(77, 'x'));
  EXPECT_EQ(encoded, std::string(75, 'x') + "=\r\n" + "xx");
  // An =XX triple is never split by a soft break.
  encoded = encode_quoted_printable(std::string(74, 'x') + "éx");
  EXPECT_EQ(encoded, std::string(74, 'x') + "=\r\n=C3=A9x");
}
