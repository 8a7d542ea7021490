// The MailQueueRepository contract (the durable outbox: due order,
// claims, sending, retries, failure), run against every Store implementation
// (store_kinds()).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "store_fixture.hpp"

using namespace depesche;
using domain::MailState;
using domain::QueuedMail;

namespace {

constexpr Millis kStart = 1'800'000'000'000;

QueuedMail make_queued(std::string to, Millis due) {
  QueuedMail q;
  q.kind = "confirm";
  q.mail.from = "Depesche <noreply@news.example>";
  q.mail.to = std::move(to);
  q.mail.subject = "Subject";
  q.mail.text = "Text";
  q.created_at = kStart;
  q.next_attempt_at = due;
  return q;
}

class MailQueueRepositoryContract : public ::testing::TestWithParam<StoreKind> {
 public:
  TempDir dir;
  std::unique_ptr<store::Store> store = GetParam().open(dir);
  store::MailQueueRepository& queue = store->mail_queue();

  QueuedMail enqueue(std::string to, Millis due = kStart) {
    auto m = queue.enqueue(make_queued(std::move(to), due));
    EXPECT_TRUE(m) << m.error().message;
    return m.value_or(QueuedMail{});
  }
  QueuedMail only(MailState state) {
    auto all = queue.in_state(state, 10);
    EXPECT_TRUE(all);
    EXPECT_EQ(all.value_or(std::vector<QueuedMail>{}).size(), 1u);
    return all && !all->empty() ? all->front() : QueuedMail{};
  }
};

TEST_P(MailQueueRepositoryContract, ReadsBackEveryField) {
  QueuedMail q = make_queued("anna@example.org", kStart + 5);
  q.kind = "reset";
  q.mail.subject = "Passwort zurücksetzen";
  q.mail.text = "Öffnen Sie https://news.example/account/reset?token=abc";
  q.mail.html = "<p>Öffnen Sie …</p>";
  q.mail.message_id = "<1@news.example>";
  q.state = MailState::sent;  // ignored: a new mail is pending
  q.attempts = 7;             // ignored too
  auto stored = queue.enqueue(q);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_GT(stored->id, 0);
  EXPECT_EQ(stored->state, MailState::pending);

  auto due = queue.due(kStart + 5, 10).value();
  ASSERT_EQ(due.size(), 1u);
  const QueuedMail& read = due[0];
  EXPECT_EQ(read.id, stored->id);
  EXPECT_EQ(read.kind, "reset");
  EXPECT_EQ(read.mail.from, "Depesche <noreply@news.example>");
  EXPECT_EQ(read.mail.to, "anna@example.org");
  EXPECT_EQ(read.mail.subject, "Passwort zurücksetzen");
  EXPECT_EQ(read.mail.text, q.mail.text);
  EXPECT_EQ(read.mail.html, "<p>Öffnen Sie …</p>");
  EXPECT_EQ(read.mail.message_id, "<1@news.example>");
  EXPECT_EQ(read.state, MailState::pending);
  EXPECT_EQ(read.attempts, 0);
  EXPECT_EQ(read.created_at, kStart);
  EXPECT_EQ(read.next_attempt_at, kStart + 5);
  EXPECT_FALSE(read.sent_at);
  EXPECT_EQ(read.last_error, "");
  EXPECT_EQ(only(MailState::pending).id, stored->id);
}

TEST_P(MailQueueRepositoryContract, ReturnsDueMailsOldestDueFirst) {
  auto late = enqueue("late@example.org", kStart + 300);
  auto early = enqueue("early@example.org", kStart + 100);
  auto middle = enqueue("middle@example.org", kStart + 200);
  auto early2 = enqueue("early2@example.org", kStart + 100);
  auto future = enqueue("future@example.org", kStart + 10'000);
  EXPECT_EQ(early.state, MailState::pending);

  auto due = queue.due(kStart + 300, 10).value();
  ASSERT_EQ(due.size(), 4u);
  EXPECT_EQ(due[0].id, early.id);
  EXPECT_EQ(due[1].id, early2.id) << "ties by id";
  EXPECT_EQ(due[2].id, middle.id);
  EXPECT_EQ(due[3].id, late.id);
  EXPECT_EQ(due[3].mail.to, "late@example.org");
  EXPECT_EQ(queue.due(kStart + 300, 2)->size(), 2u);
  EXPECT_EQ(queue.due(kStart + 99, 10)->size(), 0u);

  ASSERT_TRUE(queue.mark_sent(early.id, kStart + 400));
  ASSERT_TRUE(queue.mark_attempt_failed(early2.id, 1, std::nullopt, "550"));
  ASSERT_TRUE(queue.mark_attempt_failed(middle.id, 1, kStart + 500, "timeout"));
  due = queue.due(kStart + 300, 10).value();
  ASSERT_EQ(due.size(), 1u) << "sent, failed and postponed mails are not due";
  EXPECT_EQ(due[0].id, late.id);
  due = queue.due(kStart + 10'000, 10).value();
  ASSERT_EQ(due.size(), 3u);
  EXPECT_EQ(due[0].id, late.id);
  EXPECT_EQ(due[1].id, middle.id);
  EXPECT_EQ(due[2].id, future.id);

  EXPECT_EQ(queue.count(MailState::pending).value(), 3);
  EXPECT_EQ(queue.count(MailState::sent).value(), 1);
  EXPECT_EQ(queue.count(MailState::failed).value(), 1);
  auto failed = queue.in_state(MailState::failed, 10).value();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].id, early2.id);
  EXPECT_EQ(failed[0].last_error, "550");
  EXPECT_EQ(failed[0].attempts, 1);
  EXPECT_EQ(failed[0].next_attempt_at, kStart + 100) << "a failed mail keeps its last due time";
}

TEST_P(MailQueueRepositoryContract, AMailIsDueFromItsDueTimeOn) {
  auto m = enqueue("anna@example.org", kStart + 100);
  EXPECT_TRUE(queue.due(kStart + 99, 10)->empty());
  auto at = queue.due(kStart + 100, 10).value();
  ASSERT_EQ(at.size(), 1u) << "due at exactly next_attempt_at";
  EXPECT_EQ(at[0].id, m.id);
  EXPECT_EQ(queue.due(kStart + 100, 10)->size(), 1u) << "due() only reads: it claims nothing";
}

TEST_P(MailQueueRepositoryContract, SendingDropsTheBodiesAndKeepsTheRecord) {
  QueuedMail q = make_queued("anna@example.org", kStart);
  q.mail.text = "https://news.example/account/confirm?token=secret";
  q.mail.html = "<a href=\"https://news.example/account/confirm?token=secret\">confirm</a>";
  auto m = queue.enqueue(q).value();
  auto other = enqueue("bob@example.org");
  ASSERT_TRUE(queue.mark_sent(m.id, kStart + 40));

  auto sent = only(MailState::sent);
  EXPECT_EQ(sent.id, m.id);
  EXPECT_EQ(sent.state, MailState::sent);
  EXPECT_EQ(sent.sent_at, kStart + 40);
  EXPECT_EQ(sent.mail.text, "") << "single-use links do not outlive delivery";
  EXPECT_EQ(sent.mail.html, "");
  EXPECT_EQ(sent.mail.to, "anna@example.org") << "who got what stays, for operators";
  EXPECT_EQ(sent.mail.subject, "Subject");
  EXPECT_EQ(sent.kind, "confirm");

  auto pending = only(MailState::pending);
  EXPECT_EQ(pending.id, other.id);
  EXPECT_EQ(pending.mail.text, "Text") << "other mails keep their bodies";
  EXPECT_EQ(queue.count(MailState::sent).value(), 1);
  EXPECT_EQ(queue.count(MailState::pending).value(), 1);
}

TEST_P(MailQueueRepositoryContract, AFailedAttemptPostponesOrGivesUp) {
  auto m = enqueue("anna@example.org", kStart);
  ASSERT_TRUE(queue.mark_attempt_failed(m.id, 1, kStart + 1000, "421 try later"));
  auto postponed = only(MailState::pending);
  EXPECT_EQ(postponed.attempts, 1);
  EXPECT_EQ(postponed.next_attempt_at, kStart + 1000);
  EXPECT_EQ(postponed.last_error, "421 try later");
  EXPECT_EQ(postponed.mail.text, "Text") << "it will be sent again";
  EXPECT_TRUE(queue.due(kStart + 999, 10)->empty());
  EXPECT_EQ(queue.due(kStart + 1000, 10)->size(), 1u);

  ASSERT_TRUE(queue.mark_attempt_failed(m.id, 2, kStart + 5000, "timeout"));
  EXPECT_EQ(only(MailState::pending).attempts, 2);
  EXPECT_EQ(only(MailState::pending).last_error, "timeout") << "the latest error counts";

  ASSERT_TRUE(queue.mark_attempt_failed(m.id, 3, std::nullopt, "550 no such user"));
  auto failed = only(MailState::failed);
  EXPECT_EQ(failed.id, m.id);
  EXPECT_EQ(failed.attempts, 3);
  EXPECT_EQ(failed.last_error, "550 no such user");
  EXPECT_FALSE(failed.sent_at);
  EXPECT_TRUE(queue.due(kStart + 1'000'000, 10)->empty()) << "failed for good";
  EXPECT_EQ(queue.count(MailState::pending).value(), 0);
}

TEST_P(MailQueueRepositoryContract, RetryFailedRequeuesOnlyFailedMails) {
  auto sent = enqueue("sent@example.org");
  auto failed = enqueue("failed@example.org");
  auto waiting = enqueue("waiting@example.org", kStart + 10'000);
  ASSERT_TRUE(queue.mark_sent(sent.id, kStart + 1));
  ASSERT_TRUE(queue.mark_attempt_failed(failed.id, 8, std::nullopt, "gave up"));
  EXPECT_EQ(queue.retry_failed(kStart + 50).value(), 1);
  auto due = queue.due(kStart + 50, 10).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, failed.id);
  EXPECT_EQ(due[0].state, MailState::pending);
  EXPECT_EQ(due[0].next_attempt_at, kStart + 50);
  EXPECT_EQ(due[0].attempts, 0) << "a fresh count of attempts";
  EXPECT_EQ(queue.count(MailState::sent).value(), 1);
  EXPECT_EQ(queue.count(MailState::failed).value(), 0);
  auto pending = queue.in_state(MailState::pending, 10).value();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[1].id, failed.id);
  EXPECT_EQ(pending[0].id, waiting.id);
  EXPECT_EQ(pending[0].next_attempt_at, kStart + 10'000) << "waiting mails keep their time";
  EXPECT_EQ(queue.retry_failed(kStart + 60).value(), 0) << "nothing left to retry";
}

TEST_P(MailQueueRepositoryContract, InStateListsNewestFirstUpToTheLimit) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(enqueue("u" + std::to_string(i) + "@example.org").id);
  auto all = queue.in_state(MailState::pending, 10).value();
  ASSERT_EQ(all.size(), 5u);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].id, ids[4 - i]);
  auto two = queue.in_state(MailState::pending, 2).value();
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].id, ids[4]);
  EXPECT_EQ(two[1].id, ids[3]);
  EXPECT_TRUE(queue.in_state(MailState::sent, 10)->empty());
  EXPECT_EQ(queue.count(MailState::pending).value(), 5);
  EXPECT_EQ(queue.count(MailState::failed).value(), 0);
}

