// The durable outbox against a real SQLite store: delivery, retries with
// backoff, permanent failures, operator retry, and the worker thread. A
// scripted Mailer answers; the clock is a variable the test moves.
#include "domain/mail_outbox.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "store_fixture.hpp"

using namespace depesche;
using domain::MailOutbox;
using domain::MailState;
using domain::OutboxSettings;
using domain::QueuedMail;

namespace {

constexpr Millis kStart = 1'800'000'000'000;

// Answers deliveries from a script, then with `otherwise`; records every attempt.
class ScriptedMailer final : public mail::Mailer {
 public:
  Result<void> deliver(const mail::Mail& m) override {
    std::lock_guard lock(mutex_);
    attempts_.push_back(m);
    Result<void> r = otherwise;
    if (!script.empty()) {
      r = script.front();
      script.pop_front();
    }
    changed_.notify_all();
    return r;
  }
  const char* kind() const override { return "scripted"; }

  std::size_t attempts() {
    std::lock_guard lock(mutex_);
    return attempts_.size();
  }
  mail::Mail attempt(std::size_t i) {
    std::lock_guard lock(mutex_);
    return attempts_.at(i);
  }
  bool wait_for_attempts(std::size_t n, std::chrono::seconds deadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, deadline, [&] { return attempts_.size() >= n; });
  }

  std::deque<Result<void>> script;  // set before delivery starts
  Result<void> otherwise = {};

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<mail::Mail> attempts_;
};

std::unexpected<Error> server_down() { return fail(ErrorCode::unavailable, "connection refused"); }
std::unexpected<Error> rejected() { return fail(ErrorCode::invalid, "550 no such user"); }

mail::Mail make_mail(std::string to = "anna@example.org") {
  mail::Mail m;
  m.to = std::move(to);
  m.subject = "Please confirm your e-mail address";
  m.text = "Hello,\n\nhttps://news.example/account/confirm?token=abc\n";
  m.html = "<p>Hello</p>";
  return m;
}

class MailOutboxTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = open_test_store(dir);
  ScriptedMailer mailer;
  std::atomic<Millis> now = kStart;
  OutboxSettings settings{.from = "Depesche <noreply@news.example>",
                          .max_attempts = 5,
                          .first_retry_ms = 1'000,
                          .max_retry_ms = 4'000,
                          .poll_ms = 60'000};
  MailOutbox outbox{*store, mailer, settings, [this] { return now.load(); }};

  // The one mail in the store, whatever its state.
  QueuedMail only_mail() {
    std::vector<QueuedMail> all;
    for (auto state : {MailState::pending, MailState::sent, MailState::failed}) {
      auto in_state = store->mail_queue().in_state(state, 100).value();
      all.insert(all.end(), in_state.begin(), in_state.end());
    }
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? QueuedMail{} : all[0];
  }
};

TEST_F(MailOutboxTest, EnqueueStoresThePendingMailDueNowWithTheSender) {
  auto q = outbox.enqueue("confirm", make_mail());
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_GT(q->id, 0);
  EXPECT_EQ(mailer.attempts(), 0u) << "enqueue only stores";
  QueuedMail stored = only_mail();
  EXPECT_EQ(stored.id, q->id);
  EXPECT_EQ(stored.kind, "confirm");
  EXPECT_EQ(stored.state, MailState::pending);
  EXPECT_EQ(stored.attempts, 0);
  EXPECT_EQ(stored.created_at, kStart);
  EXPECT_EQ(stored.next_attempt_at, kStart);
  EXPECT_EQ(stored.mail.from, "Depesche <noreply@news.example>");
  EXPECT_EQ(stored.mail.to, "anna@example.org");
  EXPECT_EQ(stored.mail.subject, make_mail().subject);
  EXPECT_EQ(stored.mail.text, make_mail().text);
  EXPECT_EQ(stored.mail.html, make_mail().html);

  auto own_sender = make_mail("bob@example.org");
  own_sender.from = "Desk <desk@news.example>";
  ASSERT_TRUE(outbox.enqueue("notice", own_sender));
  auto pending = store->mail_queue().in_state(MailState::pending, 10).value();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].mail.from, "Desk <desk@news.example>") << "newest first";
}

TEST_F(MailOutboxTest, ADeliveredMailIsMarkedSent) {
  ASSERT_TRUE(outbox.enqueue("confirm", make_mail()));
  now += 5;
  EXPECT_EQ(outbox.deliver_due(), 1);
  ASSERT_EQ(mailer.attempts(), 1u);
  EXPECT_EQ(mailer.attempt(0).to, "anna@example.org");
  EXPECT_EQ(mailer.attempt(0).from, "Depesche <noreply@news.example>");
  QueuedMail m = only_mail();
  EXPECT_EQ(m.state, MailState::sent);
  EXPECT_EQ(m.sent_at, kStart + 5);
  EXPECT_EQ(m.attempts, 1);
  EXPECT_EQ(store->mail_queue().count(MailState::sent).value(), 1);
  EXPECT_EQ(store->mail_queue().count(MailState::pending).value(), 0);
  EXPECT_EQ(outbox.deliver_due(), 0) << "a sent mail is not sent again";
  EXPECT_EQ(mailer.attempts(), 1u);
}

