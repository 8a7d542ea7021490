#pragma once
// The durable outbox: a mail is stored before anyone is told it was sent,
// then delivered by a background thread through a mail::Mailer, with retries
// and exponential backoff. A mail that still fails after the last attempt is
// kept as `failed` for operators (`depesche mail list`, `depesche mail retry`,
// the depesche_mail_queue metric), never dropped.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "base/error.hpp"
#include "domain/queued_mail.hpp"
#include "mail/mailer.hpp"
#include "store/store.hpp"

namespace depesche::domain {

struct OutboxSettings {
  std::string from = "Depesche <noreply@depesche.invalid>";
  int max_attempts = 8;
  Millis first_retry_ms = 15'000;   // doubles with each failed attempt ...
  Millis max_retry_ms = 3'600'000;  // ... up to this
  Millis poll_ms = 5'000;           // how often the worker looks for due mails
};

class MailOutbox {
 public:
  using Clock = std::function<Millis()>;
  MailOutbox(store::Store& store, mail::Mailer& mailer, OutboxSettings settings,
             Clock clock = now_millis);
  ~MailOutbox();
  MailOutbox(const MailOutbox&) = delete;
  MailOutbox& operator=(const MailOutbox&) = delete;

  /// Stores the mail (From filled in when empty) and wakes the worker once
  /// it is committed; joins the caller's unit of work, if any.
  Result<QueuedMail> enqueue(std::string kind, mail::Mail mail);
  /// Tries every due mail once, each under the store's claim (so with
  /// several nodes every mail is sent by one); returns how many were
  /// attempted. The worker calls this; commands and tests may call it
  /// directly.
  int deliver_due();
  /// Starts the background worker (idempotent); stop() or the destructor
  /// ends it after the mail in hand.
  void start();
  void stop();

  /// Delay before attempt `attempts + 1`, after `attempts` failures.
  Millis backoff(int attempts) const;

 private:
  void run();
  /// Sends one claimed mail and records what came of it.
  void attempt(const QueuedMail& q);

  store::Store& store_;
  mail::Mailer& mailer_;
  OutboxSettings settings_;
  Clock clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool pending_wake_ = false;
  Millis next_retry_ = 0;  // earliest retry scheduled by deliver_due(); 0: none
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace depesche::domain
