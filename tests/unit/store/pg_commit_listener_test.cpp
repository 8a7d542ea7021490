// The commit listener on PostgreSQL (store/postgres/pg_commit_listener):
// an append committed by another store (another node) wakes it, in a unit
// of work or alone; a rolled-back append does not; a session the server
// ends is replaced and listens again. Needs a server:
// DEPESCHE_TEST_POSTGRES_URL (scripts/with-postgres; CTest unit_postgres).
#include "store/postgres/pg_commit_listener.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "store_fixture.hpp"

using depesche::store::postgres::PgCommitListener;
using namespace std::chrono_literals;

namespace {

std::string test_url() {
  const char* u = std::getenv("DEPESCHE_TEST_POSTGRES_URL");
  return u != nullptr ? u : "";
}

template <class Pred>
bool within(std::chrono::milliseconds limit, Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class PgCommitListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test_url().empty())
      GTEST_SKIP() << "needs DEPESCHE_TEST_POSTGRES_URL (scripts/with-postgres)";
    store = open_test_postgres_store(test_url(), dir);
    ASSERT_TRUE(store);
    listener = std::make_unique<PgCommitListener>(
        test_url() + (test_url().find('?') == std::string::npos ? "?" : "&") +
            "application_name=listener_" + test_postgres_schema(dir),
        [this] { ++wakes; });
    listener->start();
    ASSERT_TRUE(within(5s, [&] { return listener->listening(); }));
    // The first wake is the look after connecting.
    ASSERT_TRUE(within(5s, [&] { return wakes.load() >= 1; }));
  }
  void TearDown() override {
    if (listener) listener->stop();
  }
  void append(const std::string& body) {
    auto e = store->events().append("ticker:de", "ticker.entry", body, 1);
    ASSERT_TRUE(e) << e.error().message;
  }

  TempDir dir;
  std::unique_ptr<depesche::store::Store> store;
  std::atomic<int> wakes{0};
  std::unique_ptr<PgCommitListener> listener;
};

TEST_F(PgCommitListenerTest, AnotherStoresAppendWakesIt) {
  int before = wakes;
  append("{}");
  EXPECT_TRUE(within(2s, [&] { return wakes > before; }));
  EXPECT_GE(listener->received(), 1u);
}

TEST_F(PgCommitListenerTest, AUnitOfWorkWakesItOnceItCommits) {
  int before = wakes;
  std::atomic<bool> appended{false};
  auto r = store->transact([&]() -> depesche::Result<void> {
    for (int i = 0; i < 3; ++i)
      if (auto e = store->events().append("ticker:de", "ticker.entry", "{}", 1); !e)
        return std::unexpected(e.error());
    appended = true;
    // Not yet: PostgreSQL delivers at the commit.
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(wakes.load(), before) << "woken before the commit";
    return {};
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(appended);
  EXPECT_TRUE(within(2s, [&] { return wakes > before; }));
  // The three appends were one transaction: one notification.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(wakes.load(), before + 1);
}

TEST_F(PgCommitListenerTest, ARolledBackAppendDoesNotWakeIt) {
  int before = wakes;
  auto r = store->transact([&]() -> depesche::Result<void> {
    if (auto e = store->events().append("ticker:de", "ticker.entry", "{}", 1); !e)
      return std::unexpected(e.error());
    return depesche::fail(depesche::ErrorCode::conflict, "changed my mind");
  });
  EXPECT_FALSE(r);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(wakes.load(), before);
}

TEST_F(PgCommitListenerTest, ASessionTheServerEndsIsReplaced) {
  auto ended = depesche::store::postgres::run_sql(
      test_url(),
      "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = "
      "'listener_" +
          test_postgres_schema(dir) + "'");
  ASSERT_TRUE(ended) << ended.error().message;
  ASSERT_TRUE(within(10s, [&] { return listener->sessions() == 2 && listener->listening(); }));
  auto before = listener->received();
  append("{}");
  EXPECT_TRUE(within(2s, [&] { return listener->received() > before; }));
}

}  // namespace
