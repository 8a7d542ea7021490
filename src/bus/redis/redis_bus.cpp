#include "bus/redis/redis_bus.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <random>

#include "base/log.hpp"
#include "bus/redis/redis_client.hpp"
#include "bus/redis/redis_frame.hpp"

namespace depesche::bus::redis {

RedisBus::RedisBus(RedisOptions options)
    : opts_(std::move(options)), wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

RedisBus::~RedisBus() {
  stop();
  if (pub_ != nullptr) redisFree(pub_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void RedisBus::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void RedisBus::stop() {
  {
    std::lock_guard lock(state_mutex_);
    stopping_ = true;
  }
  state_cv_.notify_all();
  std::uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void RedisBus::on_subscribed(std::function<void()> check) { on_subscribed_ = std::move(check); }

bool RedisBus::wait_subscribed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_mutex_);
  return state_cv_.wait_for(lock, timeout, [&] { return connected_; });
}

void RedisBus::set_connected(bool on) {
  {
    std::lock_guard lock(state_mutex_);
    connected_ = on;
  }
  state_cv_.notify_all();
}

bool RedisBus::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(state_mutex_);
  return !state_cv_.wait_for(lock, d, [&] { return stopping_; });
}

redisContext* RedisBus::connect(std::string& error) const { return redis::connect(opts_, error); }

// --- publishing --------------------------------------------------------------------

Result<void> RedisBus::publish(const Event& event) {
  std::string channel = opts_.channel_prefix + event.topic;
  std::string message = encode_event(event);
  std::lock_guard lock(publish_mutex_);
  bool had_connection = pub_ != nullptr;
  auto r = publish_once(channel, message);
  // A connection that broke since the last publish (a Redis restart) is
  // only found broken now: one more try on a fresh one. A repeat is
  // harmless, hubs drop it by seq. A connect that failed is not retried
  // here: the relay tries again after its pause.
  if (!r && had_connection && pub_ == nullptr) r = publish_once(channel, message);
  if (!r) {
    publish_errors_.fetch_add(1, std::memory_order_relaxed);
    return r;
  }
  published_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

Result<void> RedisBus::publish_once(const std::string& channel, const std::string& message) {
  bool fresh = false;
  if (pub_ == nullptr) {
    std::string error;
    pub_ = connect(error);
    if (pub_ == nullptr) return fail(ErrorCode::unavailable, "redis: cannot connect: " + error);
    fresh = true;
  }
  Reply r = command(pub_, {"PUBLISH", channel, message});
  if (!r) {
    std::string error = pub_->errstr;
    redisFree(pub_);
    pub_ = nullptr;
    if (fresh) {
      // Not worth a second try: the relay retries later.
      return fail(ErrorCode::unavailable, "redis: publish failed on a new connection: " + error);
    }
    return fail(ErrorCode::unavailable, "redis: publish failed: " + error);
  }
  if (r->type == REDIS_REPLY_ERROR)
    return fail(ErrorCode::unavailable, "redis: publish refused: " + std::string(text_of(r.get())));
  return {};
}

// --- receiving ---------------------------------------------------------------------

std::uint64_t RedisBus::on_event(Handler handler) {
  std::lock_guard lock(handlers_mutex_);
  handlers_.emplace_back(next_id_, std::move(handler));
  return next_id_++;
}

void RedisBus::off_event(std::uint64_t id) {
  // dispatch() holds the lock while handlers run, so none runs after this.
  std::lock_guard lock(handlers_mutex_);
  std::erase_if(handlers_, [id](const auto& h) { return h.first == id; });
}

void RedisBus::on_notice(std::string_view name, std::function<void(std::string_view)> handler) {
  notices_.emplace_back(notice_channel(opts_.channel_prefix, name), std::move(handler));
}

void RedisBus::dispatch(std::string_view channel, std::string_view message) {
  std::string_view prefix = opts_.channel_prefix;
  for (const auto& [name, handler] : notices_)
    if (channel == name) {
      handler(message);
      return;
    }
  auto event = decode_event(message);
  if (!channel.starts_with(prefix) || !event || event->topic != channel.substr(prefix.size())) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  received_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(handlers_mutex_);
  for (const auto& [id, h] : handlers_) h(*event);
}

void RedisBus::run() {
  std::minstd_rand random(std::random_device{}());
  auto backoff = opts_.reconnect_min;
  bool ever_subscribed = false;
  for (;;) {
    {
      std::lock_guard lock(state_mutex_);
      if (stopping_) return;
    }
    std::string error;
    redisContext* ctx = connect(error);
    bool subscribed = false;
    if (ctx != nullptr) {
      // serve_subscription() tells whether it got as far as subscribing.
      subscribed_ = false;
      serve_subscription(ctx, ever_subscribed);
      subscribed = subscribed_;
      error = ctx->err != 0 ? std::string(ctx->errstr) : std::string("connection closed");
      redisFree(ctx);
    }
    set_connected(false);
    {
      std::lock_guard lock(state_mutex_);
      if (stopping_) return;
    }
    if (subscribed) {
      ever_subscribed = true;
      backoff = opts_.reconnect_min;  // it worked for a while: start the backoff over
    }
    // Full jitter in the upper half: nodes that lost Redis together do not
    // all come back in the same millisecond.
    auto wait = std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(
        backoff.count() / 2, std::max<std::int64_t>(backoff.count(), 1))(random));
    log::warn("bus: redis subscriber disconnected, reconnecting",
              {{"error", error}, {"retry_ms", static_cast<std::int64_t>(wait.count())}});
    if (!pause(wait)) return;
    backoff = std::min(backoff * 2, opts_.reconnect_max);
  }
}

void RedisBus::serve_subscription(redisContext* ctx, bool resubscribe) {
  std::string pattern = opts_.channel_prefix + "*";
  if (!append_command(ctx, {"PSUBSCRIBE", pattern})) return;
  pollfd fds[2] = {{ctx->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  int quiet = 0;  // ping intervals without a byte from Redis
  for (;;) {
    int n = ::poll(fds, 2, static_cast<int>(opts_.ping_interval.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) return;  // stop()
    if (n == 0) {
      // Quiet: a ping shows whether the server is still there (a dead
      // peer behind a silent network sends no FIN).
      if (++quiet > 3) return;
      if (!append_command(ctx, {"PING"})) return;
      continue;
    }
    if (redisBufferRead(ctx) != REDIS_OK) return;
    quiet = 0;
    void* raw = nullptr;
    while (redisGetReplyFromReader(ctx, &raw) == REDIS_OK && raw != nullptr) {
      Reply r(static_cast<redisReply*>(raw));
      raw = nullptr;
      if (r->type == REDIS_REPLY_ERROR) {
        log::error("bus: redis refused the subscription", {{"error", text_of(r.get())}});
        return;
      }
      if (r->type != REDIS_REPLY_ARRAY || r->elements < 1) continue;
      std::string_view kind = text_of(r->element[0]);
      if (kind == "pmessage" && r->elements == 4) {
        dispatch(text_of(r->element[2]), text_of(r->element[3]));
      } else if (kind == "psubscribe") {
        subscribed_ = true;
        if (resubscribe) {
          reconnects_.fetch_add(1, std::memory_order_relaxed);
          log::info("bus: redis subscription restored");
        }
        // What was published while no subscription stood is not coming:
        // the hub compares its topics with the log. Before the state says
        // subscribed, so that wait_subscribed() finds the check requested.
        if (on_subscribed_) on_subscribed_();
        set_connected(true);
      }
    }
    if (ctx->err != 0) return;
  }
}

RedisBusStats RedisBus::stats() const {
  RedisBusStats s;
  {
    std::lock_guard lock(state_mutex_);
    s.connected = connected_;
  }
  s.reconnects = reconnects_.load();
  s.published = published_.load();
  s.publish_errors = publish_errors_.load();
  s.received = received_.load();
  s.malformed = malformed_.load();
  return s;
}

}  // namespace depesche::bus::redis
