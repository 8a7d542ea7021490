#include "store/sqlite/sqlite_repositories.hpp"

namespace depesche::store::sqlite {
namespace {

using domain::MailState;
using domain::QueuedMail;

#define MAIL_COLUMNS                                                                        \
  "SELECT id, kind, mail_from, mail_to, subject, body_text, body_html, message_id, state, " \
  "attempts, created_at, next_attempt_at, sent_at, last_error FROM mail_queue "

MailState parse_state(std::string_view s) {
  if (s == "sent") return MailState::sent;
  if (s == "failed") return MailState::failed;
  return MailState::pending;
}

QueuedMail read_mail(const Statement& st) {
  QueuedMail m;
  m.id = st.int64(0);
  m.kind = st.text(1);
  m.mail.from = st.text(2);
  m.mail.to = st.text(3);
  m.mail.subject = st.text(4);
  m.mail.text = st.text(5);
  m.mail.html = st.text(6);
  m.mail.message_id = st.text(7);
  m.state = parse_state(st.text(8));
  m.attempts = static_cast<int>(st.int64(9));
  m.created_at = st.int64(10);
  m.next_attempt_at = st.int64(11);
  m.sent_at = st.opt_int64(12);
  m.last_error = st.text(13);
  return m;
}

Result<std::vector<QueuedMail>> read_all(Statement& st) {
  std::vector<QueuedMail> out;
  for (;;) {
    auto row = st.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_mail(st));
  }
  return out;
}

}  // namespace

Result<QueuedMail> SqliteMailQueueRepository::enqueue(const QueuedMail& m) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "INSERT INTO mail_queue (kind, mail_from, mail_to, subject, body_text, body_html, "
      "message_id, state, attempts, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
      "'pending', 0, ?, ?)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, m.kind)
      .bind(2, m.mail.from)
      .bind(3, m.mail.to)
      .bind(4, m.mail.subject)
      .bind(5, m.mail.text)
      .bind(6, m.mail.html)
      .bind(7, m.mail.message_id)
      .bind(8, m.created_at)
      .bind(9, m.next_attempt_at);
  if (auto r = st->run(); !r) return std::unexpected(r.error());
  QueuedMail out = m;
  out.id = db->last_insert_id();
  out.state = MailState::pending;
  return out;
}

Result<std::vector<QueuedMail>> SqliteMailQueueRepository::due(Millis now, int limit) {
  auto db = pool_.reader();
  auto st = db->prepare(MAIL_COLUMNS
                        "WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY "
                        "next_attempt_at, id LIMIT ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, now).bind(2, limit);
  return read_all(*st);
}

// One process owns a data directory (app/data_dir_lock), so a claim is this
// mutex: callers read and attempt the due mails one at a time. No write
// transaction is held while a mail is sent; that would make every other
// write wait for the mail server.
Result<int> SqliteMailQueueRepository::claim_due(
    Millis now, int limit, const std::function<void(const QueuedMail&)>& attempt) {
  std::lock_guard lock(claim_mutex_);
  auto mails = due(now, limit);
  if (!mails) return std::unexpected(mails.error());
  for (const auto& m : *mails) attempt(m);
  return static_cast<int>(mails->size());
}

Result<void> SqliteMailQueueRepository::mark_sent(std::int64_t id, Millis at) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "UPDATE mail_queue SET state = 'sent', sent_at = ?, attempts = attempts + 1, body_text = '', "
      "body_html = '' WHERE id = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, at).bind(2, id);
  if (auto r = st->run(); !r) return r;
  // secure_delete zeroes the old bodies in the database pages; the WAL
  // holds copies until it is checkpointed and emptied. The background
  // checkpointer does that soon, never this writer: here it would make
  // every other write wait for the slowest reader.
  pool_.request_checkpoint();
  return {};
}

Result<void> SqliteMailQueueRepository::mark_attempt_failed(std::int64_t id, int attempts,
                                                            std::optional<Millis> next_attempt_at,
                                                            std::string_view error) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "UPDATE mail_queue SET attempts = ?, last_error = ?, state = CASE WHEN ? IS NULL THEN "
      "'failed' ELSE 'pending' END, next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, attempts)
      .bind(2, error)
      .bind(3, next_attempt_at)
      .bind(4, next_attempt_at)
      .bind(5, id);
  return st->run();
}

Result<std::vector<QueuedMail>> SqliteMailQueueRepository::in_state(MailState state, int limit) {
  auto db = pool_.reader();
  auto st = db->prepare(MAIL_COLUMNS "WHERE state = ? ORDER BY id DESC LIMIT ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, to_string(state)).bind(2, limit);
  return read_all(*st);
}

Result<int> SqliteMailQueueRepository::retry_failed(Millis now) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "UPDATE mail_queue SET state = 'pending', attempts = 0, next_attempt_at = ? WHERE state = "
      "'failed'");
  if (!st) return std::unexpected(st.error());
  st->bind(1, now);
  if (auto r = st->run(); !r) return std::unexpected(r.error());
  return db->changes();
}

Result<std::int64_t> SqliteMailQueueRepository::count(MailState state) {
  auto db = pool_.reader();
  auto st = db->prepare("SELECT COUNT(*) FROM mail_queue WHERE state = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, to_string(state));
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  return st->int64(0);
}

}  // namespace depesche::store::sqlite