TEST_P(MailQueueRepositoryContract, EnqueuedMailsSurviveReopeningTheStore) {
  auto m = enqueue("anna@example.org", kStart + 7);
  store.reset();
  store = GetParam().open(dir);
  auto due = store->mail_queue().due(kStart + 7, 10).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, m.id);
  EXPECT_EQ(due[0].mail.text, "Text");
}

TEST_P(MailQueueRepositoryContract, ClaimDueHandsOverEachDueMailAndKeepsWhatTheAttemptRecorded) {
  auto sent = enqueue("sent@example.org", kStart);
  auto later = enqueue("later@example.org", kStart + 10);
  auto retried = enqueue("retried@example.org", kStart + 1);
  auto not_yet = enqueue("not-yet@example.org", kStart + 500);
  std::vector<std::int64_t> handed;
  auto n = queue.claim_due(kStart + 100, 10, [&](const QueuedMail& m) {
    handed.push_back(m.id);
    EXPECT_EQ(m.mail.text, "Text") << "the whole mail is handed over";
    if (m.id == retried.id)
      ASSERT_TRUE(queue.mark_attempt_failed(m.id, 1, kStart + 1000, "421"));
    else
      ASSERT_TRUE(queue.mark_sent(m.id, kStart + 100));
  });
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(handed, (std::vector<std::int64_t>{sent.id, retried.id, later.id})) << "oldest first";
  EXPECT_EQ(queue.count(MailState::sent).value(), 2);
  auto pending = queue.due(kStart + 1000, 10).value();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].id, not_yet.id);
  EXPECT_EQ(pending[1].id, retried.id);
  EXPECT_EQ(pending[1].attempts, 1);
  EXPECT_EQ(queue.claim_due(kStart + 100, 10, [](const QueuedMail&) {}).value(), 0)
      << "nothing due is left at that time";
}

