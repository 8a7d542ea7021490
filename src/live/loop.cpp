// One hub event loop: the connections it owns, their frames and messages,
// subscriptions and fanout. Everything here runs on the loop's thread;
// work that may wait (the store) goes to the blocking pool and comes back
// as a posted task addressed by connection id.
#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "live/client_message.hpp"
#include "live/hub_internal.hpp"

namespace depesche::live {
namespace {

constexpr std::size_t kMaxTopicChars = 200;
constexpr std::size_t kMaxDeferredFrames = 64;
constexpr std::uint64_t kReplayBatch = 64;  // events read from the log at a time
constexpr auto kCloseGrace = std::chrono::seconds(5);
constexpr int kTickMs = 250;

}  // namespace

Loop::Loop(Hub::Impl& hub, std::size_t index) : hub_(hub), index_(index) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || wakefd_ < 0) throw std::runtime_error("live hub: cannot create event loop");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wakefd_;
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
}

Loop::~Loop() {
  for (auto& [fd, c] : conns_) ::close(fd);
  if (wakefd_ >= 0) ::close(wakefd_);
  if (epfd_ >= 0) ::close(epfd_);
}

void Loop::post(std::function<void()> task) {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.push_back(std::move(task));
  }
  std::uint64_t one = 1;
  (void)!::write(wakefd_, &one, sizeof one);
}

void Loop::run() {
  std::vector<epoll_event> events(256);
  std::vector<std::function<void()>> tasks;
  while (true) {
    int n = ::epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), kTickMs);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == wakefd_) {
        std::uint64_t v;
        (void)!::read(wakefd_, &v, sizeof v);
        continue;
      }
      auto it = conns_.find(fd);
      if (it == conns_.end()) continue;
      Connection& c = *it->second;
      if (events[i].events & EPOLLOUT) flush(c);
      if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
    }
    {
      std::lock_guard lock(inbox_mutex_);
      tasks.swap(inbox_);
    }
    for (auto& t : tasks) {
      t();
      t = nullptr;  // what it holds (a replay's frames) goes now, not after the batch
    }
    tasks.clear();
    if (Clock::now() - last_tick_ >= std::chrono::milliseconds(kTickMs)) tick();
    for (int fd : doomed_)
      if (auto it = conns_.find(fd); it != conns_.end()) destroy(*it->second);
    doomed_.clear();
    if (stopping_ && conns_.empty()) return;
  }
}

Connection* Loop::by_id(std::uint64_t id) {
  auto it = ids_.find(id);
  return it == ids_.end() || it->second->closing ? nullptr : it->second;
}

void Loop::adopt(int fd, std::string response, std::string leftover, Identity who) {
  if (stopping_) {
    ::close(fd);
    return;
  }
  int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  // Left to autotuning, the kernel lets a socket's send buffer grow to
  // tcp_wmem's maximum (4 MiB; on loopback it gets there at once), each a
  // copy per reader: a reader that stops reading costs that much kernel
  // memory, where what waits in the hub's own queue is shared.
  if (hub_.opts.send_buffer_bytes > 0) {
    int size = static_cast<int>(hub_.opts.send_buffer_bytes);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  auto conn = std::make_unique<Connection>();
  Connection& c = *conn;
  c.fd = fd;
  c.id = hub_.next_conn_id.fetch_add(1, std::memory_order_relaxed);
  c.who = std::move(who);
  c.last_input = Clock::now();
  c.tokens = hub_.opts.max_messages_per_second;
  c.tokens_at = c.last_input;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = fd;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    ::close(fd);
    return;
  }
  conns_.emplace(fd, std::move(conn));
  ids_.emplace(c.id, &c);
  hub_.connections.fetch_add(1, std::memory_order_relaxed);
  send(c, std::make_shared<const std::string>(std::move(response)));
  if (!leftover.empty()) {
    c.rbuf = std::move(leftover);
    on_readable(c);
  }
}

