#pragma once
// Times are Unix milliseconds (UTC) inside Depesche and RFC 3339 at the edges.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace depesche {

using Millis = std::int64_t;

Millis now_millis();
/// "2026-11-25T07:48:06Z" (seconds precision), as the API and feeds show times.
std::string format_rfc3339(Millis t);
/// "2026-11-25T07:48:06.123Z", for logs.
std::string format_rfc3339_millis(Millis t);
/// Parses RFC 3339 with a `Z` or `±hh:mm` offset; nullopt when malformed.
std::optional<Millis> parse_rfc3339(std::string_view text);
/// "Wed, 25 Nov 2026 07:48:06 GMT", for HTTP headers.
std::string format_http_date(Millis t);

}  // namespace depesche
