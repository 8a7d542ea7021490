#include "store/sqlite/migrations.hpp"

#include <array>
#include <string>

#include "base/log.hpp"
#include "base/time.hpp"
#include "store/sqlite/database.hpp"

namespace depesche::store::sqlite {
namespace {

// Append only: a released migration never changes, the next one fixes it.
constexpr std::array kMigrations = {
    // 1: sections, articles, tags, related, revisions, API tokens.
    R"sql(
CREATE TABLE sections (
  id INTEGER PRIMARY KEY,
  edition TEXT NOT NULL,
  slug TEXT NOT NULL,
  name TEXT NOT NULL,
  position INTEGER NOT NULL DEFAULT 0,
  UNIQUE (edition, slug)
);
CREATE TABLE articles (
  id INTEGER PRIMARY KEY,
  edition TEXT NOT NULL,
  slug TEXT NOT NULL,
  section_id INTEGER NOT NULL REFERENCES sections(id),
  headline TEXT NOT NULL,
  teaser TEXT NOT NULL,
  body TEXT NOT NULL,
  body_html TEXT NOT NULL,
  image_url TEXT,
  image_caption TEXT,
  image_credit TEXT,
  image_width INTEGER,
  image_height INTEGER,
  author TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
  top INTEGER NOT NULL DEFAULT 0,
  published_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  translation_group INTEGER NOT NULL DEFAULT 0,
  UNIQUE (edition, slug)
);
CREATE INDEX articles_by_edition_time ON articles (edition, status, published_at DESC, id DESC);
CREATE INDEX articles_by_section_time ON articles (section_id, status, published_at DESC, id DESC);
CREATE INDEX articles_by_group ON articles (translation_group) WHERE translation_group <> 0;
CREATE TABLE article_tags (
  article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (article_id, tag)
);
CREATE INDEX article_tags_by_tag ON article_tags (tag);
CREATE TABLE article_related (
  article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
  related_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  PRIMARY KEY (article_id, related_id)
);
CREATE TABLE article_revisions (
  id INTEGER PRIMARY KEY,
  article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  headline TEXT NOT NULL,
  teaser TEXT NOT NULL,
  body TEXT NOT NULL,
  saved_at INTEGER NOT NULL,
  UNIQUE (article_id, version)
);
CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  secret_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
)sql",
    // 2: accounts, sessions, mailed tokens, the mail outbox.
    R"sql(
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY,
  email TEXT UNIQUE,
  display_name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('reader', 'moderator', 'editor', 'admin')),
  edition TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  confirmed_at INTEGER,
  deleted_at INTEGER
);
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_account ON sessions (account_id);
CREATE TABLE account_tokens (
  hash TEXT PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  purpose TEXT NOT NULL CHECK (purpose IN ('confirm', 'reset', 'email_change')),
  new_email TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE INDEX account_tokens_by_account ON account_tokens (account_id);
CREATE TABLE mail_queue (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  mail_from TEXT NOT NULL,
  mail_to TEXT NOT NULL,
  subject TEXT NOT NULL,
  body_text TEXT NOT NULL,
  body_html TEXT NOT NULL,
  message_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  sent_at INTEGER,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mail_queue_due ON mail_queue (state, next_attempt_at);
)sql",
    // 3: live blogs and ticker entries.
    R"sql(
CREATE TABLE live_blogs (
  id INTEGER PRIMARY KEY,
  slug TEXT NOT NULL UNIQUE,
  edition TEXT NOT NULL,
  title TEXT NOT NULL,
  teaser TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  ended_at INTEGER
);
CREATE TABLE ticker_entries (
  id INTEGER PRIMARY KEY,
  ticker TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  body_html TEXT NOT NULL,
  image_url TEXT,
  image_caption TEXT,
  image_credit TEXT,
  image_width INTEGER,
  image_height INTEGER,
  article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
  pinned INTEGER NOT NULL DEFAULT 0,
  breaking INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX ticker_entries_by_time ON ticker_entries (ticker, created_at, id);
CREATE INDEX ticker_entries_pinned ON ticker_entries (ticker, created_at) WHERE pinned = 1;
)sql",
    // 4: a confirmation link carries the password of the registration that asked for it.
    R"sql(
ALTER TABLE account_tokens ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
)sql",
    // 5: ... and that registration's display name and edition.
    R"sql(
ALTER TABLE account_tokens ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE account_tokens ADD COLUMN edition TEXT NOT NULL DEFAULT '';
)sql",
    // 6: the event log. AUTOINCREMENT: a position is never reused, even
    // after pruning, so a relay's saved position stays meaningful. The
    // log's epoch is drawn once per database (within JavaScript's exact
    // integers); a topic keeps it until an operator resets the topic.
    R"sql(
CREATE TABLE store_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO store_meta (key, value) VALUES ('log_epoch', abs(random()) % 4503599627370495 + 1);
CREATE TABLE event_topics (
  topic TEXT PRIMARY KEY,
  last_seq INTEGER NOT NULL,
  epoch INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE events (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  seq INTEGER NOT NULL,
  name TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (topic, seq)
);
CREATE INDEX events_by_time ON events (created_at);
CREATE TABLE relay_positions (
  relay TEXT PRIMARY KEY,
  position INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 7: answers remembered for Idempotency-Key retries.
    R"sql(
CREATE TABLE idempotency_keys (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL,
  headers TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at);
)sql",
};

}  // namespace

int latest_schema_version() { return static_cast<int>(kMigrations.size()); }

Result<int> migrate(Database& db) {
  if (auto r = db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                       "applied_at INTEGER NOT NULL)");
      !r)
    return std::unexpected(r.error());
  int current = 0;
  {
    auto st = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!st) return std::unexpected(st.error());
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    current = static_cast<int>(st->int64(0));
  }
  if (current > latest_schema_version())
    return fail(ErrorCode::internal, "the database schema (version " + std::to_string(current) +
                                         ") is newer than this build knows; upgrade Depesche");
  for (int v = current + 1; v <= latest_schema_version(); ++v) {
    Transaction tx(db);
    if (auto r = tx.begin(); !r) return std::unexpected(r.error());
    if (auto r = db.exec(kMigrations[static_cast<std::size_t>(v - 1)]); !r)
      return std::unexpected(r.error());
    auto st = db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
    if (!st) return std::unexpected(st.error());
    st->bind(1, v).bind(2, now_millis());
    if (auto r = st->run(); !r) return std::unexpected(r.error());
    if (auto r = tx.commit(); !r) return std::unexpected(r.error());
    log::info("schema migrated", {{"version", v}});
  }
  return latest_schema_version();
}

}  // namespace depesche::store::sqlite