void Loop::on_readable(Connection& c) {
  // One read buffer per loop thread, not per connection.
  thread_local char buf[16 * 1024];  // NOLINT(misc-use-internal-linkage): a local
  for (;;) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      if (c.shut) continue;  // closing: discard until the peer's FIN
      c.rbuf.append(buf, static_cast<std::size_t>(n));
      c.last_input = Clock::now();
      c.ping_sent = {};
      if (static_cast<std::size_t>(n) < sizeof buf) break;
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      doomed_.push_back(c.fd);
      return;
    }
    if (errno == EINTR) continue;
    break;
  }
  if (c.shut || c.closing) {
    c.rbuf.clear();
    return;
  }
  std::size_t pos = 0;
  while (!c.closing) {
    Frame f;
    auto r =
        parse_client_frame(std::string_view(c.rbuf).substr(pos), hub_.opts.max_message_bytes, f);
    if (r.status == ParseStatus::need_more) break;
    if (r.status == ParseStatus::error) {
      close(c, r.close_code, r.reason);
      break;
    }
    pos += r.consumed;
    if (c.ordered_pending > 0 || !c.deferred.empty()) {
      if (c.deferred.size() >= kMaxDeferredFrames) {
        close(c, close_code::policy_violation, "too many messages waiting for answers");
        break;
      }
      c.deferred.push_back(std::move(f));
      continue;
    }
    handle_frame(c, f);
  }
  if (c.closing) {
    c.rbuf.clear();
  } else {
    c.rbuf.erase(0, pos);
  }
  // An idle connection keeps no read buffer.
  if (c.rbuf.empty() && c.rbuf.capacity() > 0) std::string().swap(c.rbuf);
}

void Loop::handle_frame(Connection& c, Frame& f) {
  switch (f.opcode) {
    case Opcode::ping:
      send(c, std::make_shared<const std::string>(server_frame(Opcode::pong, f.payload)));
      return;
    case Opcode::pong: return;
    case Opcode::close: {
      // A valid close is echoed with its code; a broken one is answered as such.
      std::uint16_t code = close_reply_code(f.payload);
      const char* reason = code == close_code::protocol_error    ? "invalid close frame"
                           : code == close_code::invalid_payload ? "close reason must be UTF-8"
                                                                 : "bye";
      close(c, code, reason);
      return;
    }
    case Opcode::binary:
      close(c, close_code::unsupported_data, "binary frames are not supported");
      return;
    case Opcode::text:
      if (c.in_fragment) return close(c, close_code::protocol_error, "expected a continuation");
      if (!f.fin) {
        c.in_fragment = true;
        c.message = std::move(f.payload);
        return;
      }
      return handle_message(c, f.payload);
    case Opcode::continuation:
      if (!c.in_fragment) return close(c, close_code::protocol_error, "unexpected continuation");
      if (c.message.size() + f.payload.size() > hub_.opts.max_message_bytes)
        return close(c, close_code::too_big, "message too big");
      c.message += f.payload;
      if (f.fin) {
        c.in_fragment = false;
        std::string text = std::move(c.message);
        c.message.clear();
        handle_message(c, text);
      }
      return;
  }
}

void Loop::ordered_done(Connection& c) {
  if (c.ordered_pending > 0) --c.ordered_pending;
  std::size_t next = 0;
  while (c.ordered_pending == 0 && next < c.deferred.size() && !c.closing) {
    Frame f = std::move(c.deferred[next++]);
    handle_frame(c, f);  // a subscribe makes the rest wait for it again
  }
  if (c.closing) {
    std::vector<Frame>().swap(c.deferred);
  } else {
    c.deferred.erase(c.deferred.begin(), c.deferred.begin() + static_cast<std::ptrdiff_t>(next));
    if (c.deferred.empty()) std::vector<Frame>().swap(c.deferred);
  }
}

void Loop::send_error(Connection& c, std::string_view topic, std::string_view id,
                      std::string_view code, std::string_view message) {
  std::string json = R"({"type":"error")";
  if (!id.empty()) json += R"(,"id":)" + json_string(id);
  if (!topic.empty()) json += R"(,"topic":)" + json_string(topic);
  json += R"(,"code":)" + json_string(code) + R"(,"message":)" + json_string(message) + "}";
  send(c, text_frame(json));
}

