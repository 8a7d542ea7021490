#include "store/postgres/pg_commit_listener.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "store/postgres/connection.hpp"

namespace depesche::store::postgres {

PgCommitListener::PgCommitListener(std::string url, std::function<void()> wake,
                                   int connect_timeout_s)
    : url_(std::move(url)), wake_(std::move(wake)), connect_timeout_s_(connect_timeout_s) {}

PgCommitListener::~PgCommitListener() { stop(); }

void PgCommitListener::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void PgCommitListener::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

bool PgCommitListener::pause(std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stopping_) {
    auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, kStopSlice));
  }
  return false;
}

void PgCommitListener::run() {
  std::chrono::milliseconds backoff{100};
  bool warned = false;
  while (!stopping_) {
    auto db = Connection::open(url_, connect_timeout_s_);
    Result<void> listened = db ? (*db)->exec(std::string("LISTEN ") + kEventsChannel)
                               : Result<void>(std::unexpected(db.error()));
    if (!listened) {
      // Logged once per outage: the relay's poll carries on meanwhile.
      if (!warned) log::warn("commit listener down", {{"error", listened.error().message}});
      warned = true;
      if (!pause(backoff)) break;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    if (warned) log::info("commit listener back", {});
    warned = false;
    backoff = std::chrono::milliseconds(100);
    listening_ = true;
    ++sessions_;
    // What was committed while nobody listened is found by one look now.
    wake_();
    while (!stopping_) {
      auto n = (*db)->await_notifications(kStopSlice);
      if (!n) {
        log::warn("commit listener down", {{"error", n.error().message}});
        warned = true;
        break;
      }
      if (*n > 0) {
        received_ += static_cast<std::uint64_t>(*n);
        wake_();
      }
    }
    listening_ = false;
  }
}

}  // namespace depesche::store::postgres
