#include "domain/mail_outbox.hpp"

#include <algorithm>

#include "base/log.hpp"

namespace depesche::domain {
namespace {

// Mails claimed per call; the worker calls again while any were due.
constexpr int kClaimBatch = 50;

}  // namespace

MailOutbox::MailOutbox(store::Store& store, mail::Mailer& mailer, OutboxSettings settings,
                       Clock clock)
    : store_(store), mailer_(mailer), settings_(std::move(settings)), clock_(std::move(clock)) {}

MailOutbox::~MailOutbox() { stop(); }

Result<QueuedMail> MailOutbox::enqueue(std::string kind, mail::Mail mail) {
  if (mail.from.empty()) mail.from = settings_.from;
  if (mail.message_id.empty()) mail.message_id = mail::new_message_id(mail.from);
  QueuedMail q;
  q.kind = std::move(kind);
  q.mail = std::move(mail);
  q.created_at = clock_();
  q.next_attempt_at = q.created_at;
  auto stored = store_.mail_queue().enqueue(q);
  if (!stored) return stored;
  // Inside a unit of work the worker could not see the mail yet; it is
  // woken once the unit commits (and not at all if it rolls back).
  store_.after_commit([this] {
    {
      std::lock_guard lock(mutex_);
      pending_wake_ = true;
    }
    wake_.notify_one();
  });
  return stored;
}

Millis MailOutbox::backoff(int attempts) const {
  Millis delay = settings_.first_retry_ms;
  for (int i = 1; i < attempts && delay < settings_.max_retry_ms; ++i) delay *= 2;
  return std::min(delay, settings_.max_retry_ms);
}

int MailOutbox::deliver_due() {
  {
    // A retry that is due now is tried below; forget it first, so that the
    // retry it may schedule is kept (not lost to the poll interval).
    std::lock_guard lock(mutex_);
    if (next_retry_ != 0 && next_retry_ <= clock_()) next_retry_ = 0;
  }
  auto attempted = store_.mail_queue().claim_due(clock_(), kClaimBatch,
                                                 [this](const QueuedMail& q) { attempt(q); });
  if (!attempted) {
    log::error("mail outbox unreadable", {{"error", attempted.error().message}});
    return 0;
  }
  return *attempted;
}

void MailOutbox::attempt(const QueuedMail& q) {
  auto sent = mailer_.deliver(q.mail);
  int attempts = q.attempts + 1;
  if (sent) {
    if (auto r = store_.mail_queue().mark_sent(q.id, clock_()); !r)
      log::error("mail sent but not marked", {{"id", q.id}, {"error", r.error().message}});
    log::info(
        "mail sent",
        {{"id", q.id}, {"kind", q.kind}, {"transport", mailer_.kind()}, {"attempts", attempts}});
    return;
  }
  // A rejected address or message will not improve with time; anything
  // else (server down, timeout, 4xx) is retried until the last attempt.
  bool permanent = sent.error().code == ErrorCode::invalid;
  bool last = permanent || attempts >= settings_.max_attempts;
  std::optional<Millis> next;
  if (!last) {
    next = clock_() + backoff(attempts);
    std::lock_guard lock(mutex_);
    if (next_retry_ == 0 || *next < next_retry_) next_retry_ = *next;
  }
  (void)store_.mail_queue().mark_attempt_failed(q.id, attempts, next, sent.error().message);
  if (last)
    log::error(
        "mail failed for good; kept in the outbox",
        {{"id", q.id}, {"kind", q.kind}, {"attempts", attempts}, {"error", sent.error().message}});
  else
    log::warn("mail not sent; will retry",
              {{"id", q.id},
               {"kind", q.kind},
               {"attempts", attempts},
               {"retry_in_ms", static_cast<std::int64_t>(*next - clock_())},
               {"error", sent.error().message}});
}

void MailOutbox::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void MailOutbox::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MailOutbox::run() {
  for (;;) {
    // Deliver everything due, then sleep until woken by a new mail or until
    // the next poll, when retries may have come due.
    while (deliver_due() > 0) {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    std::unique_lock lock(mutex_);
    // Sleep until the next retry is due (or the poll, which also catches
    // mails queued by other processes such as `depesche mail retry`).
    Millis wait = settings_.poll_ms;
    Millis now = clock_();
    if (next_retry_ != 0 && next_retry_ <= now) next_retry_ = 0;  // was due: tried above
    if (next_retry_ != 0) wait = std::clamp<Millis>(next_retry_ - now, 1, settings_.poll_ms);
    wake_.wait_for(lock, std::chrono::milliseconds(wait),
                   [&] { return stopping_ || pending_wake_; });
    if (stopping_) return;
    pending_wake_ = false;
  }
}

}  // namespace depesche::domain
