#include "api/json_body.hpp"

#include <set>

namespace depesche::api {

Result<StringFields> string_fields(const nlohmann::json& object,
                                   std::initializer_list<const char*> required,
                                   std::initializer_list<const char*> optional) {
  if (!object.is_object()) return fail(ErrorCode::invalid, "the body must be a JSON object");
  std::set<std::string_view> known(required.begin(), required.end());
  known.insert(optional.begin(), optional.end());
  StringFields out;
  for (const auto& [k, v] : object.items()) {
    if (!known.contains(k)) return fail(ErrorCode::invalid, "unknown field '" + k + "'", k);
    if (!v.is_string()) return fail(ErrorCode::invalid, k + " must be a string", k);
    out[k] = v.get<std::string>();
  }
  for (const char* r : required)
    if (!out.contains(r)) return fail(ErrorCode::invalid, std::string(r) + " is required", r);
  return out;
}

Result<StringFields> string_fields(std::string_view body,
                                   std::initializer_list<const char*> required,
                                   std::initializer_list<const char*> optional) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return fail(ErrorCode::invalid, "the body is not valid JSON");
  return string_fields(j, required, optional);
}

}  // namespace depesche::api
