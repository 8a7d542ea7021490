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

// Only reads, as the contract says: the outbox sends what claim_due()
// hands it.
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

// Each mail is claimed by its row lock (FOR UPDATE SKIP LOCKED) in a
// transaction of its own, held while it is sent and until what the attempt
// recorded is committed: another node skips it, and a node that dies (its
// connection with it) lets go of it at once, where a lease would have to
// run out first. One connection is held for the duration of a send.
Result<int> PgMailQueueRepository::claim_due(
    Millis now, int limit, const std::function<void(const QueuedMail&)>& attempt) {
  if (pool_.unit_connection() != nullptr)
    return std::unexpected(Error{ErrorCode::internal, "claim_due inside a unit of work"});
  int handed = 0;
  while (handed < limit) {
    auto db = pool_.lease();
    if (!db) return std::unexpected(db.error());
    Transaction tx(**db);
    if (auto r = tx.begin(); !r) return std::unexpected(r.error());
    auto rows = (*db)->query(MAIL_COLUMNS
                             "WHERE state = 'pending' AND next_attempt_at <= $1::bigint ORDER BY "
                             "next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
                             now);
    if (!rows) return std::unexpected(rows.error());
    auto mails = read_mails(*rows);
    if (mails.empty()) break;
    {
      // mark_sent and mark_attempt_failed, called by the attempt, lease
      // this connection: their updates join the claim's transaction.
      pool_.set_unit_connection(&**db);
      struct EndClaim {
        ConnectionPool& pool;
        ~EndClaim() { pool.set_unit_connection(nullptr); }
      } end_claim{pool_};
      attempt(mails.front());
    }
    if (auto r = tx.commit(); !r) return std::unexpected(r.error());
    ++handed;
  }
  return handed;
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
