// format_message (declared in mail/mailer.hpp): the one place that turns a
// Mail into bytes, shared by every transport so they all send the same thing.

#include <string>
#include <string_view>

#include "base/time.hpp"
#include "mail/address.hpp"
#include "mail/header_encoding.hpp"
#include "mail/mailer.hpp"
#include "mail/quoted_printable.hpp"
#include "mail/random_token.hpp"

namespace depesche::mail {
namespace {
// RFC 5322 wants a numeric zone; the HTTP date is the same text with "GMT".
std::string rfc5322_date(Millis t) {
  std::string date = format_http_date(t);
  if (date.ends_with(" GMT")) date.replace(date.size() - 3, 3, "+0000");
  return date;
}

// The Message-ID's right-hand side: the sender's domain when it is a plain
// host name, so the ID is unique without knowing this machine's name.
std::string id_host(std::string_view from_address) {
  std::string_view domain = domain_of(from_address);
  if (domain.empty() || domain.size() > 253) return "localhost";
  for (char c : domain)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.'))
      return "localhost";
  return std::string(domain);
}

std::string message_id(const Mail& mail, std::string_view from_address) {
  if (!mail.message_id.empty()) {
    std::string id = sanitize_address(mail.message_id);
    if (!id.empty()) return "<" + id + ">";
  }
  return "<" + random_hex(16) + "@" + id_host(from_address) + ">";
}

void add_line(std::string& out, std::string_view line) {
  out += line;
  out += "\r\n";
}

void add_text_part(std::string& out, std::string_view subtype, std::string_view body) {
  out += "Content-Type: text/";
  out += subtype;
  out += "; charset=utf-8\r\n";
  add_line(out, "Content-Transfer-Encoding: quoted-printable");
  out += "\r\n";
  out += encode_quoted_printable(body);
}
}  // namespace

std::string new_message_id(std::string_view from) {
  return random_hex(16) + "@" + id_host(split_mailbox(std::string(from)).address);
}

std::string format_message(const Mail& mail) {
  Mailbox from = split_mailbox(mail.from);
  std::string out;
  out.reserve(1024 + (mail.text.size() + mail.html.size()) * 5 / 4);
  add_line(out, "Date: " + rfc5322_date(now_millis()));
  add_line(out, "Message-ID: " + message_id(mail, from.address));
  add_line(out, mailbox_header("From", from));
  add_line(out, mailbox_header("To", split_mailbox(mail.to)));
  add_line(out, unstructured_header("Subject", mail.subject));
  add_line(out, "MIME-Version: 1.0");
  if (mail.html.empty()) {
    add_text_part(out, "plain", mail.text);
    // SMTP's end-of-data marker needs the message to end in a line break.
    if (!out.ends_with("\r\n")) out += "\r\n";
    return out;
  }
  // "=_" cannot occur in quoted-printable output, so the parts can never
  // contain the boundary whatever their text.
  std::string boundary = "=_" + random_hex(12);
  add_line(out, "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"");
  out += "\r\n";
  // The CRLF before each delimiter belongs to the delimiter (RFC 2046).
  add_line(out, "--" + boundary);
  add_text_part(out, "plain", mail.text);
  add_line(out, "\r\n--" + boundary);
  add_text_part(out, "html", mail.html);
  add_line(out, "\r\n--" + boundary + "--");
  return out;
}

}  // namespace depesche::mail
