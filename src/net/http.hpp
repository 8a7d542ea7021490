#pragma once
// The HTTP request and response as handlers see them: plain values, no Beast,
// so web/ and api/ compile quickly and can be unit-tested without sockets.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace depesche::net {

enum class Method { get, head, post, put, patch, del, options, other };

Method parse_method(std::string_view text);
const char* to_string(Method m);

struct Request {
  Method method = Method::get;
  std::string target;                                        // as sent: path plus query
  std::string path;                                          // percent-decoded path
  std::string query;                                         // raw query string without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::vector<std::pair<std::string, std::string>> params;  // from the route pattern
  std::string request_id;
  std::string remote_address;
  std::string_view route;  // the matched route's pattern (owned by the router)
  std::size_t route_index = static_cast<std::size_t>(-1);  // for metrics

  /// The first header of that (lower-case) name, or empty.
  std::string_view header(std::string_view lower_name) const;
  /// A cookie's value by name (from every Cookie header), or nullopt.
  std::optional<std::string_view> cookie(std::string_view name) const;
  /// A path parameter by name, or empty.
  std::string_view param(std::string_view name) const;
  /// A decoded query parameter, or nullopt when absent.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// When set, sent instead of `body` without a copy (cached pages, assets).
  std::shared_ptr<const std::string> shared_body;
  /// Pre-serialised header lines, each ending in CRLF, sent after `headers`
  /// without a copy (cached pages keep theirs ready).
  std::shared_ptr<const std::string> shared_head;

  Response() = default;
  Response(int s, std::string content_type, std::string b) : status(s), body(std::move(b)) {
    headers.emplace_back("Content-Type", std::move(content_type));
  }
  Response& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  std::string_view body_view() const { return shared_body ? *shared_body : body; }
  std::string_view find_header(std::string_view name) const;
};

/// The standard reason phrase, "Unknown" for codes we do not send.
const char* reason_phrase(int status);

/// Decodes %XX and (when `plus_is_space`) '+'; false when an escape is malformed.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

/// Splits "a=1&b=2" into decoded pairs; malformed escapes are skipped.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

/// Appends the percent-encoded form of `text` for use in a URL query value.
std::string url_encode(std::string_view text);

/// A request head the server refuses before reading any body: the status to
/// answer and a message for the client. The connection is closed after the
/// answer, since where the next request would start is then unknown.
struct FramingError {
  int status = 400;
  std::string message;
};

/// True when `value` is `uri-host [":" port]` (RFC 3986 3.2.2): a reg-name,
/// an IPv4 address or a bracketed IPv6 literal, and at most five port digits.
bool is_valid_host(std::string_view value);

/// RFC 9112 3.2: an HTTP/1.1 request has exactly one Host field line, and
/// any request's Host is valid. `hosts` holds the value of each Host line.
std::optional<FramingError> check_host(const std::vector<std::string_view>& hosts, bool http11);

/// RFC 9112 6.1 and 6.3 for a request: with Transfer-Encoding (`values`, one
/// per field line) the codings must end in `chunked`, applied once, and no
/// Content-Length may be present; anything else is a smuggling risk (400).
/// No coding other than chunked is supported (501). HTTP/1.0 requests may
/// not use Transfer-Encoding at all.
std::optional<FramingError> check_transfer_encoding(const std::vector<std::string_view>& values,
                                                    bool has_content_length, bool http11);

/// RFC 9112 5.2 and 2.2 for a request `head` as received (request line and
/// field lines, each with its CRLF): a line that starts with a space or tab
/// continues the one before it (obsolete line folding). Beast joins such
/// lines; a proxy in front may read them differently (a smuggling risk), so
/// they are refused (400), as the RFC allows.
std::optional<FramingError> check_line_folding(std::string_view head);

}  // namespace depesche::net
