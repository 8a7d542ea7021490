#pragma once
// Reading a write request's JSON body: the checks every endpoint makes
// before it looks at fields.

#include <expected>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/api_errors.hpp"
#include "net/http.hpp"

namespace depesche::api {

/// The body as a JSON object, or the answer to give instead: 415 without
/// Content-Type: application/json, 400 when it is not a JSON object.
inline std::expected<nlohmann::json, net::Response> json_object_body(const net::Request& req) {
  if (!is_json(req)) return std::unexpected(unsupported_media_type());
  nlohmann::json j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::unexpected(error_response(400, "invalid", "the body must be a JSON object"));
  return j;
}

using StringFields = std::map<std::string, std::string>;

/// A JSON object's fields, all strings: an unknown field, another type or
/// a missing required field is an error naming the field.
Result<StringFields> string_fields(const nlohmann::json& object,
                                   std::initializer_list<const char*> required,
                                   std::initializer_list<const char*> optional = {});
/// The same for a body that must parse as a JSON object first.
Result<StringFields> string_fields(std::string_view body,
                                   std::initializer_list<const char*> required,
                                   std::initializer_list<const char*> optional = {});

}  // namespace depesche::api
