// Token buckets per key, on a fake clock. Budgets and windows are powers of
// two where exact retry times are asserted, so the arithmetic is exact.
#include "domain/rate_limiter.hpp"

#include <gtest/gtest.h>

using namespace depesche;
using domain::RateLimiter;

namespace {

class RateLimiterTest : public ::testing::Test {
 protected:
  Millis now = 1'000'000;
  RateLimiter::Clock clock = [this] { return now; };
  RateLimiter make(int limit, Millis window, std::size_t max_keys = 100'000) {
    return RateLimiter(limit, window, max_keys, clock);
  }
};

TEST_F(RateLimiterTest, AllowsTheBudgetThenRefuses) {
  auto limiter = make(4, 1024);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(limiter.hit("k"), 0) << i;
  EXPECT_GT(limiter.hit("k"), 0);
  EXPECT_GT(limiter.hit("k"), 0) << "refused hits are not counted, but still refused";
  EXPECT_EQ(limiter.hit("other"), 0) << "keys have their own budgets";
  EXPECT_EQ(limiter.limit(), 4);
}

TEST_F(RateLimiterTest, RetryAfterSaysWhenTheNextHitIsAllowed) {
  auto limiter = make(2, 1024);  // one hit back every 512 ms
  ASSERT_EQ(limiter.hit("k"), 0);
  ASSERT_EQ(limiter.hit("k"), 0);
  EXPECT_EQ(limiter.hit("k"), 512);
  now += 256;
  EXPECT_EQ(limiter.hit("k"), 256);
  EXPECT_EQ(limiter.peek("k"), 256);
  now += 255;
  EXPECT_EQ(limiter.hit("k"), 1);
  now += 1;
  EXPECT_EQ(limiter.hit("k"), 0);
  EXPECT_EQ(limiter.hit("k"), 512);
}

TEST_F(RateLimiterTest, RefillsEvenlyUpToTheBudget) {
  auto limiter = make(4, 1024);  // one hit back every 256 ms
  for (int i = 0; i < 4; ++i) ASSERT_EQ(limiter.hit("k"), 0);
  now += 512;
  EXPECT_EQ(limiter.hit("k"), 0);
  EXPECT_EQ(limiter.hit("k"), 0);
  EXPECT_GT(limiter.hit("k"), 0);
  now += 100 * 1024;  // a long pause refills the bucket, never beyond it
  for (int i = 0; i < 4; ++i) EXPECT_EQ(limiter.hit("k"), 0) << i;
  EXPECT_GT(limiter.hit("k"), 0);
}

TEST_F(RateLimiterTest, WaitingTheRetryTimeAlwaysSuffices) {
  // Budgets and windows whose per-millisecond rate is not exact in binary.
  for (int limit : {1, 3, 5, 6, 7, 10, 13}) {
    for (Millis window : {999, 60'000, 3'600'000}) {
      auto limiter = make(limit, window);
      for (int i = 0; i < limit; ++i) ASSERT_EQ(limiter.hit("k"), 0);
      for (int round = 0; round < 3; ++round) {
        Millis wait = limiter.hit("k");
        ASSERT_GT(wait, 0) << limit << "/" << window;
        EXPECT_LE(wait, window / limit + 1) << limit << "/" << window;
        now += wait;
        EXPECT_EQ(limiter.hit("k"), 0) << limit << "/" << window << " round " << round;
      }
    }
  }
}

TEST_F(RateLimiterTest, PeekCountsNothing) {
  auto limiter = make(1, 1000);
  EXPECT_EQ(limiter.peek("k"), 0);
  EXPECT_EQ(limiter.peek("k"), 0);
  EXPECT_EQ(limiter.hit("k"), 0);
  EXPECT_EQ(limiter.peek("k"), 1000);
  EXPECT_EQ(limiter.peek("never-seen"), 0);
}

TEST_F(RateLimiterTest, ResetRestoresTheFullBudget) {
  auto limiter = make(2, 60'000);
  ASSERT_EQ(limiter.hit("k"), 0);
  ASSERT_EQ(limiter.hit("k"), 0);
  ASSERT_GT(limiter.hit("k"), 0);
  limiter.reset("k");
  EXPECT_EQ(limiter.hit("k"), 0);
  EXPECT_EQ(limiter.hit("k"), 0);
  EXPECT_GT(limiter.hit("k"), 0);
  limiter.reset("unknown");  // harmless
}

TEST_F(RateLimiterTest, AtMaxKeysFullBucketsAreDroppedFirst) {
  auto limiter = make(2, 1000, 2);
  ASSERT_EQ(limiter.hit("a"), 0);
  now += 500;  // "a" is full again: it carries no information
  ASSERT_EQ(limiter.hit("b"), 0);
  ASSERT_EQ(limiter.hit("c"), 0);  // the third key: "a" goes, "b" stays
  EXPECT_EQ(limiter.hit("b"), 0);
  EXPECT_GT(limiter.hit("b"), 0) << "b kept its count through the eviction";
}

TEST_F(RateLimiterTest, AtMaxKeysWithoutFullBucketsEverythingIsForgotten) {
  auto limiter = make(1, 1'000'000, 2);
  ASSERT_EQ(limiter.hit("a"), 0);
  ASSERT_EQ(limiter.hit("b"), 0);
  ASSERT_GT(limiter.hit("a"), 0);
  ASSERT_EQ(limiter.hit("c"), 0) << "a new key is always let in";
  // Memory stays bounded; the price is that the earlier keys start afresh.
  EXPECT_EQ(limiter.hit("a"), 0);
}

TEST_F(RateLimiterTest, NonsenseSettingsAreClampedToSomethingSafe) {
  auto limiter = make(0, 0, 0);
  EXPECT_EQ(limiter.limit(), 1);
  EXPECT_EQ(limiter.hit("k"), 0);
  EXPECT_GT(limiter.hit("k"), 0);
}

}  // namespace
