#include "store/postgres/pg_repositories.hpp"

namespace depesche::store::postgres {
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

std::vector<QueuedMail> read_mails(const Rows& rows) {
  std::vector<QueuedMail> out;
  for (int i = 0; i < rows.size(); ++i) {
    QueuedMail m;
    m.id = rows.int64(i, 0);
    m.kind = rows.text(i, 1);
    m.mail.from = rows.text(i, 2);
    m.mail.to = rows.text(i, 3);
    m.mail.subject = rows.text(i, 4);
    m.mail.text = rows.text(i, 5);
    m.mail.html = rows.text(i, 6);
    m.mail.message_id = rows.text(i, 7);
    m.state = parse_state(rows.text(i, 8));
    m.attempts = static_cast<int>(rows.int64(i, 9));
    m.created_at = rows.int64(i, 10);
    m.next_attempt_at = rows.int64(i, 11);
    m.sent_at = rows.opt_int64(i, 12);
    m.last_error = rows.text(i, 13);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

Result<QueuedMail> PgMailQueueRepository::enqueue(const QueuedMail& m) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(
      "INSERT INTO mail_queue (kind, mail_from, mail_to, subject, body_text, body_html, "
      "message_id, state, attempts, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, "
      "$7, 'pending', 0, $8::bigint, $9::bigint) RETURNING id",
      m.kind, m.mail.from, m.mail.to, m.mail.subject, m.mail.text, m.mail.html, m.mail.message_id,
      m.created_at, m.next_attempt_at);
  if (!rows) return std::unexpected(rows.error());
  QueuedMail out = m;
  out.id = rows->int64(0, 0);
  out.state = MailState::pending;
  return out;
}

// Only reads, as the contract says (the outbox marks each mail after its
// attempt). Two nodes reading the same due mails would both send them;
// a claim (UPDATE ... FOR UPDATE SKIP LOCKED with a lease) needs a new
// repository call and is not here yet: see docs/decisions.md.
Result<std::vector<QueuedMail>> PgMailQueueRepository::due(Millis now, int limit) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(MAIL_COLUMNS
                           "WHERE state = 'pending' AND next_attempt_at <= $1::bigint ORDER BY "
                           "next_attempt_at, id LIMIT $2",
                           now, limit);
  if (!rows) return std::unexpected(rows.error());
  return read_mails(*rows);
}

Result<void> PgMailQueueRepository::mark_sent(std::int64_t id, Millis at) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  // The old row version keeps the bodies until VACUUM reclaims it.
  auto r = (*db)->query(
      "UPDATE mail_queue SET state = 'sent', sent_at = $1::bigint, attempts = attempts + 1, "
      "body_text = '', body_html = '' WHERE id = $2::bigint",
      at, id);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<void> PgMailQueueRepository::mark_attempt_failed(std::int64_t id, int attempts,
                                                        std::optional<Millis> next_attempt_at,
                                                        std::string_view error) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto r = (*db)->query(
      "UPDATE mail_queue SET attempts = $1::integer, last_error = $2, state = CASE WHEN "
      "$3::bigint IS NULL THEN 'failed' ELSE 'pending' END, next_attempt_at = "
      "COALESCE($3::bigint, next_attempt_at) WHERE id = $4::bigint",
      attempts, error, next_attempt_at, id);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::vector<QueuedMail>> PgMailQueueRepository::in_state(MailState state, int limit) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(MAIL_COLUMNS "WHERE state = $1 ORDER BY id DESC LIMIT $2",
                           to_string(state), limit);
  if (!rows) return std::unexpected(rows.error());
  return read_mails(*rows);
}

Result<int> PgMailQueueRepository::retry_failed(Millis now) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto r = (*db)->query(
      "UPDATE mail_queue SET state = 'pending', attempts = 0, next_attempt_at = $1::bigint WHERE "
      "state = 'failed'",
      now);
  if (!r) return std::unexpected(r.error());
  return static_cast<int>(r->affected());
}

Result<std::int64_t> PgMailQueueRepository::count(MailState state) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query("SELECT COUNT(*) FROM mail_queue WHERE state = $1", to_string(state));
  if (!rows) return std::unexpected(rows.error());
  return rows->int64(0, 0);
}

}  // namespace depesche::store::postgres
