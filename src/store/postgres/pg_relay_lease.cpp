#include "store/postgres/pg_relay_lease.hpp"

#include "base/log.hpp"
#include "store/postgres/connection.hpp"

namespace depesche::store::postgres {

PgRelayLease::PgRelayLease(std::string url, std::string name, std::chrono::milliseconds recheck,
                           int connect_timeout_s)
    : url_(std::move(url)),
      name_(std::move(name)),
      recheck_(recheck),
      connect_timeout_s_(connect_timeout_s) {}

PgRelayLease::~PgRelayLease() = default;  // closing the session releases the lock

bool PgRelayLease::hold() {
  auto now = std::chrono::steady_clock::now();
  if (asked_ && now - asked_at_ < recheck_) return held_;
  asked_ = true;
  asked_at_ = now;
  auto lose = [&](const std::string& why) {
    if (held_) log::warn("relay lease lost", {{"relay", name_}, {"error", why}});
    db_.reset();
    held_ = false;
    return false;
  };
  // A session the server ended (restart, failover) no longer holds the lock.
  if (db_ && (db_->broken() || db_->spoke_unasked())) lose("the session ended");
  if (!db_) {
    auto db = Connection::open(url_, connect_timeout_s_);
    if (!db) return lose(db.error().message);
    db_ = std::move(*db);
  }
  if (held_) {
    // Still the same session: the lock is still ours.
    if (auto r = db_->query("SELECT 1"); !r) return lose(r.error().message);
    return true;
  }
  auto r = db_->query(
      "SELECT pg_try_advisory_lock(hashtextextended('depesche relay ' || current_schema() || ' ' "
      "|| $1, 0))",
      name_);
  if (!r) return lose(r.error().message);
  held_ = r->boolean(0, 0);
  if (held_) log::info("relay lease taken", {{"relay", name_}});
  return held_;
}

}  // namespace depesche::store::postgres
