#pragma once
// The image object of articles and ticker entries, one JSON form for both
// (DESIGN.md "Resources"): {url, caption, credit, width, height,
// renditions[]}. Rules live in domain::checked_image; this only reads and
// writes the shape.

#include <nlohmann/json_fwd.hpp>
#include <optional>

#include "base/error.hpp"
#include "domain/image.hpp"

namespace depesche::api {

/// The image object, or null without an image. `renditions` is empty until
/// the media pipeline makes them.
nlohmann::json image_json(const std::optional<domain::Image>& image);

/// An "image" member of a request: null (remove the image) gives an empty
/// optional. Unknown members and wrong types are invalid, naming the member
/// ("image.url", "image.exif"); `renditions` is read-only and ignored, so a
/// client may send back what it read. Sizes out of range are kept out of
/// range for checked_image to refuse.
Result<std::optional<domain::Image>> parse_image(const nlohmann::json& value);

}  // namespace depesche::api
