#include "domain/paging.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace depesche {
namespace {

using domain::Cursor;
using domain::decode_cursor;
using domain::encode_cursor;

constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

TEST(Cursor, EncodesAsTimeDotId) {
  EXPECT_EQ(encode_cursor({1'800'000'000'123, 42}), "1800000000123.42");
  EXPECT_EQ(encode_cursor({0, 0}), "0.0");
  EXPECT_EQ(encode_cursor({-5, 7}), "-5.7");
  auto c = decode_cursor("1800000000123.42");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, (Cursor{1'800'000'000'123, 42}));
}

TEST(Cursor, RoundTripsEveryTimeAndIdUpToSixtyFourBits) {
  for (Cursor in : {Cursor{0, 0}, Cursor{1, 1}, Cursor{-86'400'000, 7},
                    Cursor{999'999'999'999'999'999, 999'999'999'999'999'999},
                    Cursor{1'234'567'890'123'456'789, 1}, Cursor{kMax, kMax}, Cursor{kMin, 0},
                    Cursor{kMin + 1, kMax}}) {
    SCOPED_TRACE(encode_cursor(in));
    auto out = decode_cursor(encode_cursor(in));
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, in);
  }
}

TEST(Cursor, KeepsTheFormatOfOldLinks) {
  // Article and ticker links written before the one cursor type still work.
  EXPECT_EQ(decode_cursor("1717171717171.12"), (Cursor{1'717'171'717'171, 12}));
  EXPECT_EQ(decode_cursor("-315619200000.3"), (Cursor{-315'619'200'000, 3}));
}

TEST(Cursor, RejectsWhatEncodeWouldNotWrite) {
  using namespace std::string_view_literals;
  const std::string_view bad_cursors[] = {
      "",      ".",    "1",    "1.",   ".1",   "a.1",   "1.b",   "1.2.3",  "1..2",    "1 .2",
      "1. 2",  " 1.2", "1.2 ", "+1.2", "1.+2", "--1.2", "-.2",   "1.0x10", "0x1.2",   "1e3.2",
      "1.2\n", "1,2",  "01.2", "1.02", "00.0", "-0.1",  "-01.2", "1.-0",   "1.2\0"sv, "١.٢"};
  for (std::string_view bad : bad_cursors) EXPECT_FALSE(decode_cursor(bad)) << bad;
}

TEST(Cursor, RejectsNegativeIds) {
  EXPECT_FALSE(decode_cursor("1.-2"));
  EXPECT_FALSE(decode_cursor("-1.-1"));
  EXPECT_FALSE(decode_cursor("0.-9223372036854775808"));
}

TEST(Cursor, RejectsNumbersBeyondSixtyFourBits) {
  EXPECT_TRUE(decode_cursor("9223372036854775807.9223372036854775807"));
  EXPECT_TRUE(decode_cursor("-9223372036854775808.0"));
  EXPECT_FALSE(decode_cursor("9223372036854775808.1"));
  EXPECT_FALSE(decode_cursor("-9223372036854775809.1"));
  EXPECT_FALSE(decode_cursor("1.9223372036854775808"));
  EXPECT_FALSE(decode_cursor("1.18446744073709551616"));
  EXPECT_FALSE(decode_cursor(std::string(400, '9') + ".1"));
}

struct Row {
  std::int64_t id;
  Millis at;
};

Cursor key_of(const Row& r) { return Cursor{r.at, r.id}; }

TEST(PageFromRows, AFullPageWithOneRowMoreHasANextCursorAtItsLastItem) {
  auto page = domain::page_from_rows(std::vector<Row>{{3, 30}, {2, 20}, {1, 10}}, 2, key_of);
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items.back().id, 2);
  EXPECT_EQ(page.next, (Cursor{20, 2}));
}

TEST(PageFromRows, TheLastPageHasNoNextCursor) {
  auto exact = domain::page_from_rows(std::vector<Row>{{3, 30}, {2, 20}}, 2, key_of);
  EXPECT_EQ(exact.items.size(), 2u);
  EXPECT_FALSE(exact.next);
  auto empty = domain::page_from_rows(std::vector<Row>{}, 2, key_of);
  EXPECT_TRUE(empty.items.empty());
  EXPECT_FALSE(empty.next);
}

}  // namespace
}  // namespace depesche
