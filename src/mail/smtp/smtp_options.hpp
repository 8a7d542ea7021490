#pragma once
// Settings of the SMTP transport and the parser for the URL operators write
// in the config, e.g. smtp://user:secret@mail.example.org:587?starttls=required.

#include <string>
#include <string_view>

#include "base/error.hpp"

namespace depesche::mail {

enum class StartTls {
  off,       // plain SMTP, even when the server offers STARTTLS
  optional,  // STARTTLS when the server offers it, plain otherwise
  required,  // STARTTLS or no delivery
};

struct SmtpOptions {
  /// What libcurl connects to: "smtp://host:port" or "smtps://host:port",
  /// plus "/name" when the URL named the EHLO host; never credentials.
  std::string url;
  /// "smtp://host:port" without path or credentials, for logs and errors.
  std::string endpoint;
  std::string host;  // an IPv6 address keeps its brackets
  int port = 25;
  bool implicit_tls = false;               // smtps://: TLS from the first byte
  StartTls starttls = StartTls::optional;  // smtp:// only
  std::string username;                    // percent-decoded; empty: no AUTH
  std::string password;                    // percent-decoded; never logged
  std::string ca_file;  // PEM file of CAs to trust instead of the system's; empty: system
  long connect_timeout_ms = 10'000;
  long timeout_ms = 60'000;  // the whole delivery, connection included
};

/// Parses `smtp://[user[:password]@]host[:port][/ehlo-name][?starttls=MODE]`
/// or the same with `smtps://` (port 465 by default instead of 25; starttls
/// is then rejected, TLS being implicit). MODE is required, optional or off;
/// the default is optional, and required when the URL has user info, so that
/// a password never crosses the network in clear unless starttls=off says so. User and password are
/// percent-decoded, so "%40" and
/// "%3A" stand for '@' and ':'. The host is a name, an IPv4 address or an
/// IPv6 address in brackets; the port is 1 to 65535; an unknown query key,
/// a fragment or a path with more than a host name is `invalid`. Error
/// messages never repeat the URL, which may hold a password. ca_file and
/// the timeouts keep their defaults: they are separate settings.
Result<SmtpOptions> parse_smtp_url(std::string_view url);

}  // namespace depesche::mail
