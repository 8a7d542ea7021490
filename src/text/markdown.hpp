#pragma once

#include <string>
#include <string_view>

namespace depesche::text {

/// Renders GitHub-flavoured Markdown (tables, strikethrough, autolinks) to
/// HTML with cmark-gfm in safe mode: raw HTML and javascript:/data: links are
/// dropped, so the result may be inserted into a page unescaped.
std::string markdown_to_html(std::string_view markdown);

}  // namespace depesche::text