void Loop::handle_message(Connection& c, std::string_view text) {
  // A flood of messages costs the server work for nothing: a small budget
  // per connection, refilled every second.
  auto now = Clock::now();
  double per_s = hub_.opts.max_messages_per_second;
  c.tokens =
      std::min(per_s, c.tokens + std::chrono::duration<double>(now - c.tokens_at).count() * per_s);
  c.tokens_at = now;
  if (c.tokens < 1.0) return close(c, close_code::policy_violation, "too many messages");
  c.tokens -= 1.0;
  auto parsed = parse_client_message(text);
  if (!parsed) {
    const MessageFault& f = parsed.error();
    if (f.close) return close(c, close_code::invalid_payload, f.reason);
    return send_error(c, f.topic, "", "invalid", f.reason);
  }
  ClientMessage& m = *parsed;
  if (m.type == "unsubscribe") return unsubscribe(c, m.topic);
  if (m.type == "subscribe") return subscribe(c, m.topic, m.since, m.epoch);
  // Anything else goes to the handler a domain service registered for it.
  if (hub_.handlers.find(m.type) == hub_.handlers.end())
    return send_error(c, m.topic, m.id, "invalid", "unknown message type");
  if (!c.who.can_write) {
    const char* why = c.who.account_id == 0 ? "log in to take part"
                                            : "this connection is read-only: open it from the site";
    return send_error(c, m.topic, m.id, "unauthorized", why);
  }
  if (c.pending_messages >= hub_.opts.max_pending)
    return send_error(c, m.topic, m.id, "rate_limited", "wait for the answers to earlier messages");
  send_to_handler(c, std::move(m.type), std::move(m.id), std::move(m.topic), std::string(text));
}

void Loop::send_to_handler(Connection& c, std::string type, std::string id, std::string topic,
                           std::string text) {
  ++c.pending_messages;
  Hub::Impl& hub = hub_;
  hub.run_blocking([&hub, loop = this, conn_id = c.id, who = c.who, type = std::move(type),
                    id = std::move(id), topic = std::move(topic), text = std::move(text)] {
    Result<std::string> r = fail(ErrorCode::internal, "no handler");
    try {
      r = hub.handlers.at(type)(Inbound{who, type, id, topic, text});
    } catch (const std::exception&) {
      r = fail(ErrorCode::internal, "the message could not be handled");
    }
    std::string json;
    if (r) {
      json = R"({"type":"ack")";
      if (!id.empty()) json += R"(,"id":)" + json_string(id);
      if (!topic.empty()) json += R"(,"topic":)" + json_string(topic);
      json += R"(,"data":)" + (r->empty() ? std::string("null") : *r) + "}";
    } else {
      json = R"({"type":"error")";
      if (!id.empty()) json += R"(,"id":)" + json_string(id);
      if (!topic.empty()) json += R"(,"topic":)" + json_string(topic);
      json += R"(,"code":)" + json_string(to_string(r.error().code)) + R"(,"message":)" +
              json_string(r.error().message) + "}";
    }
    loop->post([loop, conn_id, frame = text_frame(json)] { loop->answer(conn_id, frame); });
  });
}

void Loop::answer(std::uint64_t conn_id, const Buffer& frame) {
  Connection* c = by_id(conn_id);
  if (!c) return;
  if (c->pending_messages > 0) --c->pending_messages;
  send(*c, frame);
}

void Loop::subscribe(Connection& c, const std::string& topic, std::optional<std::uint64_t> since,
                     std::optional<std::uint64_t> epoch) {
  std::string_view name;
  const Hub::Policy* policy =
      topic.size() > kMaxTopicChars ? nullptr : hub_.policy_for(topic, name);
  if (!policy || name.empty()) return send_error(c, topic, "", "not_found", "unknown topic");
  bool again = std::any_of(c.subs.begin(), c.subs.end(),
                           [&](const Subscription& s) { return s.topic == topic; });
  std::erase_if(c.pending_subs, [&](const auto& p) { return p.first == topic; });
  if (!again && c.subs.size() + c.pending_subs.size() >= hub_.opts.max_subscriptions)
    return close(c, close_code::policy_violation, "too many subscriptions");
  std::uint64_t token = next_token_++;
  c.pending_subs.emplace_back(topic, token);
  ++c.ordered_pending;
  {
    std::lock_guard lock(hub_.topics_mutex);
    hub_.acquire(topic);
  }
  // Admission and the topic's start may need the store: off the loop.
  Hub::Impl& hub = hub_;
  std::size_t prefix = topic.size() - name.size();
  hub.run_blocking(
      [&hub, loop = this, conn_id = c.id, who = c.who, topic, token, since, epoch, policy, prefix] {
        Result<void> admitted = fail(ErrorCode::internal, "cannot check the topic");
        try {
          admitted = (*policy)(std::string_view(topic).substr(prefix), who);
          if (admitted) admitted = hub.load(topic);
        } catch (const std::exception&) {
          // A policy that throws is a bug; the reader is told to try again.
          admitted = fail(ErrorCode::internal, "cannot check the topic");
        }
        loop->post([=] { loop->finish_subscribe(conn_id, topic, token, since, epoch, admitted); });
      });
}

