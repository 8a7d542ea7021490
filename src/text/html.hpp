#pragma once

#include <string>
#include <string_view>

namespace depesche::text {

/// Escapes & < > " ' for use in HTML text and quoted attribute values.
std::string html_escape(std::string_view text);

/// Makes JSON safe inside <script type="application/ld+json">: "<" becomes
/// \u003c so "</script>" can never close the element.
std::string json_for_script(std::string_view json);

/// Counts Unicode code points in UTF-8 text; -1 when the text is not valid UTF-8.
long utf8_length(std::string_view text);

}  // namespace depesche::text
