#pragma once
// The embedded default transport: each mail becomes one file in a maildir
// (tmp/, new/, cur/) under the data dir, readable with any mail client
// (`mutt -f <dir>`) and announced in the log, so a server without an SMTP
// relay can still confirm accounts: the operator copies the link from the
// "mail written" line.

#include <filesystem>
#include <string_view>

#include "mail/mailer.hpp"

namespace depesche::mail {

/// The first http:// or https:// URL in `text`, ending before whitespace,
/// a control character, non-ASCII, '<', '>', '"' or '\'', and without
/// trailing sentence punctuation (".,;:!?)]}"); empty when there is none.
std::string_view first_http_url(std::string_view text);

class MaildirMailer final : public Mailer {
 public:
  /// Delivers into the maildir at `directory`, creating it and its tmp/, new/
  /// and cur/ when missing. Throws std::filesystem::filesystem_error when
  /// they cannot be created, which is a start-up failure.
  explicit MaildirMailer(std::filesystem::path directory);

  /// Writes format_message(mail) to tmp/<unique name> (mode 0600: mails carry
  /// confirmation links), fsyncs it, renames it into new/ and fsyncs new/, so
  /// a mail reported delivered survives a crash and a reader never sees half
  /// a file. Logs one "mail written" line (to, subject, path, link) at info
  /// whatever the log level. `unavailable` when any step fails; the partial
  /// file is removed. Thread-safe: names are unique per call.
  Result<void> deliver(const Mail& mail) override;

  const char* kind() const override { return "maildir"; }

  const std::filesystem::path& directory() const { return directory_; }

 private:
  std::filesystem::path directory_;
};

}  // namespace depesche::mail