void Loop::finish_subscribe(std::uint64_t conn_id, const std::string& topic, std::uint64_t token,
                            std::optional<std::uint64_t> since, std::optional<std::uint64_t> epoch,
                            const Result<void>& admitted) {
  Connection* cp = by_id(conn_id);
  // Whatever the outcome, the frames behind this subscribe may go on after it.
  struct Done {
    Loop& loop;
    Connection* c;
    // NOLINTNEXTLINE(bugprone-exception-escape): only bad_alloc escapes; terminate then
    ~Done() {
      if (c) loop.ordered_done(*c);
    }
  } done{*this, cp};
  bool wanted = cp && std::erase_if(cp->pending_subs, [&](const auto& p) {
                        return p.first == topic && p.second == token;
                      }) > 0;
  if (!wanted || !admitted) {
    {
      std::lock_guard lock(hub_.topics_mutex);
      hub_.release(topic);
    }
    if (!wanted) return;
    const Error& e = admitted.error();
    // Refusals say what a client may know; store trouble says "try again".
    if (e.code == ErrorCode::not_found)
      return send_error(*cp, topic, "", "not_found", "unknown topic");
    return send_error(*cp, topic, "", to_string(e.code), e.message);
  }
  Connection& c = *cp;
  // Subscribing again (a client resuming with a new `since`) replaces the old one.
  if (subscriber(c, topic)) unsubscribe(c, topic);
  std::vector<Buffer> replay;
  bool resync = false, from_log = false;
  std::uint64_t current = 0, topic_epoch = 0;
  {
    // Under the topic lock, so that no event falls between the replay and
    // the live deliveries that follow (those at or below last_seq are skipped).
    std::lock_guard lock(hub_.topics_mutex);
    TopicState& t = hub_.topics.at(topic);  // our reference keeps it
    current = t.history.seq();
    topic_epoch = t.history.epoch();
    ++t.subscribers;
    hub_.mark_presence(topic, t);
    if (since) {
      if ((epoch && *epoch != topic_epoch) || *since > current) {
        resync = true;  // a seq of another history, or of the future
      } else if (*since < current) {
        auto cached = t.history.after(*since);
        if (cached)
          replay = std::move(*cached);
        else if (current - *since > hub_.opts.max_replay)
          resync = true;
        else
          from_log = true;
      }
    }
  }
  if (from_log && !hub_.may_replay_from_log()) {
    // Every resume from the log is work and memory for one reader alone, so
    // together they get live.log_replay_bytes_per_second; past that a
    // reader refetches over HTTP, as one from too far back does.
    from_log = false;
    resync = true;
  }
  LocalTopic& local = topics_[topic];
  std::uint64_t replay_token = from_log ? next_token_++ : 0;
  local.subs.push_back(Subscriber{&c, current, from_log, replay_token});
  c.subs.push_back(Subscription{topic, &local, local.subs.size() - 1});
  hub_.subscriptions.fetch_add(1, std::memory_order_relaxed);
  send(c, text_frame(R"({"type":"subscribed","topic":)" + json_string(topic) + R"(,"seq":)" +
                     std::to_string(current) + R"(,"epoch":)" + std::to_string(topic_epoch) + "}"));
  if (resync) {
    hub_.resyncs.fetch_add(1, std::memory_order_relaxed);
    send(c, text_frame(R"({"type":"resync","topic":)" + json_string(topic) + "}"));
  }
  for (const auto& buf : replay) {
    if (c.closing) return;  // the replay alone outgrew the queue: too slow
    send(c, buf);
  }
  if (!from_log) return;
  ++c.ordered_pending;  // the replay's frames come before anything asked later
  Hub::Impl& hub = hub_;
  std::uint64_t from = *since;
  hub.run_blocking([&hub, loop = this, conn_id, topic, from, current, replay_token] {
    // Frames from the log are this reader's own copies, unlike live ones, so
    // they are read in batches and only up to live.max_queue_bytes: a reader
    // that has not taken more than that is closed as too slow anyway.
    Result<std::vector<Buffer>> frames = std::vector<Buffer>{};
    std::size_t bytes = 0;
    std::uint64_t last = from;
    bool cut = false;
    while (last < current && !cut) {
      // A few first, then about as many as the rest of the budget holds.
      std::uint64_t want = kReplayBatch / 8;
      if (!frames->empty()) {
        std::size_t each = bytes / frames->size() + 1;
        want = (hub.opts.max_queue_bytes - std::min(bytes, hub.opts.max_queue_bytes)) / each + 1;
      }
      want = std::clamp<std::uint64_t>(want, 1, kReplayBatch);
      auto events = hub.source.after(topic, last, std::min<std::uint64_t>(current - last, want));
      if (!events) {
        frames = std::unexpected(events.error());
        break;
      }
      if (events->empty() || events->front().seq != last + 1) {
        frames = fail(ErrorCode::not_found, "the log no longer holds it");  // retention took it
        break;
      }
      for (const auto& e : *events) {
        if (bytes >= hub.opts.max_queue_bytes) {
          cut = true;
          break;
        }
        frames->push_back(event_frame(e));
        bytes += frames->back()->size();
        last = e.seq;
      }
    }
    hub.settle_log_replay(bytes);
    loop->post([=] { loop->finish_replay(conn_id, topic, replay_token, from, frames, cut); });
  });
}

