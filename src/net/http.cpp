#include "net/http.hpp"

#include <strings.h>

namespace depesche::net {

Method parse_method(std::string_view t) {
  if (t == "GET") return Method::get;
  if (t == "HEAD") return Method::head;
  if (t == "POST") return Method::post;
  if (t == "PUT") return Method::put;
  if (t == "PATCH") return Method::patch;
  if (t == "DELETE") return Method::del;
  if (t == "OPTIONS") return Method::options;
  return Method::other;
}

const char* to_string(Method m) {
  switch (m) {
    case Method::get: return "GET";
    case Method::head: return "HEAD";
    case Method::post: return "POST";
    case Method::put: return "PUT";
    case Method::patch: return "PATCH";
    case Method::del: return "DELETE";
    case Method::options: return "OPTIONS";
    case Method::other: return "OTHER";
  }
  return "OTHER";
}

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

std::optional<std::string_view> Request::cookie(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k != "cookie") continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto item = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      auto eq = item.find('=');
      if (eq == std::string_view::npos || item.substr(0, eq) != name) continue;
      auto value = item.substr(eq + 1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      return value;
    }
  }
  return std::nullopt;
}

std::string_view Request::param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return {};
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    auto eq = part.find('=');
    std::string key;
    if (!percent_decode(part.substr(0, eq), key, true) || key != name) continue;
    std::string value;
    if (eq != std::string_view::npos && !percent_decode(part.substr(eq + 1), value, true)) continue;
    return value;
  }
  return std::nullopt;
}

std::string_view Response::find_header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), name.size()) == 0) return v;
  return {};
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    std::string k, v;
    if (!percent_decode(part.substr(0, eq), k, true)) continue;
    if (eq != std::string_view::npos && !percent_decode(part.substr(eq + 1), v, true)) continue;
    out.emplace_back(std::move(k), std::move(v));
  }
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

namespace {

bool is_alpha_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986 reg-name: unreserved, sub-delims and %XX; IPv4 addresses are
// reg-names too as far as the characters go.
bool is_reg_name(std::string_view s) {
  static constexpr std::string_view kAllowed = "-._~!$&'()*+,;=";
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (is_alpha_digit(c) || kAllowed.find(c) != std::string_view::npos) continue;
    if (c == '%' && i + 2 < s.size() && is_hex_digit(s[i + 1]) && is_hex_digit(s[i + 2])) {
      i += 2;
      continue;
    }
    return false;
  }
  return true;
}

// The inside of "[...]": an IPv6 address (hex digits, colons, and dots of
// an embedded IPv4 address). IPvFuture literals are not accepted.
bool is_ipv6_literal(std::string_view s) {
  if (s.size() < 2) return false;
  for (char c : s)
    if (!is_hex_digit(c) && c != ':' && c != '.') return false;
  return s.find(':') != std::string_view::npos;
}

bool is_port(std::string_view s) {
  if (s.size() > 5) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// RFC 9110 5.6.2 token characters.
bool is_token(std::string_view s) {
  static constexpr std::string_view kAllowed = "!#$%&'*+-.^_`|~";
  if (s.empty()) return false;
  for (char c : s)
    if (!is_alpha_digit(c) && kAllowed.find(c) == std::string_view::npos) return false;
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// The coding names of every Transfer-Encoding line in order, lower-cased and
// without parameters; nullopt when one is not a token.
std::optional<std::vector<std::string>> transfer_codings(
    const std::vector<std::string_view>& values) {
  std::vector<std::string> codings;
  for (std::string_view value : values) {
    while (true) {
      auto comma = value.find(',');
      std::string_view element = trim_ows(value.substr(0, comma));
      // RFC 9110 5.6.1: empty list elements are ignored, not errors.
      if (!element.empty()) {
        std::string_view name = trim_ows(element.substr(0, element.find(';')));
        if (!is_token(name)) return std::nullopt;
        codings.push_back(lower_ascii(name));
      }
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return codings;
}

}  // namespace

bool is_valid_host(std::string_view value) {
  std::string_view port;
  if (value.starts_with('[')) {
    auto close = value.find(']');
    if (close == std::string_view::npos || !is_ipv6_literal(value.substr(1, close - 1)))
      return false;
    std::string_view rest = value.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    if (!rest.empty()) port = rest.substr(1);
  } else {
    auto colon = value.find(':');
    if (!is_reg_name(value.substr(0, colon))) return false;
    if (colon != std::string_view::npos) port = value.substr(colon + 1);
  }
  return is_port(port);
}

std::optional<FramingError> check_host(const std::vector<std::string_view>& hosts, bool http11) {
  if (hosts.empty()) {
    if (!http11) return std::nullopt;  // HTTP/1.0 predates Host
    return FramingError{400, "Missing Host header (required in HTTP/1.1)"};
  }
  if (hosts.size() > 1) return FramingError{400, "More than one Host header"};
  if (!is_valid_host(hosts.front())) return FramingError{400, "Invalid Host header"};
  return std::nullopt;
}

std::optional<FramingError> check_transfer_encoding(const std::vector<std::string_view>& values,
                                                    bool has_content_length, bool http11) {
  if (values.empty()) return std::nullopt;
  if (!http11) return FramingError{400, "Transfer-Encoding is not allowed in HTTP/1.0"};
  // Which of the two frames the body depends on who reads it: refuse both.
  if (has_content_length)
    return FramingError{400, "Transfer-Encoding and Content-Length must not be sent together"};
  auto codings = transfer_codings(values);
  if (!codings) return FramingError{400, "Malformed Transfer-Encoding"};
  if (codings->empty()) return FramingError{400, "Empty Transfer-Encoding"};
  if (codings->back() != "chunked")
    return FramingError{400, "Transfer-Encoding must end in chunked"};
  for (std::size_t i = 0; i + 1 < codings->size(); ++i)
    if ((*codings)[i] == "chunked") return FramingError{400, "chunked must be applied only once"};
  // gzip, deflate, compress: valid codings this server does not decode.
  if (codings->size() > 1)
    return FramingError{501, "Transfer coding " + codings->front() + " is not implemented"};
  return std::nullopt;
}

std::optional<FramingError> check_line_folding(std::string_view head) {
  for (auto eol = head.find("\r\n"); eol != std::string_view::npos && eol + 2 < head.size();
       eol = head.find("\r\n", eol + 2)) {
    if (head[eol + 2] == ' ' || head[eol + 2] == '\t')
      return FramingError{400,
                          "Obsolete line folding (a line starting with whitespace) is refused"};
  }
  return std::nullopt;
}

}  // namespace depesche::net
