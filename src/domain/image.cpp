#include "domain/image.hpp"

#include <algorithm>
#include <utility>

#include "domain/input_rules.hpp"

namespace depesche::domain {
namespace {

bool is_media_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// "a/b.jpg" after "/media/": what the media route can serve, and nothing
// that climbs out of the media directory however a browser resolves it.
bool is_media_path(std::string_view rest) {
  if (rest.empty()) return false;
  for (std::size_t start = 0; start <= rest.size();) {
    auto end = std::min(rest.find('/', start), rest.size());
    std::string_view segment = rest.substr(start, end - start);
    if (segment.empty() || segment.front() == '.' ||
        !std::all_of(segment.begin(), segment.end(), is_media_name_char))
      return false;
    start = end + 1;
  }
  return true;
}

// An https URL goes into src attributes and JSON-LD as it is: nothing in it
// may end an attribute, open a tag or hide in a log line.
bool is_https_url(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) return false;
  bool clean = std::none_of(url.begin(), url.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' || c == '`' || c == ' ' ||
           u < 0x20 || u == 0x7f;
  });
  if (!clean) return false;
  std::string_view rest = url.substr(kScheme.size());
  std::string_view host = rest.substr(0, rest.find_first_of("/?#"));
  return !host.empty();
}

bool is_side(int n) { return n >= 1 && n <= kMaxImageSide; }

}  // namespace

bool is_valid_image_url(std::string_view url) {
  if (url.empty() || url.size() > kMaxImageUrlBytes) return false;
  constexpr std::string_view kMedia = "/media/";
  if (url.starts_with(kMedia)) return is_media_path(url.substr(kMedia.size()));
  return is_https_url(url);
}

Result<Image> checked_image(const Image& image, ImageSize size) {
  if (image.url.empty())
    return fail(ErrorCode::invalid, "image.url is required", "image.url", reason::empty);
  if (!is_valid_image_url(image.url))
    return fail(ErrorCode::invalid,
                "image.url must be a /media/ path or an https:// URL of at most " +
                    std::to_string(kMaxImageUrlBytes) + " bytes",
                "image.url", reason::bad_url);
  auto caption = checked_text(image.caption, kMaxImageCaptionChars, "image.caption", false);
  if (!caption) return std::unexpected(caption.error());
  auto credit = checked_text(image.credit, kMaxImageCreditChars, "image.credit", false);
  if (!credit) return std::unexpected(credit.error());
  // 0 × 0 is "not known" where that is allowed; a size is both sides or neither.
  bool may_be_unknown = size == ImageSize::optional;
  if (!(may_be_unknown && image.width == 0 && image.height == 0)) {
    const std::string bounds = " must be between 1 and " + std::to_string(kMaxImageSide);
    for (auto [field, side] :
         {std::pair{"image.width", image.width}, {"image.height", image.height}})
      if (!is_side(side) && !(may_be_unknown && side == 0))
        return fail(ErrorCode::invalid, field + bounds, field);
    for (auto [field, side] :
         {std::pair{"image.width", image.width}, {"image.height", image.height}})
      if (side == 0)
        return fail(ErrorCode::invalid,
                    std::string(field) + " must be given with the other side, or both be 0", field);
  }
  return Image{image.url, std::move(*caption), std::move(*credit), image.width, image.height};
}

Error as_entry_image_error(Error e) {
  if (e.field.starts_with("image.") && e.field != "image.caption" && e.field != "image.credit")
    e.field = "image";
  return e;
}

}  // namespace depesche::domain