Subscriber* Loop::subscriber(Connection& c, const std::string& topic) {
  for (auto& s : c.subs)
    if (s.topic == topic) return &s.local->subs[s.index];
  return nullptr;
}

void Loop::finish_replay(std::uint64_t conn_id, const std::string& topic, std::uint64_t token,
                         std::uint64_t since, const Result<std::vector<Buffer>>& frames, bool cut) {
  Connection* cp = by_id(conn_id);
  if (!cp) return;
  struct Done {
    Loop& loop;
    Connection& c;
    // NOLINTNEXTLINE(bugprone-exception-escape): only bad_alloc escapes; terminate then
    ~Done() { loop.ordered_done(c); }
  } done{*this, *cp};
  Subscriber* s = subscriber(*cp, topic);
  if (!s || !s->replaying || s->replay_token != token) return;  // unsubscribed meanwhile
  Connection& c = *cp;
  if (cut) {
    // More than its queue may hold: as if it had overflowed, the reader
    // resumes from the last of these.
    for (const auto& buf : *frames) {
      if (c.closing) return;
      send(c, buf);
    }
    if (c.closing) return;
    hub_.slow_closes.fetch_add(1, std::memory_order_relaxed);
    return close(c, close_code::try_again_later, "too slow: resubscribe with since");
  }
  std::uint64_t last = since + (frames ? frames->size() : 0);
  std::vector<Buffer> rest;
  bool resync = !frames;
  {
    std::lock_guard lock(hub_.topics_mutex);
    TopicState& t = hub_.topics.at(topic);
    if (!resync) {
      // What arrived while the log was read is in memory, unless a burst
      // pushed it out: then the reader starts over.
      auto cached = t.history.after(last);
      if (cached)
        rest = std::move(*cached);
      else
        resync = true;
    }
    s->last_seq = t.history.seq();
    s->replaying = false;
  }
  if (resync) {
    hub_.resyncs.fetch_add(1, std::memory_order_relaxed);
    send(c, text_frame(R"({"type":"resync","topic":)" + json_string(topic) + "}"));
    return;
  }
  const std::vector<Buffer>* parts[] = {&frames.value(), &rest};
  for (const auto* part : parts)
    for (const auto& buf : *part) {
      if (c.closing) return;
      send(c, buf);
    }
}

