#include "live/hub.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "base/log.hpp"
#include "live/batch_sender.hpp"
#include "live/websocket_protocol.hpp"

namespace depesche::live {
namespace {

using Buffer = std::shared_ptr<const std::string>;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxTopicChars = 200;
constexpr auto kCloseGrace = std::chrono::seconds(5);
constexpr int kTickMs = 250;

std::string json_string(std::string_view s) {
  std::string out = "\"";
  log::append_json_escaped(out, s);
  out += '"';
  return out;
}

Buffer text_frame(std::string_view json) {
  return std::make_shared<const std::string>(server_frame(Opcode::text, json));
}

// "scheme://host[:port]" lower-cased.
std::string origin_of(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string out(url.substr(0, url.find_first_of("/?#", scheme_end + 3)));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool header_has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    auto item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.size() == token.size() &&
        std::equal(item.begin(), item.end(), token.begin(),
                   [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; }))
      return true;
  }
  return false;
}

net::Response handshake_error(int status, std::string message) {
  net::Response r(status, "text/plain; charset=utf-8", std::move(message) + "\n");
  return r;
}

}  // namespace

// --- per-topic state shared by all loops --------------------------------------

struct TopicState {
  std::uint64_t seq = 0;
  std::deque<std::pair<std::uint64_t, Buffer>> history;
  std::size_t history_bytes = 0;  // frames in `history`
  std::int64_t subscribers = 0;
  bool presence_dirty = false;
};

struct Connection;

struct Subscriber {
  Connection* conn;
  std::uint64_t last_seq;  // deliveries at or below are duplicates of a replay
};

struct LocalTopic {
  std::vector<Subscriber> subs;
};

struct Subscription {
  std::string topic;
  LocalTopic* local;
  std::size_t index;  // position in local->subs
};

struct Chunk {
  Buffer buf;
  std::size_t offset;
};

struct Connection {
  int fd = -1;
  std::string rbuf;     // bytes not yet parsed
  std::string message;  // a fragmented text message being assembled
  bool in_fragment = false;
  std::vector<Chunk> wq;  // write queue; empty when the kernel took everything
  std::size_t wq_head = 0;
  std::size_t queued_bytes = 0;
  bool want_write = false;
  std::vector<Subscription> subs;
  Clock::time_point last_input;
  Clock::time_point ping_sent{};
  bool closing = false;  // close frame queued; no more events
  bool shut = false;     // write side shut down; waiting for the peer's FIN
  Clock::time_point close_deadline{};
  double tokens = 0;  // client messages allowed now
  Clock::time_point tokens_at;
};

// --- one event loop ------------------------------------------------------------

class Loop {
 public:
  Loop(Hub::Impl& hub, std::size_t index);
  ~Loop();
  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  void post(std::function<void()> task);

  // Loop thread only:
  void adopt(int fd, std::string response, std::string leftover);
  void deliver(const std::string& topic, std::uint64_t seq, const Buffer& frame);
  void deliver_presence(const std::string& topic, const Buffer& frame);
  void close_all();
  std::size_t index() const { return index_; }

 private:
  void run();
  void on_readable(Connection& c);
  void on_writable(Connection& c);
  void handle_frame(Connection& c, Frame& f);
  void handle_message(Connection& c, std::string_view text);
  void subscribe(Connection& c, const std::string& topic, std::optional<std::uint64_t> since);
  void unsubscribe(Connection& c, const std::string& topic);
  void drop_subscriptions(Connection& c);
  void send(Connection& c, const Buffer& buf);
  /// Queues what the kernel did not take of `buf` (from `offset`).
  void queue_rest(Connection& c, const Buffer& buf, std::size_t offset);
  void flush(Connection& c);
  void set_want_write(Connection& c, bool on);
  void close(Connection& c, std::uint16_t code, std::string_view reason);
  void destroy(Connection& c);
  void tick();

