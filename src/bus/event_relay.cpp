#include "bus/event_relay.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "base/time.hpp"

namespace depesche::bus {

EventRelay::EventRelay(store::EventLog& log, Bus& bus, RelayOptions options)
    : log_(log), bus_(bus), opts_(std::move(options)) {}

EventRelay::~EventRelay() { stop(); }

Result<void> EventRelay::start() {
  auto pos = log_.relay_position(opts_.name);
  if (!pos) return std::unexpected(pos.error());
  position_ = saved_ = *pos;
  atomic_position_ = position_;
  leading_ = !opts_.lead;
  woken_ = true;  // what was committed while no relay ran goes out at once
  thread_ = std::thread([this] { run(); });
  return {};
}

void EventRelay::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void EventRelay::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_one();
}

Result<std::uint64_t> EventRelay::drain() {
  std::lock_guard lock(drain_mutex_);
  std::uint64_t count = 0;
  for (;;) {
    auto events = log_.after_position(position_, opts_.batch);
    if (!events) return std::unexpected(events.error());
    for (auto& e : *events) {
      // The bus never refuses for good (the in-process one cannot fail; a
      // remote one reconnects): on failure, stop here and try again later.
      if (auto r =
              bus_.publish(Event{std::move(e.topic), std::move(e.name), std::move(e.data), e.seq});
          !r)
        return std::unexpected(r.error());
      position_ = e.position;
      lag_ms_.store(now_millis() - e.created_at, std::memory_order_relaxed);
      ++count;
    }
    atomic_position_.store(position_, std::memory_order_relaxed);
    published_.fetch_add(events->size(), std::memory_order_relaxed);
    if (static_cast<int>(events->size()) < opts_.batch) return count;
  }
}

Result<void> EventRelay::save() {
  std::int64_t pos;
  {
    std::lock_guard lock(drain_mutex_);
    pos = position_;
  }
  if (pos == saved_) return {};
  if (auto r = log_.set_relay_position(opts_.name, pos); !r) return r;
  saved_ = pos;
  return {};
}

bool EventRelay::check_lead() {
  if (!opts_.lead) return true;
  bool lead = opts_.lead();
  if (lead == leading_.load()) return lead;
  if (lead) {
    // Another relay published up to its saved position (perhaps a little
    // further: those repeats are dropped by seq).
    auto pos = log_.relay_position(opts_.name);
    if (!pos) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      log::error("event relay: cannot read its position", {{"error", pos.error().message}});
      return false;
    }
    {
      std::lock_guard lock(drain_mutex_);
      position_ = std::max(position_, *pos);
      saved_ = *pos;
      atomic_position_.store(position_, std::memory_order_relaxed);
    }
    log::info("event relay: leading", {{"position", position_}});
  } else {
    // Saved positions only grow (the store keeps the greater), so handing
    // back ours never moves the next leader backwards.
    if (auto r = save(); !r)
      log::error("event relay: cannot save its position", {{"error", r.error().message}});
    log::info("event relay: another node leads");
  }
  leading_.store(lead);
  return lead;
}

void EventRelay::run() {
  using Clock = std::chrono::steady_clock;
  auto last_save = Clock::now();
  auto last_prune = Clock::time_point{};
  bool failing = false;
  for (;;) {
    bool stopping;
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, failing ? opts_.retry : opts_.poll, [&] { return woken_ || stopping_; });
      woken_ = false;
      stopping = stopping_;
    }
    if (!check_lead()) {
      if (stopping) return;
      continue;
    }
    auto drained = drain();
    failing = !drained;
    if (!drained) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      log::error("event relay: cannot publish", {{"error", drained.error().message}});
    }
    auto now = Clock::now();
    if (stopping || now - last_save >= opts_.save_every) {
      if (auto r = save(); !r)
        log::error("event relay: cannot save its position", {{"error", r.error().message}});
      last_save = now;
    }
    if (stopping) return;
    if (now - last_prune >= opts_.prune_every) {
      last_prune = now;
      store::Retention retention = opts_.retention;
      retention.published_up_to = atomic_position_.load();
      auto pruned = log_.prune(retention, now_millis());
      if (!pruned)
        log::error("event log: retention failed", {{"error", pruned.error().message}});
      else if (*pruned > 0)
        log::info("event log pruned", {{"events", *pruned}});
    }
  }
}

RelayStats EventRelay::stats() const {
  return RelayStats{published_.load(), atomic_position_.load(), lag_ms_.load(), errors_.load(),
                    leading_.load()};
}

}  // namespace depesche::bus
