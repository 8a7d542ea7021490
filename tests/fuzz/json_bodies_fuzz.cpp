// Every JSON body the API reads, through the code that reads it: articles
// (create and change), ticker entries, images, and the string-field
// objects of the auth and live-blog routes. Whatever the bytes, each
// parser answers a value or an error that names what is wrong; none throws
// or crashes, and no accepted value breaks the limits the codec promises.

#include <optional>
#include <string>

#include "api/json_body.hpp"
#include "api/json_codec.hpp"
#include "api/ticker_codec.hpp"
#include "fuzz_target.hpp"

using namespace depesche;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body = fuzz::as_text(data, size);
  for (bool creating : {true, false}) {
    std::optional<int> version;
    auto article = api::parse_article_input(body, creating, version);
    if (!article) fuzz::expect(!article.error().message.empty(), "article error explains", body);
  }
  auto entry = api::parse_entry_input(body);
  if (!entry) fuzz::expect(!entry.error().message.empty(), "entry error explains", body);
  // The field sets the routes ask for (auth register and login, live blogs).
  auto fields = api::string_fields(body, {"email", "password", "display_name", "edition"});
  if (fields) fuzz::expect(fields->size() == 4, "exactly the register fields", body);
  auto blog = api::string_fields(body, {"slug", "edition", "title"}, {"teaser"});
  if (blog) fuzz::expect(blog->size() >= 3 && blog->size() <= 4, "exactly the blog fields", body);
  (void)api::string_fields(body, {}, {"display_name", "edition"});
  return 0;
}