  Hub::Impl& hub_;
  std::size_t index_;
  int epfd_ = -1;
  int wakefd_ = -1;
  std::thread thread_;
  std::mutex inbox_mutex_;
  std::vector<std::function<void()>> inbox_;
  bool stopping_ = false;
  std::unordered_map<int, std::unique_ptr<Connection>> conns_;
  std::unordered_map<std::string, LocalTopic> topics_;
  std::vector<int> doomed_;  // fds to destroy at the end of the current iteration
  BatchSender sender_;
  std::vector<Connection*> targets_;      // reused by deliver()
  std::vector<BatchSender::Item> batch_;  // reused by deliver()
  Clock::time_point last_tick_{};
};

struct Hub::Impl {
  HubOptions opts;
  std::function<bool(std::string_view)> topic_exists;
  std::string public_origin;
  std::vector<std::unique_ptr<Loop>> loops;
  std::atomic<std::size_t> next_loop{0};
  std::mutex topics_mutex;
  std::unordered_map<std::string, TopicState> topics;
  std::atomic<std::int64_t> connections{0};
  std::atomic<std::int64_t> subscriptions{0};
  std::atomic<std::uint64_t> events{0};
  std::atomic<std::uint64_t> deliveries{0};
  std::atomic<std::uint64_t> slow_closes{0};
  bool started = false;

  void publish_presence();
  /// The topic's state, created at the base seq; call with topics_mutex held.
  TopicState& topic(const std::string& name) {
    auto [it, fresh] = topics.try_emplace(name);
    if (fresh) it->second.seq = opts.seq_base;
    return it->second;
  }
};

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
      if (events[i].events & EPOLLOUT) on_writable(c);
      if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
    }
    {
      std::lock_guard lock(inbox_mutex_);
      tasks.swap(inbox_);
    }
    for (auto& t : tasks) t();
    tasks.clear();
    if (Clock::now() - last_tick_ >= std::chrono::milliseconds(kTickMs)) tick();
    for (int fd : doomed_)
      if (auto it = conns_.find(fd); it != conns_.end()) destroy(*it->second);
    doomed_.clear();
    if (stopping_ && conns_.empty()) return;
  }
}

void Loop::adopt(int fd, std::string response, std::string leftover) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  auto conn = std::make_unique<Connection>();
  Connection& c = *conn;
  c.fd = fd;
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
  hub_.connections.fetch_add(1, std::memory_order_relaxed);
  send(c, std::make_shared<const std::string>(std::move(response)));
  if (!leftover.empty()) {
    c.rbuf = std::move(leftover);
    on_readable(c);
  }
}

void Loop::on_readable(Connection& c) {
  thread_local char buf[16 * 1024];
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
    case Opcode::close: close(c, close_code::normal, "bye"); return;
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
  if (!is_utf8(text)) return close(c, close_code::invalid_payload, "text must be UTF-8");
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string())
    return close(c, close_code::invalid_payload,
                 "malformed message: expected a JSON object with a type");
  std::string type = j["type"];
  if (type != "subscribe" && type != "unsubscribe") {
    send(c, text_frame(R"({"type":"error","message":"unknown message type"})"));
    return;
  }
  if (!j.contains("topic") || !j["topic"].is_string())
    return close(c, close_code::invalid_payload, "malformed message: topic must be a string");
  std::string topic = j["topic"];
  if (type == "unsubscribe") return unsubscribe(c, topic);
  std::optional<std::uint64_t> since;
  if (j.contains("since") && !j["since"].is_null()) {
    if (!j["since"].is_number_unsigned())
      return close(c, close_code::invalid_payload,
                   "malformed message: since must be a number >= 0");
    since = j["since"].get<std::uint64_t>();
  }
  subscribe(c, topic, since);
}

