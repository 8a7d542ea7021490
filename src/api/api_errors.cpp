#include "api/api_errors.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "net/error_status.hpp"

namespace depesche::api {

std::optional<std::int64_t> parse_id(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

bool is_json(const net::Request& req) {
  return req.header("content-type").starts_with("application/json");
}

net::Response unsupported_media_type() {
  return error_response(415, "unsupported_media_type", "send Content-Type: application/json");
}

net::Response json_response(int status, std::string body) {
  net::Response r(status, "application/json; charset=utf-8", std::move(body));
  r.header("Cache-Control", "no-store");
  r.header("X-Content-Type-Options", "nosniff");
  return r;
}

net::Response error_response(int status, std::string_view code, std::string_view message,
                             std::string_view field, std::string_view reason) {
  nlohmann::json e = {{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  if (!reason.empty()) e["reason"] = reason;
  auto r = json_response(status, nlohmann::json{{"error", e}}.dump());
  if (status == 401) r.header("WWW-Authenticate", "Bearer");
  return r;
}

net::Response error_response(const Error& error) {
  // Internal details stay in the log; the client gets a generic message.
  if (error.code == ErrorCode::internal) return error_response(500, "internal", "internal error");
  auto r = error_response(net::status_for(error.code), to_string(error.code), error.message,
                          error.field, error.reason);
  if (error.code == ErrorCode::rate_limited)
    r.header("Retry-After", std::to_string(std::max(1LL, (error.retry_after_ms + 999) / 1000)));
  else if (error.code == ErrorCode::unavailable)
    r.header("Retry-After", "1");  // busy or briefly unwritable: soon, not at once
  return r;
}

}  // namespace depesche::api
