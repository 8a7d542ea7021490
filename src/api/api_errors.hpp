#pragma once
// The JSON error shape {"error":{"code":"...","message":"...","field":"...",
// "reason":"..."}} (field and reason only when there is one); the status
// comes from net::status_for, shared with the pages.

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/error.hpp"
#include "net/http.hpp"

namespace depesche::api {

net::Response error_response(const Error& error);
net::Response error_response(int status, std::string_view code, std::string_view message,
                             std::string_view field = {}, std::string_view reason = {});
/// A positive decimal id ("42"); nullopt for anything else.
std::optional<std::int64_t> parse_id(std::string_view text);

/// True when the request says its body is JSON.
bool is_json(const net::Request& req);

/// 415 asking for Content-Type: application/json.
net::Response unsupported_media_type();

/// A JSON body with the API's headers (no caching unless the caller adds it).
net::Response json_response(int status, std::string body);

}  // namespace depesche::api