TEST_P(MailQueueRepositoryContract, ClaimDueStopsAtTheLimitAndAMailLeftUnrecordedIsDueAgain) {
  for (int i = 0; i < 3; ++i) enqueue("u" + std::to_string(i) + "@example.org");
  int calls = 0;
  EXPECT_EQ(queue.claim_due(kStart, 1, [&](const QueuedMail&) { ++calls; }).value(), 1);
  EXPECT_EQ(calls, 1);
  // Nothing recorded (a caller that gave up): the claim ended with the call.
  EXPECT_EQ(queue.due(kStart, 10)->size(), 3u);
  EXPECT_EQ(queue
                .claim_due(kStart, 2,
                           [&](const QueuedMail& m) { ASSERT_TRUE(queue.mark_sent(m.id, kStart)); })
                .value(),
            2);
  EXPECT_EQ(queue.count(MailState::pending).value(), 1);
}

// Claimers hand over mails in turns; each is sent once however the calls
// interleave. `claimers` each get their own queue (the same store's twice,
// or one per node).
void expect_each_mail_sent_once(MailQueueRepositoryContract* t,
                                std::vector<store::MailQueueRepository*> claimers, int mails) {
  for (int i = 0; i < mails; ++i) t->enqueue("u" + std::to_string(i) + "@example.org");
  std::mutex mutex;
  std::map<std::int64_t, int> times;
  std::vector<std::thread> threads;
  for (auto* q : claimers)
    threads.emplace_back([&, q] {
      for (;;) {
        auto n = q->claim_due(kStart, 1, [&](const QueuedMail& m) {
          std::this_thread::sleep_for(std::chrono::milliseconds(15));  // a mail server's pace
          {
            std::lock_guard lock(mutex);
            ++times[m.id];
          }
          ASSERT_TRUE(q->mark_sent(m.id, kStart));
        });
        ASSERT_TRUE(n) << n.error().message;
        if (*n == 0) return;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(times.size(), static_cast<std::size_t>(mails));
  for (auto [id, n] : times) EXPECT_EQ(n, 1) << "mail " << id << " sent " << n << " times";
  EXPECT_EQ(t->queue.count(MailState::sent).value(), mails);
}

TEST_P(MailQueueRepositoryContract, ConcurrentClaimersNeverGetTheSameMail) {
  expect_each_mail_sent_once(this, {&queue, &queue, &queue}, 12);
}

TEST_P(MailQueueRepositoryContract, TwoNodesClaimingOneOutboxSendEachMailOnce) {
  if (!GetParam().end_sessions) GTEST_SKIP() << "one process per data directory: no second node";
  auto other_node = GetParam().open(dir);
  expect_each_mail_sent_once(this, {&queue, &other_node->mail_queue()}, 12);
}

INSTANTIATE_TEST_SUITE_P(Stores, MailQueueRepositoryContract, ::testing::ValuesIn(store_kinds()),
                         store_kind_name);

}  // namespace