void Loop::subscribe(Connection& c, const std::string& topic, std::optional<std::uint64_t> since) {
  if (topic.empty() || topic.size() > kMaxTopicChars || !hub_.topic_exists(topic)) {
    send(c, text_frame(R"({"type":"error","topic":)" + json_string(topic) +
                       R"(,"message":"unknown topic"})"));
    return;
  }
  // Subscribing again (a client resuming with a new `since`) replaces the old one.
  bool again = std::any_of(c.subs.begin(), c.subs.end(),
                           [&](const Subscription& s) { return s.topic == topic; });
  if (again) unsubscribe(c, topic);
  if (c.subs.size() >= hub_.opts.max_subscriptions)
    return close(c, close_code::policy_violation, "too many subscriptions");
  // Replay under the topic lock, so that no event falls between the replay
  // and the live deliveries that follow (those with seq <= last_seq are skipped).
  std::vector<Buffer> replay;
  bool resync = false;
  std::uint64_t current = 0;
  {
    std::lock_guard lock(hub_.topics_mutex);
    TopicState& t = hub_.topic(topic);
    current = t.seq;
    if (since && *since < current) {
      std::uint64_t oldest = t.history.empty() ? current + 1 : t.history.front().first;
      if (oldest > *since + 1) {
        resync = true;
      } else {
        for (const auto& [seq, buf] : t.history)
          if (seq > *since) replay.push_back(buf);
      }
    } else if (since && *since > current) {
      resync = true;  // a seq this node never issued: history from before a restart
    }
    ++t.subscribers;
    t.presence_dirty = true;
  }
  LocalTopic& local = topics_[topic];
  local.subs.push_back(Subscriber{&c, current});
  c.subs.push_back(Subscription{topic, &local, local.subs.size() - 1});
  hub_.subscriptions.fetch_add(1, std::memory_order_relaxed);
  send(c, text_frame(R"({"type":"subscribed","topic":)" + json_string(topic) + R"(,"seq":)" +
                     std::to_string(current) + "}"));
  if (resync) send(c, text_frame(R"({"type":"resync","topic":)" + json_string(topic) + "}"));
  for (const auto& buf : replay) {
    if (c.closing) break;  // the replay alone outgrew the queue: too slow
    send(c, buf);
  }
}

void Loop::unsubscribe(Connection& c, const std::string& topic) {
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
    hub_.subscriptions.fetch_sub(1, std::memory_order_relaxed);
    std::lock_guard lock(hub_.topics_mutex);
    TopicState& t = hub_.topic(topic);
    --t.subscribers;
    t.presence_dirty = true;
    return;
  }
}

void Loop::drop_subscriptions(Connection& c) {
  while (!c.subs.empty()) {
    std::string topic = c.subs.back().topic;
    unsubscribe(c, topic);
  }
}

void Loop::deliver(const std::string& topic, std::uint64_t seq, const Buffer& frame) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  // First pick the readers (sending could close one, which changes the
  // subscriber vector), then write: readers with a backlog get the frame
  // queued behind it, the rest all at once through the batch sender.
  targets_.clear();
  for (auto& s : it->second.subs) {
    if (seq <= s.last_seq) continue;
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

void Loop::deliver_presence(const std::string& topic, const Buffer& frame) {
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

void Loop::on_writable(Connection& c) { flush(c); }

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
  ::close(c.fd);
  hub_.connections.fetch_sub(1, std::memory_order_relaxed);
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

// --- the hub ---------------------------------------------------------------------

void Hub::Impl::publish_presence() {
  static thread_local Clock::time_point last{};
  auto now = Clock::now();
  if (now - last < opts.presence_interval) return;
  last = now;
  std::vector<std::pair<std::string, std::int64_t>> changed;
  {
    std::lock_guard lock(topics_mutex);
    for (auto& [name, t] : topics)
      if (t.presence_dirty) {
        t.presence_dirty = false;
        changed.emplace_back(name, t.subscribers);
      }
  }
  for (auto& [name, count] : changed) {
    auto frame = text_frame(R"({"type":"presence","topic":)" + json_string(name) + R"(,"count":)" +
                            std::to_string(count) + "}");
    for (auto& loop : loops)
      loop->post([l = loop.get(), name, frame] { l->deliver_presence(name, frame); });
  }
}

Hub::Hub(HubOptions options, std::function<bool(std::string_view)> topic_exists)
    : impl_(std::make_unique<Impl>()) {
  impl_->opts = options;
  impl_->topic_exists = std::move(topic_exists);
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options.loops); ++i)
    impl_->loops.push_back(std::make_unique<Loop>(*impl_, i));
}

