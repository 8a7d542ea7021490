#include "store/postgres/pg_event_log.hpp"

#include "store/postgres/pg_commit_listener.hpp"

namespace depesche::store::postgres {
namespace {

#define EVENT_COLUMNS "SELECT position, topic, seq, name, data, created_at FROM events "

// The key of the transaction advisory lock every appending transaction
// holds until it ends: "depesche" in ASCII, plus 2.
constexpr const char* kAppendLock = "7234311957470472295";

// Pruning deletes in slices, so that no statement holds locks for long.
constexpr int kPruneSlice = 2000;

std::vector<LoggedEvent> read_events(const Rows& rows) {
  std::vector<LoggedEvent> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    LoggedEvent e;
    e.position = rows.int64(i, 0);
    e.topic = rows.text(i, 1);
    e.seq = static_cast<std::uint64_t>(rows.int64(i, 2));
    e.name = rows.text(i, 3);
    e.data = rows.text(i, 4);
    e.created_at = rows.int64(i, 5);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

Result<LoggedEvent> PgEventLog::append(std::string_view topic, std::string_view name,
                                       std::string_view data, Millis at) {
  if (topic.empty() || name.empty())
    return fail(ErrorCode::invalid, "an event needs a topic and a name");
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  bool own = pool_.unit_connection() == nullptr;
  Transaction tx(**db);
  if (auto r = tx.begin(); !r) return std::unexpected(r.error());
  // Positions in commit order: identity values are handed out when asked
  // for, not when the transaction commits, so two appenders could commit
  // out of order and a relay reading "after position p" would skip the
  // late one for good. Every appending transaction therefore holds this
  // lock until it ends (taking it again in the same transaction is free),
  // and draws its positions only while holding it.
  // The notification, in the same round trip, reaches the relays of every
  // node the moment this transaction commits (pg_commit_listener.hpp);
  // PostgreSQL folds a transaction's repeats into one.
  if (auto r = (*db)->query("SELECT pg_advisory_xact_lock($1::bigint), pg_notify($2, '')",
                            kAppendLock, kEventsChannel);
      !r)
    return std::unexpected(r.error());
  // The seq comes from the topic's counter row, whose row lock serialises
  // the writers of one topic: consecutive, never reused.
  auto row = (*db)->query(
      "WITH next AS (INSERT INTO event_topics AS t (topic, last_seq, epoch) VALUES ($1, 1, "
      "(SELECT value::bigint FROM store_meta WHERE key = 'log_epoch')) ON CONFLICT (topic) DO "
      "UPDATE SET last_seq = t.last_seq + 1 RETURNING last_seq) "
      "INSERT INTO events (topic, seq, name, data, created_at) SELECT $1, next.last_seq, $2::text, "
      "$3::text, $4::bigint FROM next RETURNING position, seq",
      topic, name, data, at);
  if (!row) return std::unexpected(row.error());
  LoggedEvent e{row->int64(0, 0),  std::string(topic), static_cast<std::uint64_t>(row->int64(0, 1)),
                std::string(name), std::string(data),  at};
  if (auto r = tx.commit(); !r) return std::unexpected(r.error());
  if (own)
    notify();
  else
    pool_.unit_appended() = true;
  return e;
}

Result<std::vector<LoggedEvent>> PgEventLog::after_position(std::int64_t position, int limit) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(EVENT_COLUMNS "WHERE position > $1::bigint ORDER BY position LIMIT $2",
                           position, limit);
  if (!rows) return std::unexpected(rows.error());
  return read_events(*rows);
}

Result<std::vector<LoggedEvent>> PgEventLog::topic_after(std::string_view topic, std::uint64_t seq,
                                                         int limit) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows =
      (*db)->query(EVENT_COLUMNS "WHERE topic = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3",
                   topic, static_cast<std::int64_t>(seq), limit);
  if (!rows) return std::unexpected(rows.error());
  return read_events(*rows);
}

Result<TopicHead> PgEventLog::head(std::string_view topic) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(
      "SELECT COALESCE(t.last_seq, 0), COALESCE(t.epoch, (SELECT value::bigint FROM store_meta "
      "WHERE key = 'log_epoch')), (SELECT MIN(seq) FROM events WHERE topic = $1) "
      "FROM (SELECT 1) AS one LEFT JOIN event_topics t ON t.topic = $1",
      topic);
  if (!rows) return std::unexpected(rows.error());
  TopicHead h;
  h.seq = static_cast<std::uint64_t>(rows->int64(0, 0));
  h.epoch = static_cast<std::uint64_t>(rows->int64(0, 1));
  h.oldest = rows->is_null(0, 2) ? 0 : static_cast<std::uint64_t>(rows->int64(0, 2));
  return h;
}

