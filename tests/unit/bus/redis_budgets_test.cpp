// Rate limits that several nodes share through Redis (bus/redis/
// redis_budgets.hpp): two limiters, each with a connection of its own as
// two nodes would have, draw on one budget; a reset on one frees the other;
// the keys hold no addresses; while Redis is down each node counts on its
// own, and shares again once it is back. Needs a server (scripts/with-redis,
// CTest unit_redis); skips without DEPESCHE_TEST_REDIS_URL.
#include "bus/redis/redis_budgets.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "domain/secrets.hpp"
#include "redis_fixture.hpp"

using namespace depesche;
using bus::redis::RedisBudgets;
using domain::RateLimiter;

namespace {

constexpr Millis kMinute = 60'000;

class RedisBudgetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_REDIS();
    budgets_a = std::make_unique<RedisBudgets>(redis_test::options(prefix));
    budgets_b = std::make_unique<RedisBudgets>(redis_test::options(prefix));
  }

  std::string prefix = redis_test::unique_prefix();
  Millis now = 1'800'000'000'000;
  RateLimiter::Clock clock = [this] { return now; };
  // Two nodes: a limiter and a connection each, one Redis.
  std::unique_ptr<RedisBudgets> budgets_a, budgets_b;
  RateLimiter node_a{3, kMinute, 100, clock};
  RateLimiter node_b{3, kMinute, 100, clock};

  void share() {
    node_a.share(*budgets_a, "login_by_email");
    node_b.share(*budgets_b, "login_by_email");
  }
};

TEST_F(RedisBudgetsTest, NodesSharingRedisDrawOnOneBudget) {
  share();
  EXPECT_EQ(node_a.hit("anna@example.org"), 0);
  EXPECT_EQ(node_b.hit("anna@example.org"), 0);
  EXPECT_EQ(node_a.hit("anna@example.org"), 0);
  Millis wait = node_b.hit("anna@example.org");
  EXPECT_EQ(wait, 20'000) << "three a minute: the next token in 20 s, whichever node asks";
  EXPECT_EQ(node_a.peek("anna@example.org"), 20'000);
  EXPECT_EQ(node_a.hit("bob@example.org"), 0) << "another key has its own budget";
  now += 20'000;
  EXPECT_EQ(node_b.peek("anna@example.org"), 0) << "peek takes nothing";
  EXPECT_EQ(node_b.hit("anna@example.org"), 0);
  EXPECT_GT(node_a.hit("anna@example.org"), 0);
}

TEST_F(RedisBudgetsTest, AResetOnOneNodeFreesTheKeyOnTheOther) {
  share();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(node_a.hit("anna@example.org"), 0);
  ASSERT_GT(node_b.hit("anna@example.org"), 0);
  node_a.reset("anna@example.org");
  EXPECT_EQ(node_b.hit("anna@example.org"), 0);
}

TEST_F(RedisBudgetsTest, KeysHoldNoAddressesAndExpireWithTheirWindow) {
  share();
  ASSERT_EQ(node_a.hit("anna@example.org"), 0);
  std::string hashed = prefix + "budget:login_by_email:" + domain::sha256_hex("anna@example.org");
  EXPECT_EQ(redis_test::run({"EXISTS", hashed}), "1") << "the bucket is in Redis, hashed";
  EXPECT_EQ(redis_test::run({"EXISTS", prefix + "budget:login_by_email:anna@example.org"}), "0");
  std::string pttl = redis_test::run({"PTTL", hashed});
  EXPECT_GT(std::stoll(pttl), 0);
  EXPECT_LE(std::stoll(pttl), kMinute);
}

TEST_F(RedisBudgetsTest, WhileRedisIsDownEachNodeCountsOnItsOwnThenSharesAgain) {
  share();
  ASSERT_EQ(node_a.hit("anna@example.org"), 0);
  redis_test::kill_server();
  // Down: node A's own bucket is full (Redis had the first hit), and it
  // still stops the fourth attempt of its own.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(node_a.hit("anna@example.org"), 0) << i;
  EXPECT_GT(node_a.hit("anna@example.org"), 0) << "never unlimited";
  redis_test::restart_server();
  ASSERT_TRUE(redis_test::eventually([&] { return redis_test::connect() != nullptr; }));
  // Back (and empty, as after any restart): shared again.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(node_b.hit("anna@example.org"), 0) << i;
  EXPECT_GT(node_a.hit("anna@example.org"), 0);
}

}  // namespace
