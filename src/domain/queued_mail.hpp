#pragma once
// A mail in the outbox: kept in the store from the moment a service asks
// for it until it is delivered, so a restart or a dead SMTP server loses
// nothing. Mails that keep failing stay, marked failed, for operators.

#include <cstdint>
#include <optional>
#include <string>

#include "base/time.hpp"
#include "mail/mailer.hpp"

namespace depesche::domain {

enum class MailState { pending, sent, failed };

inline const char* to_string(MailState s) {
  switch (s) {
    case MailState::pending: return "pending";
    case MailState::sent: return "sent";
    case MailState::failed: return "failed";
  }
  return "pending";
}

struct QueuedMail {
  std::int64_t id = 0;
  mail::Mail mail;
  std::string kind;  // "confirm", "reset", ...: for operators and metrics
  MailState state = MailState::pending;
  int attempts = 0;
  Millis created_at = 0;
  Millis next_attempt_at = 0;
  std::optional<Millis> sent_at;
  std::string last_error;
};

}  // namespace depesche::domain