Hub::~Hub() { stop(); }

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

void Hub::set_public_url(std::string public_url) { impl_->public_origin = origin_of(public_url); }

std::optional<net::Response> Hub::check_handshake(const net::Request& req) const {
  if (req.method != net::Method::get) return handshake_error(405, "WebSocket handshakes use GET");
  if (!header_has_token(req.header("upgrade"), "websocket") ||
      !header_has_token(req.header("connection"), "upgrade")) {
    auto r = handshake_error(426, "this endpoint speaks WebSocket only");
    r.header("Upgrade", "websocket");
    return r;
  }
  if (req.header("sec-websocket-version") != "13") {
    auto r = handshake_error(426, "WebSocket version 13 is required");
    r.header("Sec-WebSocket-Version", "13");
    return r;
  }
  if (!is_valid_client_key(req.header("sec-websocket-key")))
    return handshake_error(400, "missing or malformed Sec-WebSocket-Key");
  // Browsers always send Origin; a page of another site must not use its
  // readers' connections. Scripts without Origin are fine: /live is public.
  std::string_view origin = req.header("origin");
  if (!origin.empty()) {
    std::string o = origin_of(origin);
    std::string host(req.header("host"));
    for (char& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    bool same = (!impl_->public_origin.empty() && o == impl_->public_origin) ||
                (!host.empty() && (o == "http://" + host || o == "https://" + host));
    if (!same) return handshake_error(403, "cross-origin WebSocket refused");
  }
  return std::nullopt;
}

void Hub::adopt(int fd, const net::Request& req, std::string leftover) {
  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      accept_key(req.header("sec-websocket-key")) + "\r\n\r\n";
  auto& loops = impl_->loops;
  Loop* loop = loops[impl_->next_loop.fetch_add(1, std::memory_order_relaxed) % loops.size()].get();
  loop->post([loop, fd, response = std::move(response), leftover = std::move(leftover)]() mutable {
    loop->adopt(fd, std::move(response), std::move(leftover));
  });
}

void Hub::publish(const bus::Event& e) {
  std::string json = R"({"type":"event","topic":)" + json_string(e.topic) + R"(,"seq":)" +
                     std::to_string(e.seq) + R"(,"event":)" + json_string(e.name) + R"(,"data":)" +
                     (e.data.empty() ? std::string("null") : e.data) + "}";
  Buffer frame = text_frame(json);
  {
    std::lock_guard lock(impl_->topics_mutex);
    TopicState& t = impl_->topic(e.topic);
    t.seq = std::max(t.seq, e.seq);
    t.history.emplace_back(e.seq, frame);
    t.history_bytes += frame->size();
    // By count and by bytes: a topic of long entries must not hold
    // megabytes for readers who may never come back. The newest event
    // always stays.
    while (t.history.size() > 1 && (t.history.size() > impl_->opts.history ||
                                    t.history_bytes > impl_->opts.history_bytes)) {
      t.history_bytes -= t.history.front().second->size();
      t.history.pop_front();
    }
    // Posting under the lock keeps every loop's inbox in seq order.
    for (auto& loop : impl_->loops)
      loop->post(
          [l = loop.get(), topic = e.topic, seq = e.seq, frame] { l->deliver(topic, seq, frame); });
  }
  impl_->events.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Hub::current_seq(std::string_view topic) const {
  std::lock_guard lock(impl_->topics_mutex);
  auto it = impl_->topics.find(std::string(topic));
  return it == impl_->topics.end() ? impl_->opts.seq_base : it->second.seq;
}

HubStats Hub::stats() const {
  return HubStats{impl_->connections.load(), impl_->subscriptions.load(), impl_->events.load(),
                  impl_->deliveries.load(), impl_->slow_closes.load()};
}

}  // namespace depesche::live
