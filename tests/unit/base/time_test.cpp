#include "base/time.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

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

namespace {
// Turns the test clock off whatever a test's outcome.
struct TestClockOff {
  ~TestClockOff() { use_test_clock_file(""); }
};

void write_offset(const std::filesystem::path& path, const std::string& text) {
  auto tmp = path;
  tmp += ".tmp";
  std::ofstream(tmp) << text;
  std::filesystem::rename(tmp, path);
}
}  // namespace

TEST(TestClock, IsOffByDefault) {
  EXPECT_FALSE(test_clock_on());
  Millis real = now_millis();
  EXPECT_GT(real, 1'700'000'000'000);
}

TEST(TestClock, AddsTheFilesOffsetAndFollowsItsChanges) {
  TestClockOff off;
  auto path =
      std::filesystem::temp_directory_path() / ("depesche-clock-" + std::to_string(::getpid()));
  write_offset(path, "0\n");
  use_test_clock_file(path.string());
  EXPECT_TRUE(test_clock_on());
  Millis start = now_millis();
  constexpr Millis kDay = 86'400'000;
  write_offset(path, std::to_string(3 * kDay) + "\n");
  Millis later = now_millis();
  EXPECT_GE(later - start, 3 * kDay);
  EXPECT_LT(later - start, 3 * kDay + 60'000);
  // A malformed or missing file keeps the offset last read.
  write_offset(path, "soon");
  EXPECT_GE(now_millis() - start, 3 * kDay);
  std::filesystem::remove(path);
  EXPECT_GE(now_millis() - start, 3 * kDay);
  write_offset(path, "-1000");
  EXPECT_LT(now_millis() - start, 60'000);
  std::filesystem::remove(path);
  use_test_clock_file("");
  EXPECT_FALSE(test_clock_on());
  EXPECT_LT(now_millis() - start, 60'000) << "off again: the real clock";
}
