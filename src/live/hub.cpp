// The hub that dispatches: topic states shared by the loops, events from
// the bus (order checks, repeats, gaps filled from the log), the blocking
// work of subscribes, presence, and the public Hub calls.
#include "live/hub.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "live/handshake.hpp"
#include "live/hub_internal.hpp"

namespace depesche::live {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  log::append_json_escaped(out, s);
  out += '"';
  return out;
}

Buffer text_frame(std::string_view json) {
  return std::make_shared<const std::string>(server_frame(Opcode::text, json));
}

Buffer event_frame(const bus::Event& e) {
  std::string json = R"({"type":"event","topic":)" + json_string(e.topic) + R"(,"seq":)" +
                     std::to_string(e.seq) + R"(,"event":)" + json_string(e.name) + R"(,"data":)" +
                     (e.data.empty() ? std::string("null") : e.data) + "}";
  return text_frame(json);
}

// --- topic states -------------------------------------------------------------------

const Hub::Policy* Hub::Impl::policy_for(std::string_view topic, std::string_view& name) const {
  for (const auto& [prefix, policy] : policies)
    if (topic.starts_with(prefix)) {
      name = topic.substr(prefix.size());
      return &policy;
    }
  return nullptr;
}

TopicState& Hub::Impl::acquire(const std::string& topic) {
  auto it = topics.find(topic);
  if (it == topics.end())
    it = topics.try_emplace(topic, opts.history, opts.history_bytes, next_incarnation++).first;
  ++it->second.refs;
  return it->second;
}

void Hub::Impl::release(const std::string& topic) {
  auto it = topics.find(topic);
  if (it == topics.end() || --it->second.refs > 0) return;
  // Nobody follows it here any more: its history is only a cache of the
  // log, so memory goes back.
  history_bytes -= static_cast<std::int64_t>(it->second.history.bytes());
  topics.erase(it);
}

void Hub::Impl::mark_presence(const std::string& topic, TopicState& t) {
  if (t.presence_dirty) return;
  t.presence_dirty = true;
  presence_dirty.push_back(topic);
}

void Hub::Impl::append_and_deliver(const std::string& topic, TopicState& t, std::uint64_t seq,
                                   const Buffer& frame) {
  auto before = static_cast<std::int64_t>(t.history.bytes());
  t.history.append(seq, frame);
  history_bytes += static_cast<std::int64_t>(t.history.bytes()) - before;
  // Posting under the lock keeps every loop's inbox in seq order.
  for (auto& loop : loops)
    loop->post([l = loop.get(), topic, seq, frame] { l->deliver(topic, seq, frame); });
}

void Hub::Impl::drain_parked(const std::string& topic, TopicState& t) {
  while (!t.parked.empty()) {
    auto first = t.parked.begin();
    if (first->first <= t.history.seq()) {
      t.parked.erase(first);
      continue;
    }
    if (first->first != t.history.seq() + 1) break;
    append_and_deliver(topic, t, first->first, first->second);
    t.parked.erase(first);
  }
}

Result<void> Hub::Impl::load(const std::string& topic) {
  {
    std::lock_guard lock(topics_mutex);
    if (topics.at(topic).history.loaded()) return {};
  }
  auto head = source.head(topic);
  if (!head) return std::unexpected(head.error());
  std::lock_guard lock(topics_mutex);
  TopicState& t = topics.at(topic);
  if (!t.history.loaded()) {
    auto before = static_cast<std::int64_t>(t.history.bytes());
    t.history.load(head->seq, head->epoch);
    history_bytes += static_cast<std::int64_t>(t.history.bytes()) - before;
  }
  return {};
}

void Hub::Impl::fill(const std::string& topic, std::uint64_t incarnation, std::uint64_t from,
                     std::uint64_t to) {
  auto events = source.after(topic, from, to - from);
  std::vector<std::pair<std::uint64_t, Buffer>> frames;
  if (events)
    for (const auto& e : *events) frames.emplace_back(e.seq, event_frame(e));
  else
    log::error("live: cannot fill a gap from the log",
               {{"topic", topic}, {"error", events.error().message}});
  std::lock_guard lock(topics_mutex);
  auto it = topics.find(topic);
  if (it == topics.end() || it->second.incarnation != incarnation) return;
  TopicState& t = it->second;
  t.filling = false;
  for (auto& [seq, frame] : frames)
    if (seq == t.history.seq() + 1) {
      append_and_deliver(topic, t, seq, frame);
      gaps_filled.fetch_add(1, std::memory_order_relaxed);
    }
  drain_parked(topic, t);
  // What the log could not supply: the events before the first parked one
  // or, for a catch-up (nothing parked), up to `to`, unless the log could
  // not be read at all (then the next event or catch-up tries again).
  bool short_of_to = t.parked.empty() && events && t.history.seq() < to;
  if (!t.parked.empty() || short_of_to) {
    // The log no longer holds what is missing (or cannot be read now):
    // readers start over from a fresh page instead of silently skipping.
    std::uint64_t next = t.parked.empty() ? to + 1 : t.parked.begin()->first;
    auto before = static_cast<std::int64_t>(t.history.bytes());
    t.history.restart_at(next - 1);
    history_bytes += static_cast<std::int64_t>(t.history.bytes()) - before;
    resyncs.fetch_add(1, std::memory_order_relaxed);
    auto frame = text_frame(R"({"type":"resync","topic":)" + json_string(topic) + "}");
    for (auto& loop : loops)
      loop->post([l = loop.get(), topic, frame] { l->broadcast(topic, frame); });
    drain_parked(topic, t);
  }
  release(topic);
}

