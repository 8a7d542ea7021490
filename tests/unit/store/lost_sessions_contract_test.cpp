// The store contract for a database server that ends the store's sessions
// (a restart, a failover, an operator's pg_terminate_backend) while they
// sit idle in the pool: the next calls find out before they use a dead
// session and open a new one, so no caller sees an error for it. Run
// against every store with a server (store_kinds()); SQLite has none.
#include <gtest/gtest.h>

#include "store_fixture.hpp"

using namespace depesche;

namespace {

class LostSessionsContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = GetParam().open(dir);
};

TEST_P(LostSessionsContract, IdleSessionsEndedByTheServerCostNoFailedCall) {
  if (!GetParam().end_sessions) GTEST_SKIP() << "no database server";
  ASSERT_TRUE(store->events().append("t:1", "test.event", "{}", 1000));
  std::uint64_t seq = 1;
  // More calls than the pool has connections, so every ended one is met.
  for (int round = 0; round < 2; ++round) {
    GetParam().end_sessions(dir);
    for (int call = 0; call < 8; ++call) {
      auto head = store->events().head("t:1");
      ASSERT_TRUE(head) << "call " << call << ": " << head.error().message;
      EXPECT_EQ(head->seq, seq);
    }
    auto written = store->transact([&]() -> Result<void> {
      auto e = store->events().append("t:1", "test.event", "{}", 1000);
      if (!e) return std::unexpected(e.error());
      return {};
    });
    ASSERT_TRUE(written) << written.error().message;
    ASSERT_TRUE(store->events().append("t:1", "test.event", "{}", 1000));
    seq += 2;
    auto ready = store->ping();
    EXPECT_TRUE(ready) << ready.error().message;
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, LostSessionsContract, ::testing::ValuesIn(store_kinds()),
                         store_kind_name);

}  // namespace