TEST_F(MailOutboxTest, UnavailableMailerMeansRetriesWithDoublingBackoffUpToTheCap) {
  mailer.otherwise = server_down();
  ASSERT_TRUE(outbox.enqueue("confirm", make_mail()));
  // first_retry 1 s, doubling, capped at 4 s.
  const Millis expected_delays[] = {1'000, 2'000, 4'000, 4'000};
  for (int attempt = 1; attempt <= 4; ++attempt) {
    ASSERT_EQ(outbox.deliver_due(), 1) << attempt;
    QueuedMail m = only_mail();
    EXPECT_EQ(m.state, MailState::pending) << attempt;
    EXPECT_EQ(m.attempts, attempt);
    EXPECT_EQ(m.last_error, "connection refused");
    Millis delay = expected_delays[attempt - 1];
    EXPECT_EQ(m.next_attempt_at, now + delay) << attempt;
    now += delay - 1;
    EXPECT_EQ(outbox.deliver_due(), 0) << "not due a millisecond early, attempt " << attempt;
    now += 1;
  }
  EXPECT_EQ(mailer.attempts(), 4u);
}

TEST_F(MailOutboxTest, AfterTheLastAttemptTheMailIsFailedAndKept) {
  mailer.otherwise = server_down();
  ASSERT_TRUE(outbox.enqueue("reset", make_mail()));
  for (int attempt = 1; attempt <= settings.max_attempts; ++attempt) {
    ASSERT_EQ(outbox.deliver_due(), 1) << attempt;
    now += settings.max_retry_ms;
  }
  QueuedMail m = only_mail();
  EXPECT_EQ(m.state, MailState::failed);
  EXPECT_EQ(m.attempts, settings.max_attempts);
  EXPECT_EQ(m.last_error, "connection refused");
  EXPECT_EQ(m.kind, "reset");
  EXPECT_EQ(m.mail.to, "anna@example.org") << "kept whole for operators";
  EXPECT_EQ(store->mail_queue().count(MailState::failed).value(), 1);
  now += 100 * settings.max_retry_ms;
  EXPECT_EQ(outbox.deliver_due(), 0) << "failed mails are not tried again by themselves";
  EXPECT_EQ(mailer.attempts(), static_cast<std::size_t>(settings.max_attempts));
}

TEST_F(MailOutboxTest, ARejectedMailFailsAtOnce) {
  mailer.script = {rejected()};
  ASSERT_TRUE(outbox.enqueue("confirm", make_mail("nobody@example.org")));
  EXPECT_EQ(outbox.deliver_due(), 1);
  QueuedMail m = only_mail();
  EXPECT_EQ(m.state, MailState::failed);
  EXPECT_EQ(m.attempts, 1);
  EXPECT_EQ(m.last_error, "550 no such user");
  now += 100 * settings.max_retry_ms;
  EXPECT_EQ(outbox.deliver_due(), 0);
}

