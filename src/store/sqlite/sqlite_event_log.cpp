#include "store/sqlite/sqlite_event_log.hpp"

namespace depesche::store::sqlite {
namespace {

#define EVENT_COLUMNS "SELECT position, topic, seq, name, data, created_at FROM events "

// Pruning deletes in slices, so that it never holds the writer for long.
constexpr int kPruneSlice = 2000;

LoggedEvent read_event(const Statement& st) {
  LoggedEvent e;
  e.position = st.int64(0);
  e.topic = st.text(1);
  e.seq = static_cast<std::uint64_t>(st.int64(2));
  e.name = st.text(3);
  e.data = st.text(4);
  e.created_at = st.int64(5);
  return e;
}

Result<std::vector<LoggedEvent>> read_events(Statement& st) {
  std::vector<LoggedEvent> out;
  for (;;) {
    auto row = st.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out.push_back(read_event(st));
  }
}

Result<std::int64_t> single_int(Statement& st, std::int64_t if_none) {
  auto row = st.step();
  if (!row) return std::unexpected(row.error());
  if (!*row || st.is_null(0)) return if_none;
  return st.int64(0);
}

}  // namespace

Result<LoggedEvent> SqliteEventLog::append(std::string_view topic, std::string_view name,
                                           std::string_view data, Millis at) {
  if (topic.empty() || name.empty())
    return fail(ErrorCode::invalid, "an event needs a topic and a name");
  bool own = pool_.unit_connection() == nullptr;
  auto db = pool_.writer();
  Transaction tx(*db);
  if (auto r = tx.begin(); !r) return std::unexpected(r.error());
  // The seq comes from the topic's row, which the write transaction holds:
  // consecutive, never reused, whatever wrote before.
  auto next = db->prepare(
      "INSERT INTO event_topics (topic, last_seq, epoch) VALUES (?1, 1, (SELECT CAST(value AS "
      "INTEGER) FROM store_meta WHERE key = 'log_epoch')) ON CONFLICT (topic) DO UPDATE SET "
      "last_seq = last_seq + 1 RETURNING last_seq");
  if (!next) return std::unexpected(next.error());
  next->bind(1, topic);
  auto seq = single_int(*next, 0);
  if (!seq) return std::unexpected(seq.error());
  if (auto r = next->run(); !r) return std::unexpected(r.error());
  auto ins =
      db->prepare("INSERT INTO events (topic, seq, name, data, created_at) VALUES (?, ?, ?, ?, ?)");
  if (!ins) return std::unexpected(ins.error());
  ins->bind(1, topic).bind(2, *seq).bind(3, name).bind(4, data).bind(5, at);
  if (auto r = ins->run(); !r) return std::unexpected(r.error());
  LoggedEvent e{db->last_insert_id(), std::string(topic), static_cast<std::uint64_t>(*seq),
                std::string(name),    std::string(data),  at};
  if (auto r = tx.commit(); !r) return std::unexpected(r.error());
  if (own)
    notify();
  else
    pool_.unit_appended() = true;
  return e;
}

Result<std::vector<LoggedEvent>> SqliteEventLog::after_position(std::int64_t position, int limit) {
  auto db = pool_.reader();
  auto st = db->prepare(EVENT_COLUMNS "WHERE position > ? ORDER BY position LIMIT ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, position).bind(2, limit);
  return read_events(*st);
}

Result<std::vector<LoggedEvent>> SqliteEventLog::topic_after(std::string_view topic,
                                                             std::uint64_t seq, int limit) {
  auto db = pool_.reader();
  auto st = db->prepare(EVENT_COLUMNS "WHERE topic = ? AND seq > ? ORDER BY seq LIMIT ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, topic).bind(2, static_cast<std::int64_t>(seq)).bind(3, limit);
  return read_events(*st);
}

Result<TopicHead> SqliteEventLog::head(std::string_view topic) {
  auto db = pool_.reader();
  auto st = db->prepare(
      "SELECT COALESCE(t.last_seq, 0), COALESCE(t.epoch, (SELECT CAST(value AS INTEGER) FROM "
      "store_meta WHERE key = 'log_epoch')), (SELECT MIN(seq) FROM events WHERE topic = ?1) "
      "FROM (SELECT 1) LEFT JOIN event_topics t ON t.topic = ?1");
  if (!st) return std::unexpected(st.error());
  st->bind(1, topic);
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  TopicHead h;
  h.seq = static_cast<std::uint64_t>(st->int64(0));
  h.epoch = static_cast<std::uint64_t>(st->int64(1));
  h.oldest = st->is_null(2) ? 0 : static_cast<std::uint64_t>(st->int64(2));
  return h;
}

Result<std::int64_t> SqliteEventLog::latest_position() {
  auto db = pool_.reader();
  // AUTOINCREMENT's counter: the newest position even when pruning emptied the table.
  auto st = db->prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'");
  if (!st) return std::unexpected(st.error());
  return single_int(*st, 0);
}

Result<std::int64_t> SqliteEventLog::relay_position(std::string_view relay) {
  auto db = pool_.reader();
  auto st = db->prepare("SELECT position FROM relay_positions WHERE relay = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, relay);
  return single_int(*st, 0);
}

Result<void> SqliteEventLog::set_relay_position(std::string_view relay, std::int64_t position) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "INSERT INTO relay_positions (relay, position) VALUES (?1, ?2) ON CONFLICT (relay) DO "
      "UPDATE SET position = MAX(position, ?2)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, relay).bind(2, position);
  return st->run();
}

Result<std::int64_t> SqliteEventLog::prune(const Retention& retention, Millis now) {
  std::int64_t removed = 0;
  // By age, never a topic's newest event (it carries the topic's seq).
  for (;;) {
    auto db = pool_.writer();
    auto st = db->prepare(
        "DELETE FROM events WHERE position IN (SELECT e.position FROM events e JOIN event_topics "
        "t ON t.topic = e.topic WHERE e.created_at < ? AND e.seq < t.last_seq AND e.position <= ? "
        "LIMIT ?)");
    if (!st) return std::unexpected(st.error());
    st->bind(1, now - retention.max_age_ms).bind(2, retention.published_up_to).bind(3, kPruneSlice);
    if (auto r = st->run(); !r) return std::unexpected(r.error());
    removed += db->changes();
    if (db->changes() < kPruneSlice) break;
  }
  // By count: topics holding more than max_per_topic events.
  std::vector<std::pair<std::string, std::int64_t>> over;
  {
    auto db = pool_.reader();
    auto st = db->prepare(
        "SELECT t.topic, t.last_seq FROM event_topics t WHERE t.last_seq - ? >= (SELECT MIN(seq) "
        "FROM events e WHERE e.topic = t.topic)");
    if (!st) return std::unexpected(st.error());
    st->bind(1, retention.max_per_topic);
    for (;;) {
      auto row = st->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      over.emplace_back(st->text(0), st->int64(1));
    }
  }
  for (const auto& [topic, last] : over) {
    auto db = pool_.writer();
    auto st = db->prepare("DELETE FROM events WHERE topic = ? AND seq <= ? AND position <= ?");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic)
        .bind(2, last - std::max<std::int64_t>(1, retention.max_per_topic))
        .bind(3, retention.published_up_to);
    if (auto r = st->run(); !r) return std::unexpected(r.error());
    removed += db->changes();
  }
  return removed;
}

Result<void> SqliteEventLog::reset_topic(std::string_view topic) {
  auto db = pool_.writer();
  Transaction tx(*db);
  if (auto r = tx.begin(); !r) return r;
  auto del = db->prepare("DELETE FROM events WHERE topic = ?");
  if (!del) return std::unexpected(del.error());
  del->bind(1, topic);
  if (auto r = del->run(); !r) return r;
  auto st = db->prepare(
      "INSERT INTO event_topics (topic, last_seq, epoch) VALUES (?1, 0, abs(random()) % "
      "4503599627370495 + 1) ON CONFLICT (topic) DO UPDATE SET epoch = excluded.epoch");
  if (!st) return std::unexpected(st.error());
  st->bind(1, topic);
  if (auto r = st->run(); !r) return r;
  return tx.commit();
}

}  // namespace depesche::store::sqlite
