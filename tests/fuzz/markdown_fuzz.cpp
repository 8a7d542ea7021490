// Markdown as editors write it (article bodies, ticker entries): whatever
// the text, rendering terminates, and the HTML it gives carries no script,
// no event-handler markup and no script URL (safe mode and the tag filter).

#include <algorithm>
#include <cctype>
#include <string>

#include "fuzz_target.hpp"
#include "text/markdown.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = fuzz::as_text(data, size);
  std::string html = depesche::text::markdown_to_html(input);
  std::transform(html.begin(), html.end(), html.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* bad :
       {"<script", "<iframe", "<object", "<embed", "<svg", "<style",
        "href=\"javascript:", "src=\"javascript:", "href=\"vbscript:", "href=\"data:text"})
    fuzz::expect(html.find(bad) == std::string::npos, bad, input);
  return 0;
}