void Loop::unsubscribe(Connection& c, const std::string& topic) {
  std::erase_if(c.pending_subs, [&](const auto& p) { return p.first == topic; });
  for (std::size_t i = 0; i < c.subs.size(); ++i) {
    if (c.subs[i].topic != topic) continue;
    Subscription sub = std::move(c.subs[i]);
    c.subs.erase(c.subs.begin() + static_cast<std::ptrdiff_t>(i));
    auto& subs = sub.local->subs;
    // Swap-remove, then tell the moved subscriber where it now is.
    if (sub.index + 1 != subs.size()) {
      subs[sub.index] = subs.back();
      for (auto& s : subs[sub.index].conn->subs)
        if (s.local == sub.local) s.index = sub.index;
    }
    subs.pop_back();
    // Memory follows the live topics: an empty topic leaves this loop.
    if (subs.empty()) topics_.erase(topic);
    hub_.subscriptions.fetch_sub(1, std::memory_order_relaxed);
    std::lock_guard lock(hub_.topics_mutex);
    auto it = hub_.topics.find(topic);
    if (it != hub_.topics.end()) {
      --it->second.subscribers;
      hub_.mark_presence(topic, it->second);
    }
    hub_.release(topic);
    return;
  }
}

void Loop::drop_subscriptions(Connection& c) {
  while (!c.subs.empty()) {
    std::string topic = c.subs.back().topic;
    unsubscribe(c, topic);
  }
  c.pending_subs.clear();  // their tasks release their references when they return
}

void Loop::deliver(const std::string& topic, std::uint64_t seq, const Buffer& frame) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  // First pick the readers (sending could close one, which changes the
  // subscriber vector), then write: readers with a backlog get the frame
  // queued behind it, the rest all at once through the batch sender.
  targets_.clear();
  for (auto& s : it->second.subs) {
    if (seq <= s.last_seq || s.replaying) continue;
    s.last_seq = seq;
    targets_.push_back(s.conn);
  }
  batch_.clear();
  for (Connection* c : targets_) {
    if (c->shut) continue;
    if (!c->wq.empty()) {
      send(*c, frame);
      continue;
    }
    batch_.push_back(BatchSender::Item{c->fd, frame->data(), frame->size(), 0});
  }
  sender_.send_all(batch_);
  std::size_t b = 0;
  for (Connection* c : targets_) {
    if (c->shut || b >= batch_.size() || batch_[b].fd != c->fd) continue;
    ssize_t r = batch_[b++].result;
    if (r == static_cast<ssize_t>(frame->size())) continue;
    if (r < 0 && r != -EAGAIN && r != -EWOULDBLOCK && r != -EINTR) {
      doomed_.push_back(c->fd);
      c->shut = true;
      continue;
    }
    queue_rest(*c, frame, r > 0 ? static_cast<std::size_t>(r) : 0);
  }
  hub_.deliveries.fetch_add(targets_.size(), std::memory_order_relaxed);
}

void Loop::broadcast(const std::string& topic, const Buffer& frame) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  auto& subs = it->second.subs;
  for (std::size_t i = 0; i < subs.size();) {
    Connection* c = subs[i].conn;
    send(*c, frame);
    if (i < subs.size() && subs[i].conn == c) ++i;
  }
}

void Loop::send(Connection& c, const Buffer& buf) {
  // Once the close frame is queued, nothing may follow it (RFC 6455 5.5.1).
  if (c.shut || c.closing) return;
  if (c.wq.empty()) {
    ssize_t n = ::send(c.fd, buf->data(), buf->size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(buf->size())) return;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      doomed_.push_back(c.fd);
      c.shut = true;
      return;
    }
    queue_rest(c, buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    return;
  }
  if (!c.closing && c.queued_bytes + buf->size() > hub_.opts.max_queue_bytes) {
    hub_.slow_closes.fetch_add(1, std::memory_order_relaxed);
    return close(c, close_code::try_again_later, "too slow: resubscribe with since");
  }
  c.wq.push_back(Chunk{buf, 0});
  c.queued_bytes += buf->size();
}

void Loop::queue_rest(Connection& c, const Buffer& buf, std::size_t offset) {
  c.wq.push_back(Chunk{buf, offset});
  c.queued_bytes += buf->size() - offset;
  set_want_write(c, true);
}

