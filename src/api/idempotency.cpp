#include "api/idempotency.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/api_errors.hpp"
#include "domain/secrets.hpp"

namespace depesche::api {

using net::Method;
using net::Request;
using net::Response;

namespace {

// Expired answers are forgotten a few at a time by the POSTs that carry a
// key, so the table stays bounded without a sweeper of its own.
constexpr int kForgetPerRequest = 20;

bool valid_key(std::string_view key, std::size_t max_length) {
  if (key.empty() || key.size() > max_length) return false;
  return std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string headers_json(const Response& r) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, value] : r.headers) out.push_back({name, value});
  return out.dump();
}

Response replay(const domain::RememberedResponse& remembered) {
  Response r;
  r.status = remembered.status;
  auto headers = nlohmann::json::parse(remembered.headers, nullptr, false);
  if (headers.is_array())
    for (const auto& h : headers)
      if (h.is_array() && h.size() == 2 && h[0].is_string() && h[1].is_string())
        r.headers.emplace_back(h[0].get<std::string>(), h[1].get<std::string>());
  r.body = remembered.body;
  r.header("Idempotent-Replayed", "true");
  return r;
}

}  // namespace

void IdempotentPosts::cover(net::Router& router) {
  router.decorate(
      [](const net::Route& r) {
        return r.pattern.starts_with("/api/") &&
               std::find(r.methods.begin(), r.methods.end(), Method::post) != r.methods.end();
      },
      [this](net::Handler inner) -> net::Handler {
        return [this, inner = std::move(inner)](Request& req) { return handle(req, inner); };
      });
}

Response IdempotentPosts::handle(Request& req, const net::Handler& inner) {
  std::string_view key = req.header("idempotency-key");
  if (req.method != Method::post || key.empty()) return inner(req);
  if (!valid_key(key, limits_.max_key_length))
    return error_response(400, "invalid",
                          "Idempotency-Key must be 1 to " + std::to_string(limits_.max_key_length) +
                              " visible ASCII characters",
                          "Idempotency-Key");
  auto caller = callers_.identify(req, true);
  std::string scope;
  if (caller && caller->token_id)
    scope = "token:" + std::to_string(*caller->token_id);
  else if (caller && caller->account)
    scope = "account:" + std::to_string(caller->account->id);
  // Anonymous, or refused (the handler gives the reason): no key applies.
  if (scope.empty()) return inner(req);

  const std::string fingerprint = domain::sha256_hex(std::string(net::to_string(req.method)) + " " +
                                                     req.path + "?" + req.query + "\n" + req.body);
  const Millis now = now_millis();
  std::optional<Response> answer;
  auto done = store_.transact([&]() -> Result<void> {
    auto& keys = store_.idempotency();
    const Millis expired = now - limits_.ttl.count();
    if (auto r = keys.forget_before(expired, kForgetPerRequest); !r)
      return std::unexpected(r.error());
    auto seen = keys.find(scope, key);
    if (!seen) return std::unexpected(seen.error());
    if (*seen && (*seen)->created_at < expired) {
      if (auto r = keys.forget(scope, key); !r) return r;
    } else if (*seen) {
      answer = (*seen)->fingerprint == fingerprint
                   ? replay(**seen)
                   : error_response(422, "invalid",
                                    "this Idempotency-Key was used for a different request",
                                    "Idempotency-Key");
      return {};
    }
    answer = inner(req);
    // A server fault is not an answer to keep: the retry should be tried
    // again, and whatever the attempt wrote goes with this unit.
    if (answer->status >= 500) return fail(ErrorCode::unavailable, "not remembered");
    return keys.remember({std::string(scope), std::string(key), fingerprint, answer->status,
                          headers_json(*answer), answer->body, now});
  });
  if (done) return std::move(*answer);
  if (answer && answer->status >= 500) return std::move(*answer);
  if (done.error().code == ErrorCode::conflict)
    // Another node took the key between our look and our write: that
    // request is running or has just answered.
    return error_response(409, "conflict",
                          "a request with this Idempotency-Key is in progress; retry it",
                          "Idempotency-Key");
  return error_response(done.error());
}

}  // namespace depesche::api
