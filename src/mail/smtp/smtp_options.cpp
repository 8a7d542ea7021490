#include "mail/smtp/smtp_options.hpp"

#include <optional>

namespace depesche::mail {
namespace {
bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}

bool is_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.front() == '-') return false;
  for (char c : s)
    if (!is_name_char(c)) return false;
  return true;
}

bool is_ipv6_literal(std::string_view s) {
  if (s.size() < 4 || s.front() != '[' || s.back() != ']') return false;
  for (char c : s.substr(1, s.size() - 2))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
          c == '.'))
      return false;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex_value(s[i + 1]);
    int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

std::unexpected<Error> bad(std::string message) {
  return fail(ErrorCode::invalid, "SMTP URL: " + std::move(message));
}

std::optional<int> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  int port = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return port;
}

Result<void> parse_query(std::string_view query, SmtpOptions& options) {
  bool seen_starttls = false;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (key != "starttls")
      return bad("unknown option '" + std::string(key) + "' (the only option is starttls)");
    if (seen_starttls) return bad("starttls is given twice");
    seen_starttls = true;
    if (options.implicit_tls)
      return bad("starttls applies to smtp:// only; smtps:// uses TLS from the start");
    if (value == "required") {
      options.starttls = StartTls::required;
    } else if (value == "optional") {
      options.starttls = StartTls::optional;
    } else if (value == "off") {
      options.starttls = StartTls::off;
    } else {
      return bad("starttls must be required, optional or off");
    }
  }
  return {};
}
}  // namespace

Result<SmtpOptions> parse_smtp_url(std::string_view url) {
  SmtpOptions options;
  std::string_view rest;
  if (starts_with_nocase(url, "smtps://")) {
    options.implicit_tls = true;
    options.port = 465;
    rest = url.substr(8);
  } else if (starts_with_nocase(url, "smtp://")) {
    rest = url.substr(7);
  } else {
    return bad("the scheme must be smtp:// or smtps://");
  }
  if (rest.find('#') != std::string_view::npos) return bad("a fragment ('#') is not allowed");
  std::size_t query_at = rest.find('?');
  std::string_view query =
      query_at == std::string_view::npos ? std::string_view{} : rest.substr(query_at + 1);
  rest = rest.substr(0, query_at);
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path =
      slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);

  // The last '@' ends the user info, so a password with a raw '@' still works.
  std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    std::size_t colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon));
    auto password = colon == std::string_view::npos ? std::optional<std::string>(std::string{})
                                                    : percent_decode(userinfo.substr(colon + 1));
    if (!user || !password) return bad("bad percent-encoding in the user name or password");
    if (user->empty()) return bad("the user name before '@' is empty");
    options.username = std::move(*user);
    options.password = std::move(*password);
  }

  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address lacks its ']'");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      return bad("unexpected text after the IPv6 address");
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
    if (!is_ipv6_literal(host)) return bad("the IPv6 address is malformed");
  } else {
    std::size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      has_port = true;
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty()) return bad("the host is missing");
    if (!is_host_name(host)) return bad("the host may hold letters, digits, '-' and '.'");
  }
  if (has_port) {
    auto number = parse_port(port);
    if (!number) return bad("the port must be a number from 1 to 65535");
    options.port = *number;
  }
  if (!path.empty() && !is_host_name(path))
    return bad("the path may only be the host name to send in EHLO");
  // A password must not cross the network in clear: with user info, STARTTLS
  // is required unless the URL asks otherwise (starttls=off, e.g. a relay
  // on loopback).
  if (!options.username.empty() && !options.implicit_tls) options.starttls = StartTls::required;
  if (auto ok = parse_query(query, options); !ok) return std::unexpected(ok.error());

  options.host = std::string(host);
  options.endpoint = std::string(options.implicit_tls ? "smtps://" : "smtp://") + options.host +
                     ":" + std::to_string(options.port);
  options.url = options.endpoint;
  if (!path.empty()) options.url += "/" + std::string(path);
  return options;
}

}  // namespace depesche::mail