void Loop::flush(Connection& c) {
  while (c.wq_head < c.wq.size()) {
    iovec iov[64];
    int n = 0;
    for (std::size_t i = c.wq_head; i < c.wq.size() && n < 64; ++i, ++n) {
      iov[n].iov_base = const_cast<char*>(c.wq[i].buf->data() + c.wq[i].offset);
      iov[n].iov_len = c.wq[i].buf->size() - c.wq[i].offset;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(n);
    ssize_t sent = ::sendmsg(c.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      doomed_.push_back(c.fd);
      c.shut = true;
      return;
    }
    auto left = static_cast<std::size_t>(sent);
    c.queued_bytes -= left;
    while (left > 0) {
      Chunk& ch = c.wq[c.wq_head];
      std::size_t rest = ch.buf->size() - ch.offset;
      if (left >= rest) {
        left -= rest;
        ch.buf.reset();
        ++c.wq_head;
      } else {
        ch.offset += left;
        left = 0;
      }
    }
  }
  // Everything went out: give the queue's memory back.
  std::vector<Chunk>().swap(c.wq);
  c.wq_head = 0;
  c.queued_bytes = 0;
  set_want_write(c, false);
  if (c.closing && !c.shut) {
    ::shutdown(c.fd, SHUT_WR);
    c.shut = true;
    c.close_deadline = Clock::now() + kCloseGrace;
  }
}

void Loop::set_want_write(Connection& c, bool on) {
  if (c.want_write == on) return;
  c.want_write = on;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
  ev.data.fd = c.fd;
  ::epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void Loop::close(Connection& c, std::uint16_t code, std::string_view reason) {
  if (c.closing) return;
  c.closing = true;
  drop_subscriptions(c);
  // Keep the frame being written (cutting it would break the stream), drop
  // what waits behind it: the client resumes with `since` anyway.
  if (c.wq_head < c.wq.size()) {
    std::size_t keep = c.wq_head + (c.wq[c.wq_head].offset > 0 ? 1 : 0);
    for (std::size_t i = keep; i < c.wq.size(); ++i)
      c.queued_bytes -= c.wq[i].buf->size() - c.wq[i].offset;
    c.wq.resize(keep);
  }
  auto frame = std::make_shared<const std::string>(close_frame(code, reason));
  if (c.wq_head >= c.wq.size()) {
    std::vector<Chunk>().swap(c.wq);
    c.wq_head = 0;
    c.queued_bytes = 0;
  }
  c.wq.push_back(Chunk{frame, 0});
  c.queued_bytes += frame->size();
  flush(c);  // sends what it can now; shuts the write side once all is out
  c.close_deadline = Clock::now() + kCloseGrace;
}

void Loop::destroy(Connection& c) {
  auto it = conns_.find(c.fd);
  if (it == conns_.end()) return;
  drop_subscriptions(c);
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
  // Bytes the peer has not taken (a reader that stopped reading) would keep
  // the socket in the kernel after close, an orphan holding its send buffer
  // until the peer reads or TCP gives up, which takes minutes: reset it.
  int unsent = 0;
  if (::ioctl(c.fd, SIOCOUTQ, &unsent) == 0 && unsent > 0) {
    linger abort{1, 0};
    ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  }
  ::close(c.fd);
  hub_.connections.fetch_sub(1, std::memory_order_relaxed);
  ids_.erase(c.id);
  conns_.erase(it);
}

void Loop::tick() {
  auto now = Clock::now();
  last_tick_ = now;
  auto ping = std::make_shared<const std::string>(server_frame(Opcode::ping, ""));
  for (auto& [fd, conn] : conns_) {
    Connection& c = *conn;
    if (c.closing || c.shut) {
      if (now > c.close_deadline) doomed_.push_back(c.fd);
      continue;
    }
    if (c.ping_sent != Clock::time_point{}) {
      if (now - c.ping_sent > hub_.opts.pong_timeout)
        close(c, close_code::policy_violation, "no answer to ping");
    } else if (now - c.last_input > hub_.opts.ping_interval) {
      c.ping_sent = now;
      send(c, ping);
    }
  }
  if (index_ == 0) hub_.publish_presence();
}

void Loop::close_all() {
  stopping_ = true;
  for (auto& [fd, conn] : conns_) close(*conn, close_code::going_away, "server shutting down");
  for (auto& [fd, conn] : conns_)
    if (!conn->closing || conn->shut) conn->close_deadline = Clock::now() + std::chrono::seconds(2);
}

}  // namespace depesche::live