void Hub::Impl::catch_up(const std::string& topic) {
  auto head = source.head(topic);
  std::unique_lock lock(topics_mutex);
  // The reference taken for this keeps the state (and its incarnation).
  TopicState& t = topics.at(topic);
  if (!head) {
    log::error("live: cannot compare a topic with the log",
               {{"topic", topic}, {"error", head.error().message}});
    release(topic);
    return;
  }
  if (t.filling || !t.history.loaded() || head->seq <= t.history.seq()) {
    // Up to date, or a fill already runs (it brings the rest).
    release(topic);
    return;
  }
  t.filling = true;
  std::uint64_t incarnation = t.incarnation;
  std::uint64_t from = t.history.seq();
  lock.unlock();
  fill(topic, incarnation, from, head->seq);  // drops the reference
}

void Hub::Impl::publish_presence() {
  static thread_local Clock::time_point last{};
  auto now = Clock::now();
  if (now - last < opts.presence_interval) return;
  last = now;
  std::vector<std::pair<std::string, std::int64_t>> changed;
  {
    std::lock_guard lock(topics_mutex);
    // Only the topics whose count changed, never a scan of them all; the
    // list's memory goes with it (a burst of subscribes must not stay).
    std::vector<std::string> dirty;
    dirty.swap(presence_dirty);
    for (auto& name : dirty) {
      auto it = topics.find(name);
      if (it == topics.end()) {
        // The last subscriber left (and the state went with it): nobody
        // here to show it to, but an exchange must hear that this node
        // counts none now.
        if (presence_exchange != nullptr) changed.emplace_back(std::move(name), 0);
        continue;
      }
      if (!it->second.presence_dirty) continue;
      it->second.presence_dirty = false;
      changed.emplace_back(std::move(name), it->second.subscribers);
    }
  }
  if (changed.empty()) return;
  if (presence_exchange != nullptr) {
    // The totals come back from the exchange (show_presence).
    presence_exchange->report(std::move(changed));
    return;
  }
  for (auto& [name, count] : changed) show_presence(name, count);
}

void Hub::Impl::show_presence(const std::string& topic, std::int64_t count) {
  auto frame = text_frame(R"({"type":"presence","topic":)" + json_string(topic) + R"(,"count":)" +
                          std::to_string(count) + "}");
  for (auto& loop : loops)
    loop->post([l = loop.get(), topic, frame] { l->broadcast(topic, frame); });
}

// --- the hub ------------------------------------------------------------------------

Hub::Hub(HubOptions options, EventSource& source, RunBlocking run_blocking)
    : impl_(std::make_unique<Impl>(options, source, std::move(run_blocking))) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options.loops); ++i)
    impl_->loops.push_back(std::make_unique<Loop>(*impl_, i));
}

Hub::~Hub() { stop(); }

void Hub::add_policy(std::string prefix, Policy policy) {
  impl_->policies.emplace_back(std::move(prefix), std::move(policy));
}

void Hub::on_message(std::string type, Handler handler) {
  impl_->handlers[std::move(type)] = std::move(handler);
}

void Hub::set_identify(Identify identify) { impl_->identify = std::move(identify); }

void Hub::set_presence_exchange(bus::PresenceExchange& exchange) {
  impl_->presence_exchange = &exchange;
  exchange.on_totals([impl = impl_.get()](const std::string& topic, std::int64_t total, bool) {
    impl->show_presence(topic, total);
  });
}

void Hub::start() {
  if (impl_->started) return;
  impl_->started = true;
  for (auto& l : impl_->loops) l->start();
}

void Hub::stop() {
  if (!impl_->started) return;
  impl_->started = false;
  for (auto& l : impl_->loops) l->post([l = l.get()] { l->close_all(); });
  for (auto& l : impl_->loops) l->join();
}

void Hub::set_public_url(const std::string& public_url) {
  impl_->public_origin = origin_of(public_url);
}

std::optional<net::Response> Hub::check_handshake(const net::Request& req) const {
  return live::check_handshake(req, impl_->public_origin);
}

