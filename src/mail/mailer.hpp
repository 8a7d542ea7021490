#pragma once
// The mail transport interface. Domain services compose a Mail and hand it
// to the outbox (domain/mail_outbox.hpp), which persists it and calls a
// Mailer from a background thread, retrying with backoff; a Mailer only
// delivers one message, synchronously, and says whether that worked.
//
// Implementations: mail/maildir/ (the embedded default: one file per mail in
// a maildir under the data dir) and mail/smtp/ (libcurl; smtp:// and
// smtps://, STARTTLS, authentication from the URL's user info).

#include <string>
#include <string_view>

#include "base/error.hpp"

namespace depesche::mail {

struct Mail {
  std::string from;        // "Name <addr@host>" or "addr@host"
  std::string to;          // one address, "addr@host"
  std::string subject;     // UTF-8; encoded per RFC 2047 when sent
  std::string text;        // text/plain body, UTF-8
  std::string html;        // text/html body, UTF-8; empty: text only
  std::string message_id;  // "<unique@host>"; the transport makes one when empty
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  /// Delivers one mail; blocks (call it off the I/O threads). `unavailable`
  /// for failures worth retrying (server down, timeout, 4xx reply),
  /// `invalid` for ones that will never succeed (5xx reply, bad address).
  virtual Result<void> deliver(const Mail& mail) = 0;
  /// A short name for logs and metrics: "maildir" or "smtp".
  virtual const char* kind() const = 0;
};

/// The RFC 5322 message for `mail`: headers (Date, Message-ID, From, To,
/// Subject encoded per RFC 2047, MIME-Version) and a multipart/alternative
/// body with quoted-printable text and HTML parts (text only when html is
/// empty). Lines end in CRLF.
std::string format_message(const Mail& mail);

/// A fresh Message-ID ("random@host", without the angle brackets) for a
/// mail from `from` (a mailbox such as "Name <a@b>"). Stored with a queued
/// mail, so that every attempt to deliver it carries the same ID and a
/// receiver can drop a copy that a crash made us send twice.
std::string new_message_id(std::string_view from);

}  // namespace depesche::mail
