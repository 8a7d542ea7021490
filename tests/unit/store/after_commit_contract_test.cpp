// The store contract for Store::after_commit, run against every Store
// implementation (store_kinds()): a callback queued inside a unit of work
// runs once, after the commit, when other connections can see the write;
// it is dropped with a unit or a nested part that rolls back; outside a
// unit it runs at once; and it may use the store itself.
#include <gtest/gtest.h>

#include <vector>

#include "store_fixture.hpp"

using namespace depesche;

namespace {

class AfterCommitContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = GetParam().open(dir);

  Result<void> write_event(std::string_view topic) {
    auto e = store->events().append(topic, "test.event", "{}", 1000);
    if (!e) return std::unexpected(e.error());
    return {};
  }
  std::uint64_t head(std::string_view topic) {
    auto h = store->events().head(topic);
    EXPECT_TRUE(h);
    return h ? h->seq : 0;
  }
};

TEST_P(AfterCommitContract, RunsOnceAfterTheCommitWhenTheWriteIsVisible) {
  std::vector<std::uint64_t> seen;  // the head another reader sees when the callback runs
  auto done = store->transact([&]() -> Result<void> {
    if (auto r = write_event("t:1"); !r) return r;
    store->after_commit([&] { seen.push_back(head("t:1")); });
    EXPECT_TRUE(seen.empty()) << "not before the commit";
    return {};
  });
  ASSERT_TRUE(done);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], 1u) << "the write is committed when the callback runs";
}

TEST_P(AfterCommitContract, IsDroppedWhenTheUnitRollsBack) {
  int runs = 0;
  auto done = store->transact([&]() -> Result<void> {
    if (auto r = write_event("t:1"); !r) return r;
    store->after_commit([&] { ++runs; });
    return fail(ErrorCode::invalid, "changed my mind");
  });
  ASSERT_FALSE(done);
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(head("t:1"), 0u);
  ASSERT_TRUE(store->transact([] { return Result<void>{}; }));
  EXPECT_EQ(runs, 0) << "not carried into the next unit either";
}

TEST_P(AfterCommitContract, GoesWithANestedPartThatRollsBack) {
  std::vector<std::string> ran;
  auto done = store->transact([&]() -> Result<void> {
    store->after_commit([&] { ran.push_back("outer"); });
    auto inner = store->transact([&]() -> Result<void> {
      store->after_commit([&] { ran.push_back("inner, failed"); });
      return fail(ErrorCode::conflict, "inner part refused");
    });
    EXPECT_FALSE(inner);
    return store->transact([&]() -> Result<void> {
      store->after_commit([&] { ran.push_back("inner, kept"); });
      return {};
    });
  });
  ASSERT_TRUE(done);
  EXPECT_EQ(ran, (std::vector<std::string>{"outer", "inner, kept"}));
}

TEST_P(AfterCommitContract, RunsAtOnceOutsideAUnit) {
  int runs = 0;
  store->after_commit([&] { ++runs; });
  EXPECT_EQ(runs, 1);
}

TEST_P(AfterCommitContract, MayUseTheStoreItself) {
  Result<void> nested;
  auto done = store->transact([&]() -> Result<void> {
    store->after_commit([&] { nested = write_event("t:2"); });
    return write_event("t:1");
  });
  ASSERT_TRUE(done);
  ASSERT_TRUE(nested) << "the writer is free again when the callback runs";
  EXPECT_EQ(head("t:2"), 1u);
}

INSTANTIATE_TEST_SUITE_P(Stores, AfterCommitContract, ::testing::ValuesIn(store_kinds()),
                         store_kind_name);

}  // namespace