void Hub::adopt(int fd, const net::Request& req, std::string leftover) {
  auto& loops = impl_->loops;
  Loop* loop = loops[impl_->next_loop.fetch_add(1, std::memory_order_relaxed) % loops.size()].get();
  std::string response = handshake_response(req);
  if (!impl_->identify) {
    loop->post(
        [loop, fd, response = std::move(response), leftover = std::move(leftover)]() mutable {
          loop->adopt(fd, std::move(response), std::move(leftover), Identity{});
        });
    return;
  }
  // The session is looked up in the store: on the blocking pool.
  UpgradeInfo info{std::string(req.header("cookie")), !req.header("origin").empty(),
                   req.remote_address};
  impl_->run_blocking([impl = impl_.get(), loop, fd, info = std::move(info),
                       response = std::move(response), leftover = std::move(leftover)]() mutable {
    Identity who;
    try {
      who = impl->identify(info);
    } catch (const std::exception& e) {
      log::error("live: identity check failed", {{"error", e.what()}});
    }
    // Only a page of this site may write with the reader's session.
    if (!info.has_origin || who.account_id == 0) who.can_write = false;
    loop->post([loop, fd, who = std::move(who), response = std::move(response),
                leftover = std::move(leftover)]() mutable {
      loop->adopt(fd, std::move(response), std::move(leftover), std::move(who));
    });
  });
}

void Hub::publish(const bus::Event& e) {
  Impl& I = *impl_;
  I.events.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(I.topics_mutex);
  auto it = I.topics.find(e.topic);
  if (it == I.topics.end()) return;  // nobody follows it on this node: no frame to build
  TopicState& t = it->second;
  Buffer frame = event_frame(e);  // a few hundred bytes; cheaper than locking twice
  if (!t.history.loaded()) {
    // Its start is being read from the log; keep what comes meanwhile.
    if (t.history.size() == 0 || e.seq > t.history.seq()) {
      auto before = static_cast<std::int64_t>(t.history.bytes());
      t.history.append(e.seq, frame);
      I.history_bytes += static_cast<std::int64_t>(t.history.bytes()) - before;
    }
    return;
  }
  if (e.seq <= t.history.seq()) {
    I.duplicates.fetch_add(1, std::memory_order_relaxed);  // a relay's repeat after a restart
    return;
  }
  if (e.seq == t.history.seq() + 1 && !t.filling) {
    I.append_and_deliver(e.topic, t, e.seq, frame);
    return;
  }
  // A gap: the bus lost something. Hold this event and fetch the missing
  // ones from the log, off this thread.
  t.parked.emplace(e.seq, std::move(frame));
  if (t.filling) return;
  t.filling = true;
  ++t.refs;
  I.run_blocking([&I, topic = e.topic, inc = t.incarnation, from = t.history.seq(),
                  to = e.seq - 1] { I.fill(topic, inc, from, to); });
}

void Hub::catch_up() {
  Impl& I = *impl_;
  std::vector<std::string> followed;
  {
    std::lock_guard lock(I.topics_mutex);
    followed.reserve(I.topics.size());
    for (auto& [name, t] : I.topics) {
      if (!t.history.loaded()) continue;  // its start is being read from the log now
      ++t.refs;
      followed.push_back(name);
    }
  }
  for (auto& topic : followed)
    I.run_blocking([&I, topic = std::move(topic)] { I.catch_up(topic); });
}

bool Hub::Impl::may_replay_from_log() {
  if (opts.log_replay_bytes_per_second == 0) return true;
  auto rate = static_cast<double>(opts.log_replay_bytes_per_second);
  std::lock_guard lock(replay_budget_mutex);
  auto now = Clock::now();
  if (replay_budget_at == Clock::time_point{}) {
    replay_budget = rate;
  } else {
    double refill = std::chrono::duration<double>(now - replay_budget_at).count() * rate;
    replay_budget = std::min(rate, replay_budget + refill);
  }
  replay_budget_at = now;
  if (replay_budget <= 0) return false;
  // Taken now, not when read: many subscribes admitted at once must not all
  // find the bucket full.
  replay_budget -= static_cast<double>(opts.max_queue_bytes);
  return true;
}

void Hub::Impl::settle_log_replay(std::size_t bytes) {
  log_replay_bytes.fetch_add(bytes, std::memory_order_relaxed);
  if (opts.log_replay_bytes_per_second == 0) return;
  std::lock_guard lock(replay_budget_mutex);
  replay_budget += static_cast<double>(opts.max_queue_bytes) - static_cast<double>(bytes);
}

HubStats Hub::stats() const {
  HubStats s;
  s.connections = impl_->connections.load();
  s.subscriptions = impl_->subscriptions.load();
  {
    std::lock_guard lock(impl_->topics_mutex);
    s.topics = static_cast<std::int64_t>(impl_->topics.size());
    s.history_bytes = impl_->history_bytes;
  }
  s.events = impl_->events.load();
  s.duplicates = impl_->duplicates.load();
  s.gaps_filled = impl_->gaps_filled.load();
  s.resyncs = impl_->resyncs.load();
  s.deliveries = impl_->deliveries.load();
  s.slow_closes = impl_->slow_closes.load();
  s.log_replay_bytes = impl_->log_replay_bytes.load();
  return s;
}

}  // namespace depesche::live
