// The one image rule set of articles and ticker entries (domain/image.hpp):
// every rule, each way.
#include "domain/image.hpp"

#include <gtest/gtest.h>

#include <string>

namespace depesche {
namespace {

using domain::checked_image;
using domain::Image;
using domain::ImageSize;
using domain::is_valid_image_url;
using domain::kMaxImageSide;

Image image(std::string url = "/media/harbour.jpg", int width = 800, int height = 600) {
  return Image{std::move(url), "The quay", "Agency / Photographer", width, height};
}

// The field of the error, or "" when the image passes.
std::string refused(const Image& img, ImageSize size = ImageSize::required) {
  auto r = checked_image(img, size);
  if (r) return "";
  EXPECT_EQ(r.error().code, ErrorCode::invalid);
  EXPECT_TRUE(r.error().message.starts_with(r.error().field)) << r.error().message;
  return r.error().field;
}

TEST(ImageUrl, AcceptsMediaPathsAndHttpsUrls) {
  for (std::string_view ok :
       {"/media/harbour.jpg", "/media/a", "/media/2026/05/harbour_1920-w.webp", "/media/a..b.jpg",
        "https://example.org", "https://example.org/a.jpg", "https://cdn.example.org:8443/p.jpg",
        "https://example.org/a.jpg?w=640&h=480#top", "https://example.org/bild-m%C3%BCller.jpg",
        "https://example.org/Bild_Müller.jpg"}) {
    EXPECT_TRUE(is_valid_image_url(ok)) << ok;
  }
}

TEST(ImageUrl, RefusesOtherSchemesAndRelativePaths) {
  for (std::string_view bad :
       {"", "http://example.org/a.jpg", "javascript:alert(1)", "data:image/png;base64,AAAA",
        "HTTPS://example.org/a.jpg", "//example.org/a.jpg", "media/a.jpg", "/static/a.jpg",
        "/media", "/mediax/a.jpg", "ftp://example.org/a.jpg", " https://example.org/a.jpg"}) {
    EXPECT_FALSE(is_valid_image_url(bad)) << bad;
  }
}

TEST(ImageUrl, RefusesMediaPathsThatCouldLeaveTheMediaDirectory) {
  for (std::string_view bad :
       {"/media/", "/media/../depesche.db", "/media/a/../../b", "/media/..", "/media/.hidden",
        "/media/a//b.jpg", "/media/a/", "/media//etc/passwd", "/media/%2e%2e/depesche.db",
        "/media/a\\..\\b", "/media/a b.jpg", "/media/a.jpg?x=1", "/media/a\".jpg",
        "/media/bild-ä.jpg"}) {
    EXPECT_FALSE(is_valid_image_url(bad)) << bad;
  }
}

TEST(ImageUrl, RefusesHttpsUrlsThatCouldBreakOutOfAnAttribute) {
  for (std::string_view bad :
       {"https://", "https:///a.jpg", "https://?x", "https://#x", "https://example.org/a\".jpg",
        "https://example.org/a'.jpg", "https://example.org/<script>", "https://example.org/a>b",
        "https://example.org/a b.jpg", "https://example.org/a\\b", "https://example.org/a`b",
        "https://example.org/a\tb", "https://example.org/a\nb", "https://example.org/a\x7f"}) {
    EXPECT_FALSE(is_valid_image_url(bad)) << bad;
  }
}

TEST(ImageUrl, IsBoundedInBytes) {
  std::string media = "/media/" + std::string(domain::kMaxImageUrlBytes - 7, 'a');
  std::string https = "https://example.org/" + std::string(domain::kMaxImageUrlBytes - 20, 'a');
  EXPECT_TRUE(is_valid_image_url(media));
  EXPECT_TRUE(is_valid_image_url(https));
  EXPECT_FALSE(is_valid_image_url(media + "a"));
  EXPECT_FALSE(is_valid_image_url(https + "a"));
}

TEST(CheckedImage, PassesAValidImageWithItsTextsTrimmed) {
  auto r = checked_image(Image{"/media/a.jpg", "  The quay \r\n", "\tAgency ", 1, kMaxImageSide},
                         ImageSize::required);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (Image{"/media/a.jpg", "The quay", "Agency", 1, kMaxImageSide}));
}

TEST(CheckedImage, NamesTheUrlWhenItIsMissingOrBad) {
  EXPECT_EQ(refused(image("")), "image.url");
  EXPECT_EQ(refused(image("javascript:alert(1)")), "image.url");
  EXPECT_EQ(refused(image("/media/../depesche.db")), "image.url");
  EXPECT_EQ(refused(image(""), ImageSize::optional), "image.url");
}

TEST(CheckedImage, BoundsCaptionAndCredit) {
  Image img = image();
  img.caption = std::string(domain::kMaxImageCaptionChars, 'c');
  img.credit = std::string(domain::kMaxImageCreditChars, 'c');
  EXPECT_EQ(refused(img), "");
  img.caption += "c";
  EXPECT_EQ(refused(img), "image.caption");
  img = image();
  img.credit = std::string(domain::kMaxImageCreditChars + 1, 'c');
  EXPECT_EQ(refused(img), "image.credit");
  // Characters, not bytes: 400 umlauts fit.
  img = image();
  std::string umlauts;
  for (std::size_t i = 0; i < domain::kMaxImageCaptionChars; ++i) umlauts += "ä";
  img.caption = umlauts;
  EXPECT_EQ(refused(img), "");
}

TEST(CheckedImage, RefusesCaptionsAndCreditsThatAreNotCleanText) {
  Image img = image();
  img.caption = "bell\x07";
  EXPECT_EQ(refused(img), "image.caption");
  img = image();
  img.credit = "bad \xff utf8";
  EXPECT_EQ(refused(img), "image.credit");
  img = image();
  img.caption = "";
  img.credit = "";
  EXPECT_EQ(refused(img), "") << "caption and credit are optional";
}

TEST(CheckedImage, NeedsTheSizeWhereItIsRequired) {
  EXPECT_EQ(refused(image("/media/a.jpg", 1, 1)), "");
  EXPECT_EQ(refused(image("/media/a.jpg", kMaxImageSide, kMaxImageSide)), "");
  EXPECT_EQ(refused(image("/media/a.jpg", 0, 0)), "image.width");
  EXPECT_EQ(refused(image("/media/a.jpg", 0, 10)), "image.width");
  EXPECT_EQ(refused(image("/media/a.jpg", 10, 0)), "image.height");
  EXPECT_EQ(refused(image("/media/a.jpg", -1, 10)), "image.width");
  EXPECT_EQ(refused(image("/media/a.jpg", 10, -1)), "image.height");
  EXPECT_EQ(refused(image("/media/a.jpg", kMaxImageSide + 1, 10)), "image.width");
  EXPECT_EQ(refused(image("/media/a.jpg", 10, kMaxImageSide + 1)), "image.height");
}

TEST(CheckedImage, TakesAnUnknownSizeWhereItIsOptionalButNotHalfASize) {
  auto optional = ImageSize::optional;
  EXPECT_EQ(refused(image("/media/a.jpg", 0, 0), optional), "");
  EXPECT_EQ(refused(image("/media/a.jpg", 640, 480), optional), "");
  EXPECT_EQ(refused(image("/media/a.jpg", 640, 0), optional), "image.height");
  EXPECT_EQ(refused(image("/media/a.jpg", 0, 480), optional), "image.width");
  EXPECT_EQ(refused(image("/media/a.jpg", -1, 0), optional), "image.width");
  EXPECT_EQ(refused(image("/media/a.jpg", 0, kMaxImageSide + 1), optional), "image.height");
}

TEST(EntryImageError, NamesTheWholeImageExceptForCaptionAndCredit) {
  auto field_of = [](std::string field) {
    return domain::as_entry_image_error(Error{ErrorCode::invalid, field + " is wrong", field})
        .field;
  };
  EXPECT_EQ(field_of("image.url"), "image");
  EXPECT_EQ(field_of("image.width"), "image");
  EXPECT_EQ(field_of("image.alt"), "image");
  EXPECT_EQ(field_of("image"), "image");
  EXPECT_EQ(field_of("image.caption"), "image.caption");
  EXPECT_EQ(field_of("image.credit"), "image.credit");
  EXPECT_EQ(field_of("body"), "body");
  auto e = domain::as_entry_image_error(
      Error{ErrorCode::invalid, "image.url must be a /media/ path", "image.url"});
  EXPECT_EQ(e.message, "image.url must be a /media/ path");
}

}  // namespace
}  // namespace depesche