Result<std::int64_t> PgEventLog::latest_position() {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  // The newest committed position. Not the identity's counter: that also
  // counts positions of transactions still running or rolled back.
  auto rows = (*db)->query("SELECT COALESCE(MAX(position), 0) FROM events");
  if (!rows) return std::unexpected(rows.error());
  return rows->int64(0, 0);
}

Result<std::int64_t> PgEventLog::relay_position(std::string_view relay) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query("SELECT position FROM relay_positions WHERE relay = $1", relay);
  if (!rows) return std::unexpected(rows.error());
  return rows->empty() ? 0 : rows->int64(0, 0);
}

Result<void> PgEventLog::set_relay_position(std::string_view relay, std::int64_t position) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto r = (*db)->query(
      "INSERT INTO relay_positions AS r (relay, position) VALUES ($1, $2::bigint) ON CONFLICT "
      "(relay) DO UPDATE SET position = GREATEST(r.position, excluded.position)",
      relay, position);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::int64_t> PgEventLog::prune(const Retention& retention, Millis now) {
  std::int64_t removed = 0;
  // By age, never a topic's newest event (it carries the topic's seq).
  for (;;) {
    auto db = pool_.lease();
    if (!db) return std::unexpected(db.error());
    auto r = (*db)->query(
        "DELETE FROM events WHERE position IN (SELECT e.position FROM events e JOIN event_topics "
        "t ON t.topic = e.topic WHERE e.created_at < $1::bigint AND e.seq < t.last_seq AND "
        "e.position <= $2::bigint LIMIT $3)",
        now - retention.max_age_ms, retention.published_up_to, kPruneSlice);
    if (!r) return std::unexpected(r.error());
    removed += r->affected();
    if (r->affected() < kPruneSlice) break;
  }
  // By count: topics holding more than max_per_topic events.
  std::vector<std::pair<std::string, std::int64_t>> over;
  {
    auto db = pool_.lease();
    if (!db) return std::unexpected(db.error());
    auto rows = (*db)->query(
        "SELECT t.topic, t.last_seq FROM event_topics t WHERE t.last_seq - $1::bigint >= (SELECT "
        "MIN(seq) FROM events e WHERE e.topic = t.topic)",
        retention.max_per_topic);
    if (!rows) return std::unexpected(rows.error());
    for (int i = 0; i < rows->size(); ++i) over.emplace_back(rows->text(i, 0), rows->int64(i, 1));
  }
  for (const auto& [topic, last] : over) {
    auto db = pool_.lease();
    if (!db) return std::unexpected(db.error());
    auto r = (*db)->query(
        "DELETE FROM events WHERE topic = $1 AND seq <= $2::bigint AND position <= $3::bigint",
        topic, last - std::max<std::int64_t>(1, retention.max_per_topic),
        retention.published_up_to);
    if (!r) return std::unexpected(r.error());
    removed += r->affected();
  }
  return removed;
}

Result<void> PgEventLog::reset_topic(std::string_view topic) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  Transaction tx(**db);
  if (auto r = tx.begin(); !r) return r;
  if (auto r = (*db)->query("DELETE FROM events WHERE topic = $1", topic); !r)
    return std::unexpected(r.error());
  auto r = (*db)->query(
      "INSERT INTO event_topics (topic, last_seq, epoch) VALUES ($1, 0, floor(random() * "
      "4503599627370494)::bigint + 1) ON CONFLICT (topic) DO UPDATE SET epoch = excluded.epoch",
      topic);
  if (!r) return std::unexpected(r.error());
  return tx.commit();
}

}  // namespace depesche::store::postgres
