#include "store/postgres/connection_pool.hpp"

#include "base/log.hpp"

namespace depesche::store::postgres {

Result<std::unique_ptr<ConnectionPool>> ConnectionPool::open(const std::string& url,
                                                             std::size_t size,
                                                             int connect_timeout_s) {
  auto pool = std::make_unique<ConnectionPool>();
  pool->url_ = url;
  pool->connect_timeout_s_ = connect_timeout_s;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, size); ++i) {
    auto c = Connection::open(url, connect_timeout_s);
    if (!c) return std::unexpected(c.error());
    pool->slots_.push_back(std::move(*c));
    pool->free_.push_back(i);
  }
  return pool;
}

namespace {
// The unit of work a thread runs, per pool (tests open several stores).
struct UnitOfWork {
  const ConnectionPool* pool = nullptr;
  Connection* db = nullptr;
  bool appended = false;
  std::vector<std::function<void()>> after_commit;
};
thread_local UnitOfWork current_unit;
}  // namespace

Connection* ConnectionPool::unit_connection() const {
  return current_unit.pool == this ? current_unit.db : nullptr;
}

void ConnectionPool::set_unit_connection(Connection* db) {
  current_unit = db ? UnitOfWork{this, db, false, {}} : UnitOfWork{};
}

bool& ConnectionPool::unit_appended() { return current_unit.appended; }

std::vector<std::function<void()>>& ConnectionPool::unit_after_commit() {
  return current_unit.after_commit;
}

Result<ConnectionPool::Lease> ConnectionPool::lease() {
  if (Connection* unit = unit_connection()) return Lease(nullptr, 0, unit);
  std::size_t slot = 0;
  {
    std::unique_lock lock(mutex_);
    slot_free_.wait(lock, [&] { return !free_.empty(); });
    slot = free_.back();
    free_.pop_back();
  }
  // The slot is this thread's now: reconnecting outside the mutex lets
  // the others go on meanwhile.
  // A session the server ended while it sat here would fail its next
  // statement (one failed request per pooled connection after a restart):
  // it is replaced now instead.
  if (!slots_[slot] || slots_[slot]->broken() || slots_[slot]->spoke_unasked()) {
    slots_[slot].reset();
    auto c = Connection::open(url_, connect_timeout_s_);
    if (!c) {
      release(slot);
      return std::unexpected(c.error());
    }
    log::info("postgres connection reopened", {});
    slots_[slot] = std::move(*c);
  } else if (slots_[slot]->in_transaction()) {
    // Left open by a bug: the next borrower must not join it.
    log::error("postgres connection returned inside a transaction", {});
    (void)slots_[slot]->exec("ROLLBACK");
  }
  return Lease(this, slot, slots_[slot].get());
}

void ConnectionPool::release(std::size_t slot) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(slot);
  }
  slot_free_.notify_one();
}

}  // namespace depesche::store::postgres
