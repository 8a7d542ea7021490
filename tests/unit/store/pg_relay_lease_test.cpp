// The relay lease on PostgreSQL (store/postgres/pg_relay_lease): one holder
// per database, schema and name; taken over when the holder's session
// ends, whether it closed or the server ended it. Needs a server:
// DEPESCHE_TEST_POSTGRES_URL (scripts/with-postgres; CTest unit_postgres).
#include "store/postgres/pg_relay_lease.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "store_fixture.hpp"

using depesche::store::postgres::PgRelayLease;

namespace {

std::string test_url() {
  const char* u = std::getenv("DEPESCHE_TEST_POSTGRES_URL");
  return u != nullptr ? u : "";
}

/// A lease whose session can be found (and ended) by its application name.
std::unique_ptr<PgRelayLease> lease(const std::string& name, const std::string& app) {
  std::string url = test_url();
  url += (url.find('?') == std::string::npos ? "?" : "&") + std::string("application_name=") + app;
  return std::make_unique<PgRelayLease>(url, name, std::chrono::milliseconds(0));
}

/// Whether `l` gets the lease within a few seconds: a closed session's
/// backend releases its locks as it exits, a moment after the client left.
bool gets_it(PgRelayLease& l) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!l.hold())
    if (std::chrono::steady_clock::now() > deadline) return false;
  return true;
}

class PgRelayLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test_url().empty())
      GTEST_SKIP() << "needs DEPESCHE_TEST_POSTGRES_URL (scripts/with-postgres)";
  }
  // Names of this test run only: the server may hold others' leases.
  std::string name = "lease-test-" + std::to_string(std::random_device{}());
};

TEST_F(PgRelayLeaseTest, OneHolderAtATime) {
  auto a = lease(name, "lease_a");
  auto b = lease(name, "lease_b");
  EXPECT_TRUE(a->hold());
  EXPECT_FALSE(b->hold());
  EXPECT_TRUE(a->hold()) << "the holder keeps it";
  EXPECT_FALSE(b->hold());
  auto other = lease(name + "-other", "lease_c");
  EXPECT_TRUE(other->hold()) << "another relay name is another lease";
}

TEST_F(PgRelayLeaseTest, TakenOverWhenTheHolderGoes) {
  auto a = lease(name, "lease_gone_a");
  auto b = lease(name, "lease_gone_b");
  ASSERT_TRUE(a->hold());
  ASSERT_FALSE(b->hold());
  a.reset();  // the node stops: its session closes
  EXPECT_TRUE(gets_it(*b));
}

TEST_F(PgRelayLeaseTest, TakenOverWhenTheServerEndsTheHoldersSession) {
  auto a = lease(name, "lease_ended_a");
  auto b = lease(name, "lease_ended_b");
  ASSERT_TRUE(a->hold());
  auto r = depesche::store::postgres::run_sql(
      test_url(),
      "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = "
      "'lease_ended_a'");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(b->hold());
  EXPECT_FALSE(a->hold()) << "the ended session no longer holds it";
  EXPECT_FALSE(a->hold());
  b.reset();
  EXPECT_TRUE(gets_it(*a)) << "a new session takes it up again";
}

}  // namespace
