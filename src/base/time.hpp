#pragma once
// Times are Unix milliseconds (UTC) inside Depesche and RFC 3339 at the edges.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace depesche {

using Millis = std::int64_t;

/// The wall clock, UTC; plus the test clock's offset when one is set.
Millis now_millis();

/// For tests only: from now on now_millis() adds the offset in
/// milliseconds that the file at `path` holds (one decimal integer, may be
/// negative), read afresh on every call, so a test moves the server's time
/// by rewriting the file (atomically: write a new file and rename it over).
/// A missing, unreadable or malformed file leaves the offset last read
/// (0 at first). An empty path turns the test clock off. Set once at
/// start-up, from the config key testing.clock_file; nothing a request
/// sends can reach it. Costs a small file read per clock reading while on.
void use_test_clock_file(std::string path);
/// Whether a test clock file is in use.
bool test_clock_on();
/// "2026-11-25T07:48:06Z" (seconds precision), as the API and feeds show times.
std::string format_rfc3339(Millis t);
/// "2026-11-25T07:48:06.123Z", for logs.
std::string format_rfc3339_millis(Millis t);
/// Parses RFC 3339 with a `Z` or `±hh:mm` offset; nullopt when malformed.
std::optional<Millis> parse_rfc3339(std::string_view text);
/// "Wed, 25 Nov 2026 07:48:06 GMT", for HTTP headers.
std::string format_http_date(Millis t);

}  // namespace depesche