TEST_F(MailOutboxTest, ARetryThatSucceedsMarksTheMailSent) {
  mailer.script = {server_down(), server_down()};
  ASSERT_TRUE(outbox.enqueue("confirm", make_mail()));
  ASSERT_EQ(outbox.deliver_due(), 1);
  now += 1'000;
  ASSERT_EQ(outbox.deliver_due(), 1);
  now += 2'000;
  ASSERT_EQ(outbox.deliver_due(), 1);
  QueuedMail m = only_mail();
  EXPECT_EQ(m.state, MailState::sent);
  EXPECT_EQ(m.attempts, 3);
  EXPECT_EQ(m.sent_at, kStart + 3'000);
}

TEST_F(MailOutboxTest, OperatorRetryRequeuesFailedMails) {
  mailer.script = {rejected()};
  ASSERT_TRUE(outbox.enqueue("confirm", make_mail()));
  ASSERT_EQ(outbox.deliver_due(), 1);
  ASSERT_EQ(only_mail().state, MailState::failed);
  now += 10'000;
  auto requeued = store->mail_queue().retry_failed(now);
  ASSERT_TRUE(requeued);
  EXPECT_EQ(*requeued, 1);
  QueuedMail m = only_mail();
  EXPECT_EQ(m.state, MailState::pending);
  EXPECT_EQ(m.next_attempt_at, now) << "due at once";
  EXPECT_EQ(outbox.deliver_due(), 1);
  EXPECT_EQ(only_mail().state, MailState::sent);
  EXPECT_EQ(store->mail_queue().retry_failed(now).value(), 0);
}

TEST_F(MailOutboxTest, AnOperatorRetryGetsRetriesAgainNotASingleAttempt) {
  mailer.otherwise = server_down();
  ASSERT_TRUE(outbox.enqueue("confirm", make_mail()));
  for (int attempt = 1; attempt <= settings.max_attempts; ++attempt) {
    ASSERT_EQ(outbox.deliver_due(), 1);
    now += settings.max_retry_ms;
  }
  ASSERT_EQ(only_mail().state, MailState::failed);
  // The operator fixes the mail server and queues the mail again; the
  // server still drops one connection.
  ASSERT_EQ(store->mail_queue().retry_failed(now).value(), 1);
  ASSERT_EQ(outbox.deliver_due(), 1);
  QueuedMail m = only_mail();
  EXPECT_EQ(m.state, MailState::pending) << "one hiccup after a retry is retried again";
  EXPECT_EQ(m.next_attempt_at, now + settings.first_retry_ms);
}

TEST_F(MailOutboxTest, BackoffDoublesFromTheFirstDelayAndStopsAtTheMaximum) {
  OutboxSettings defaults;
  MailOutbox o(*store, mailer, defaults, [this] { return now.load(); });
  EXPECT_EQ(o.backoff(1), 15'000);
  EXPECT_EQ(o.backoff(2), 30'000);
  EXPECT_EQ(o.backoff(3), 60'000);
  EXPECT_EQ(o.backoff(8), 15'000LL << 7);
  EXPECT_EQ(o.backoff(9), 3'600'000);
  EXPECT_EQ(o.backoff(1000), 3'600'000) << "no overflow for absurd counts";
  EXPECT_EQ(o.backoff(0), 15'000);
}

TEST_F(MailOutboxTest, DeliversDueMailsOldestFirst) {
  ASSERT_TRUE(outbox.enqueue("a", make_mail("first@example.org")));
  now += 1;
  ASSERT_TRUE(outbox.enqueue("b", make_mail("second@example.org")));
  now += 1;
  ASSERT_TRUE(outbox.enqueue("c", make_mail("third@example.org")));
  EXPECT_EQ(outbox.deliver_due(), 3);
  ASSERT_EQ(mailer.attempts(), 3u);
  EXPECT_EQ(mailer.attempt(0).to, "first@example.org");
  EXPECT_EQ(mailer.attempt(1).to, "second@example.org");
  EXPECT_EQ(mailer.attempt(2).to, "third@example.org");
}

TEST_F(MailOutboxTest, TheWorkerDeliversAnEnqueuedMailWithoutBeingAsked) {
  outbox.start();
  outbox.start();  // idempotent
  ASSERT_TRUE(outbox.enqueue("confirm", make_mail()));
  ASSERT_TRUE(mailer.wait_for_attempts(1, std::chrono::seconds(10)));
  outbox.stop();  // returns after the mail in hand is recorded
  EXPECT_EQ(only_mail().state, MailState::sent);
  outbox.stop();  // twice is harmless
}

TEST_F(MailOutboxTest, EveryRetryComesAtItsOwnTimeNotAtTheNextPoll) {
  // A real clock here: the worker sleeps for real. Retries after 50, 100,
  // 200 ms; the poll is a minute away, so a retry left to the poll fails.
  MailOutbox quick{*store, mailer,
                   OutboxSettings{.max_attempts = 5, .first_retry_ms = 50, .poll_ms = 60'000}};
  mailer.script = {server_down(), server_down(), server_down()};
  quick.start();
  ASSERT_TRUE(quick.enqueue("confirm", make_mail()));
  EXPECT_TRUE(mailer.wait_for_attempts(4, std::chrono::seconds(20)))
      << "only " << mailer.attempts() << " attempts: a retry waited for the poll";
  quick.stop();
  EXPECT_EQ(only_mail().state, MailState::sent);
}

TEST_F(MailOutboxTest, EveryAttemptOfAMailCarriesTheSameMessageId) {
  mailer.script = {server_down()};
  ASSERT_TRUE(outbox.enqueue("confirm", make_mail()));
  EXPECT_EQ(outbox.deliver_due(), 1);
  now += settings.first_retry_ms;
  EXPECT_EQ(outbox.deliver_due(), 1);
  ASSERT_EQ(mailer.attempts(), 2u);
  std::string id = mailer.attempt(0).message_id;
  EXPECT_TRUE(id.ends_with("@news.example")) << id;
  EXPECT_EQ(mailer.attempt(1).message_id, id)
      << "a receiver can drop the copy a crash made us send twice";
  ASSERT_TRUE(outbox.enqueue("confirm", make_mail()));
  EXPECT_EQ(outbox.deliver_due(), 1);
  EXPECT_NE(mailer.attempt(2).message_id, id) << "another mail, another ID";
}

TEST_F(MailOutboxTest, StoppingANeverStartedOutboxIsHarmless) {
  outbox.stop();
  EXPECT_EQ(outbox.deliver_due(), 0);
}

}  // namespace
