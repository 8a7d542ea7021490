#pragma once
// An image shown with an article or a ticker entry, and the one rule set
// for it. Articles and entries (and later anything else with a photo) take
// images from editors through checked_image only.

#include <cstddef>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace depesche::domain {

struct Image {
  std::string url;      // "/media/harbour.svg" or an https:// URL
  std::string caption;  // what the photo shows, in the article's language
  std::string credit;   // "Agency / Photographer", shown as "© credit"
  int width = 0;        // pixels; 0 with height 0: not known
  int height = 0;

  friend bool operator==(const Image&, const Image&) = default;
};

/// The bounds of the image rules.
inline constexpr std::size_t kMaxImageUrlBytes = 2000;
inline constexpr std::size_t kMaxImageCaptionChars = 400;
inline constexpr std::size_t kMaxImageCreditChars = 200;
inline constexpr int kMaxImageSide = 20000;  // pixels, width or height

/// Whether an image's size must be known. An article's hero image needs it
/// (the page reserves its space, schema.org and Open Graph state it); a
/// ticker entry's image may come from the console without one.
enum class ImageSize { required, optional };

/// A path under /media/ (segments of letters, digits, '.', '_' and '-', none
/// empty or starting with '.') or an https:// URL with a host and no
/// quotes, angle brackets, backslashes, backticks, spaces or control
/// characters; at most kMaxImageUrlBytes either way.
bool is_valid_image_url(std::string_view url);

/// The image as stored: caption and credit trimmed (as checked_text does).
/// Invalid when the url is missing or not is_valid_image_url ("image.url"),
/// the caption or credit is not clean text within its bound
/// ("image.caption", "image.credit"), or the size is out of bounds
/// ("image.width", "image.height"): each side 1 to kMaxImageSide, or both 0
/// when the size is optional. Messages start with the field's name.
Result<Image> checked_image(const Image& image, ImageSize size);

/// Ticker entries have always named the whole "image" in errors about its
/// url, size or fields (API clients and the editor console match on it),
/// where articles name the part; captions and credits are named alike.
/// Renames such an error's field to "image"; the message still names the
/// part ("image.url must ..."). Other errors pass unchanged.
Error as_entry_image_error(Error e);

}  // namespace depesche::domain
