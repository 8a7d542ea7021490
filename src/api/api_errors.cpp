#include "api/api_errors.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace depesche::api {

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid: return 400;
    case ErrorCode::not_found: return 404;
    case ErrorCode::conflict: return 409;
    case ErrorCode::unauthorized: return 401;
    case ErrorCode::forbidden: return 403;
    case ErrorCode::rate_limited: return 429;
    case ErrorCode::unavailable: return 503;
    case ErrorCode::internal: return 500;
  }
  return 500;
}

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
                             std::string_view field) {
  nlohmann::json e = {{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  auto r = json_response(status, nlohmann::json{{"error", e}}.dump());
  if (status == 401) r.header("WWW-Authenticate", "Bearer");
  return r;
}

net::Response error_response(const Error& error) {
  // Internal details stay in the log; the client gets a generic message.
  if (error.code == ErrorCode::internal) return error_response(500, "internal", "internal error");
  auto r =
      error_response(status_for(error.code), to_string(error.code), error.message, error.field);
  if (error.code == ErrorCode::rate_limited)
    r.header("Retry-After", std::to_string(std::max(1LL, (error.retry_after_ms + 999) / 1000)));
  return r;
}

}  // namespace depesche::api
