#include "base/time.hpp"

#include <gtest/gtest.h>

using namespace depesche;

TEST(Time, FormatsRfc3339InUtc) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1'764'057'600'000), "2025-11-25T08:00:00Z");
  EXPECT_EQ(format_rfc3339_millis(1'764'057'600'123), "2025-11-25T08:00:00.123Z");
}

TEST(Time, ParsesWhatItFormatsAndOffsets) {
  EXPECT_EQ(parse_rfc3339("2025-11-25T08:00:00Z"), 1'764'057'600'000);
  EXPECT_EQ(parse_rfc3339("2025-11-25T09:00:00+01:00"), 1'764'057'600'000);
  EXPECT_EQ(parse_rfc3339("2025-11-25T08:00:00.5Z"), 1'764'057'600'500);
}

TEST(Time, RejectsMalformedTimes) {
  for (const char* bad :
       {"", "2025-11-25", "2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z", "2025-11-25T08:00:00",
        "2025-11-25T25:00:00Z", "2025-11-25T08:00:00Zjunk", "2025-11-25T08:00:00+1:00"})
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
}

TEST(Time, FormatsHttpDates) { EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT"); }
