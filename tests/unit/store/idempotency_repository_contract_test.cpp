// The IdempotencyRepository contract (answers remembered for POSTs that
// carried an Idempotency-Key), run against every Store implementation.
#include <gtest/gtest.h>

#include "store_fixture.hpp"

using namespace depesche;
using domain::RememberedResponse;

namespace {

constexpr Millis kStart = 1'800'000'000'000;

RememberedResponse answer(std::string scope, std::string key, Millis at = kStart) {
  RememberedResponse r;
  r.scope = std::move(scope);
  r.key = std::move(key);
  r.fingerprint = std::string(64, 'f');
  r.status = 201;
  r.headers = R"([["Content-Type","application/json"],["Location","/api/v1/x/1"]])";
  r.body = R"({"id":1,"body":"Grüße – Привет"})";
  r.created_at = at;
  return r;
}

class IdempotencyRepositoryContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = GetParam().open(dir);
  store::IdempotencyRepository& keys = store->idempotency();
};

TEST_P(IdempotencyRepositoryContract, AnUnknownKeyHasNoAnswer) {
  auto found = keys.find("token:1", "k-1");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_FALSE(*found);
}

TEST_P(IdempotencyRepositoryContract, ARememberedAnswerComesBackWhole) {
  ASSERT_TRUE(keys.remember(answer("token:1", "k-1")));
  auto found = keys.find("token:1", "k-1").value();
  ASSERT_TRUE(found);
  auto expected = answer("token:1", "k-1");
  EXPECT_EQ(found->scope, expected.scope);
  EXPECT_EQ(found->key, expected.key);
  EXPECT_EQ(found->fingerprint, expected.fingerprint);
  EXPECT_EQ(found->status, 201);
  EXPECT_EQ(found->headers, expected.headers);
  EXPECT_EQ(found->body, expected.body);
  EXPECT_EQ(found->created_at, kStart);
}

TEST_P(IdempotencyRepositoryContract, KeysBelongToTheirScope) {
  ASSERT_TRUE(keys.remember(answer("token:1", "k-1")));
  EXPECT_FALSE(keys.find("token:2", "k-1").value()) << "another caller's key is not this one's";
  ASSERT_TRUE(keys.remember(answer("token:2", "k-1")));
  EXPECT_TRUE(keys.find("token:2", "k-1").value());
}

TEST_P(IdempotencyRepositoryContract, AKeyIsRememberedOnce) {
  ASSERT_TRUE(keys.remember(answer("token:1", "k-1")));
  auto again = keys.remember(answer("token:1", "k-1"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
}

TEST_P(IdempotencyRepositoryContract, AConflictInsideAUnitLeavesTheUnitUsable) {
  ASSERT_TRUE(keys.remember(answer("token:1", "k-1")));
  auto unit = store->transact([&]() -> Result<void> {
    EXPECT_FALSE(keys.remember(answer("token:1", "k-1")));
    return keys.remember(answer("token:1", "k-2"));
  });
  ASSERT_TRUE(unit) << unit.error().message;
  EXPECT_TRUE(keys.find("token:1", "k-2").value());
}

TEST_P(IdempotencyRepositoryContract, OldAnswersAreForgottenOldestFirst) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(keys.remember(answer("token:1", "k-" + std::to_string(i), kStart + i)));
  EXPECT_EQ(keys.forget_before(kStart + 4, 2).value(), 2);
  EXPECT_FALSE(keys.find("token:1", "k-0").value());
  EXPECT_FALSE(keys.find("token:1", "k-1").value());
  EXPECT_TRUE(keys.find("token:1", "k-2").value());
  EXPECT_EQ(keys.forget_before(kStart + 4, 100).value(), 2);
  EXPECT_TRUE(keys.find("token:1", "k-4").value()) << "newer than the limit";
}

TEST_P(IdempotencyRepositoryContract, AForgottenKeyCanBeUsedAgain) {
  ASSERT_TRUE(keys.remember(answer("token:1", "k-1")));
  ASSERT_TRUE(keys.forget("token:1", "k-1"));
  EXPECT_FALSE(keys.find("token:1", "k-1").value());
  EXPECT_TRUE(keys.remember(answer("token:1", "k-1", kStart + 1)));
  EXPECT_EQ(keys.find("token:1", "k-1").value()->created_at, kStart + 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, IdempotencyRepositoryContract, ::testing::ValuesIn(store_kinds()),
                         store_kind_name);

}  // namespace
