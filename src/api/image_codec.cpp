#include "api/image_codec.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

namespace depesche::api {

using nlohmann::json;

json image_json(const std::optional<domain::Image>& image) {
  if (!image) return nullptr;
  return {{"url", image->url},     {"caption", image->caption}, {"credit", image->credit},
          {"width", image->width}, {"height", image->height},   {"renditions", json::array()}};
}

namespace {

// A side as an int that is out of the rule's range exactly when the sent
// number is, however large: checked_image then refuses it in its words.
int side_of(const json& v) {
  constexpr std::int64_t kOut = domain::kMaxImageSide + 1;
  if (v.is_number_unsigned() &&
      v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return static_cast<int>(kOut);
  return static_cast<int>(std::clamp<std::int64_t>(v.get<std::int64_t>(), -1, kOut));
}

}  // namespace

Result<std::optional<domain::Image>> parse_image(const json& value) {
  if (value.is_null()) return std::optional<domain::Image>();
  if (!value.is_object())
    return fail(ErrorCode::invalid, "image must be an object or null", "image");
  domain::Image img;
  for (const auto& [key, v] : value.items()) {
    std::string field = "image." + key;
    if (key == "url" || key == "caption" || key == "credit") {
      if (!v.is_string()) return fail(ErrorCode::invalid, field + " must be a string", field);
      (key == "url" ? img.url : key == "caption" ? img.caption : img.credit) = v.get<std::string>();
    } else if (key == "width" || key == "height") {
      if (!v.is_number_integer())
        return fail(ErrorCode::invalid, field + " must be an integer", field);
      (key == "width" ? img.width : img.height) = side_of(v);
    } else if (key == "renditions") {
      if (!v.is_array()) return fail(ErrorCode::invalid, field + " must be an array", field);
    } else {
      return fail(ErrorCode::invalid, "unknown field '" + field + "'", field);
    }
  }
  return std::optional<domain::Image>(std::move(img));
}

}  // namespace depesche::api
