#pragma once
// Delivery through an SMTP relay with libcurl: smtp:// with optional or
// required STARTTLS, smtps:// with TLS from the start, AUTH with the user
// and password from the URL. Certificates are always verified, against
// ca_file when one is set.

#include <string_view>

#include "mail/mailer.hpp"
#include "mail/smtp/smtp_options.hpp"

namespace depesche::mail {

class SmtpMailer final : public Mailer {
 public:
  /// See parse_smtp_url; call it while loading the config so a bad URL
  /// stops start-up instead of every later delivery.
  static Result<SmtpOptions> parse_url(std::string_view url) { return parse_smtp_url(url); }

  /// Initialises libcurl once per process (throws std::runtime_error if it
  /// cannot: a start-up failure). Opens no connection.
  explicit SmtpMailer(SmtpOptions options);

  /// One SMTP session on a fresh connection: MAIL FROM the address in
  /// mail.from, RCPT TO the address in mail.to, DATA format_message(mail).
  /// Blocks up to options.timeout_ms. Thread-safe: nothing is shared between
  /// calls. `invalid` when an address is malformed or the server answers a
  /// command with 5xx; `unavailable` for everything worth retrying: no
  /// connection, a timeout, a 4xx reply, a TLS failure, and also rejected
  /// or required authentication (530, 534, 535, 538): that is a config
  /// mistake, and the mail should wait for the operator to fix it rather
  /// than be dropped. Messages name the endpoint and the server's reply,
  /// never the password.
  Result<void> deliver(const Mail& mail) override;

  const char* kind() const override { return "smtp"; }

  const SmtpOptions& options() const { return options_; }

 private:
  SmtpOptions options_;
};

}  // namespace depesche::mail
