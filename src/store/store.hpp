#pragma once
// The storage interfaces. Callers see plain domain types and Result<>; the
// SQLite implementation (store/sqlite/) and a later PostgreSQL one satisfy the
// same contract and pass the same test suite. Every call blocks: run it on
// the blocking pool, never on an I/O thread.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/error.hpp"
#include "domain/account.hpp"
#include "domain/article.hpp"
#include "domain/idempotency.hpp"
#include "domain/queued_mail.hpp"
#include "domain/ticker.hpp"
#include "domain/token.hpp"
#include "store/event_log.hpp"

namespace depesche::store {

using domain::Article;
using domain::ArticleQuery;
using domain::ArticleRevision;
using domain::Section;

class ArticleRepository {
 public:
  virtual ~ArticleRepository() = default;

  /// Sections of an edition, ordered by position then name.
  virtual Result<std::vector<Section>> sections(std::string_view edition) = 0;
  virtual Result<Section> section_by_slug(std::string_view edition, std::string_view slug) = 0;
  virtual Result<Section> section_by_id(std::int64_t id) = 0;
  /// conflict when (edition, slug) exists.
  virtual Result<Section> create_section(const Section& section) = 0;

  /// The whole article with tags, related ids and section names.
  virtual Result<Article> by_id(std::int64_t id) = 0;
  virtual Result<Article> by_slug(std::string_view edition, std::string_view slug) = 0;
  /// Newest first by (published_at, id); drafts sort by creation time. Items
  /// carry no body. `next` is set when more items follow.
  virtual Result<domain::Page<Article>> list(const ArticleQuery& query) = 0;
  /// Published articles of the same edition sharing the most tags with `article`.
  virtual Result<std::vector<Article>> related_by_tags(const Article& article, int limit) = 0;
  /// Edition → article id of every article in a translation group.
  virtual Result<std::map<std::string, std::int64_t>> translations(std::int64_t group) = 0;

  /// Stores a new article with its tags and related ids; assigns the id.
  /// conflict when (edition, slug) exists.
  virtual Result<Article> insert(const Article& article) = 0;
  /// Replaces the stored article if its version is still `expected_version`
  /// (else conflict), keeping the old text as a revision; bumps the version.
  virtual Result<Article> update(const Article& article, int expected_version) = 0;
  virtual Result<std::vector<ArticleRevision>> revisions(std::int64_t article_id) = 0;
  /// Number of articles in the store (any edition or status).
  virtual Result<std::int64_t> count() = 0;
};

class TokenRepository {
 public:
  virtual ~TokenRepository() = default;
  /// conflict when the name is taken.
  virtual Result<domain::ApiToken> insert(const domain::ApiToken& token) = 0;
  /// not_found for unknown or revoked tokens.
  virtual Result<domain::ApiToken> active_by_hash(std::string_view secret_hash) = 0;
  /// not_found when no active token has that name.
  virtual Result<void> revoke(std::string_view name, Millis at) = 0;
  virtual Result<std::vector<domain::ApiToken>> list() = 0;
};

/// Accounts, sessions and mailed tokens. E-mail addresses are stored
/// normalised by the caller; uniqueness is the store's job.
class AccountRepository {
 public:
  virtual ~AccountRepository() = default;

  /// conflict when the e-mail belongs to an account (deleted ones free it).
  virtual Result<domain::Account> insert(const domain::Account& account) = 0;
  virtual Result<domain::Account> by_id(std::int64_t id) = 0;
  /// not_found for unknown and deleted accounts.
  virtual Result<domain::Account> by_email(std::string_view email) = 0;
  virtual Result<void> set_confirmed(std::int64_t id, Millis at) = 0;
  virtual Result<void> set_profile(std::int64_t id, std::string_view display_name,
                                   std::string_view edition) = 0;
  virtual Result<void> set_role(std::int64_t id, domain::Role role) = 0;
  /// Sets the hash and ends every session of the account, in one transaction.
  virtual Result<void> set_password(std::int64_t id, std::string_view password_hash) = 0;
  /// conflict when another account has the address.
  virtual Result<void> set_email(std::int64_t id, std::string_view email) = 0;
  /// Scrubs e-mail, name and password, ends sessions, drops tokens and the
  /// mails to the address; the row stays so that later content can show
  /// "deleted user".
  virtual Result<void> mark_deleted(std::int64_t id, Millis at) = 0;
  /// Accounts page by page, newest first, for admins.
  virtual Result<std::vector<domain::Account>> list(std::int64_t after_id, int limit) = 0;

  virtual Result<void> insert_session(const domain::Session& session) = 0;
  /// not_found when unknown.
  virtual Result<domain::Session> session(std::string_view id_hash) = 0;
  virtual Result<void> touch_session(std::string_view id_hash, Millis at) = 0;
  virtual Result<void> delete_session(std::string_view id_hash) = 0;
  /// Ends every session of the account.
  virtual Result<void> end_sessions(std::int64_t account_id) = 0;
  virtual Result<std::vector<domain::Session>> sessions_of(std::int64_t account_id) = 0;

  virtual Result<void> insert_token(const domain::AccountToken& token) = 0;
  /// Marks every unused token of `purpose` for the account as used.
  virtual Result<void> retire_tokens(std::int64_t account_id, domain::TokenPurpose purpose,
                                     Millis at) = 0;
  /// The newest token of `purpose` for the account that has not been used
  /// or retired, expired or not; not_found when there is none.
  virtual Result<domain::AccountToken> newest_unused_token(std::int64_t account_id,
                                                           domain::TokenPurpose purpose) = 0;
  /// The token whatever its state (used, expired), without changing it;
  /// not_found when unknown or of another purpose.
  virtual Result<domain::AccountToken> peek_token(std::string_view hash,
                                                  domain::TokenPurpose purpose) = 0;
  /// Marks the token used if it exists, has `purpose`, is unused and has not
  /// expired at `now`, atomically; returns it. not_found when unknown (or of
  /// another purpose), invalid when used or expired.
  virtual Result<domain::AccountToken> consume_token(std::string_view hash,
                                                     domain::TokenPurpose purpose, Millis now) = 0;
};

/// Live blogs and the entries of every ticker.
class TickerRepository {
 public:
  virtual ~TickerRepository() = default;
  /// conflict when the slug is taken.
  virtual Result<domain::LiveBlog> insert_live_blog(const domain::LiveBlog& blog) = 0;
  virtual Result<domain::LiveBlog> live_blog(std::string_view slug) = 0;
  /// All live blogs, newest first (a newsroom has dozens, not millions).
  virtual Result<std::vector<domain::LiveBlog>> live_blogs() = 0;
  virtual Result<domain::LiveBlog> update_live_blog(const domain::LiveBlog& blog) = 0;

  /// The time to give a new entry of `ticker`: `now`, or the newest entry's
  /// time when that is later (a clock stepped back, or another node's runs
  /// ahead), so a ticker reads in the order its entries were posted. Inside
  /// a unit of work it also holds other writers of the ticker off until the
  /// unit ends, so that no two units take the same place.
  virtual Result<Millis> next_entry_time(std::string_view ticker, Millis now) = 0;
  virtual Result<domain::TickerEntry> insert_entry(const domain::TickerEntry& entry) = 0;
  virtual Result<domain::TickerEntry> entry(std::int64_t id) = 0;
  virtual Result<domain::TickerEntry> update_entry(const domain::TickerEntry& entry) = 0;
  /// not_found when there is no such entry.
  virtual Result<void> delete_entry(std::int64_t id) = 0;
  /// A page of a ticker, ordered by (created_at, id) in the query's order.
  virtual Result<domain::Page<domain::TickerEntry>> entries(const domain::EntryQuery& query) = 0;
  /// The pinned entries of a ticker, newest first, at most max_pinned_entries.
  virtual Result<std::vector<domain::TickerEntry>> pinned(std::string_view ticker) = 0;
};

/// The durable outbox behind domain::MailOutbox.
class MailQueueRepository {
 public:
  virtual ~MailQueueRepository() = default;
  /// Stores a pending mail due now; assigns the id.
  virtual Result<domain::QueuedMail> enqueue(const domain::QueuedMail& mail) = 0;
  /// Pending mails due at `now`, oldest first. Only reads: the outbox
  /// sends what claim_due() hands it.
  virtual Result<std::vector<domain::QueuedMail>> due(Millis now, int limit) = 0;
  /// Hands the pending mails due at `now` to `attempt`, oldest first, one at
  /// a time and at most `limit`, each under a claim: no other caller, in
  /// this process or on another node, gets that mail until `attempt` has
  /// returned and what it recorded (mark_sent or mark_attempt_failed, called
  /// from within it) is committed. A caller that dies mid-attempt loses its
  /// claim and the mail is due again (it may have gone out; its Message-ID
  /// is stable). Returns how many were handed over.
  virtual Result<int> claim_due(Millis now, int limit,
                                const std::function<void(const domain::QueuedMail&)>& attempt) = 0;
  /// Marks the mail sent and drops its bodies: they may hold single-use
  /// links, which the store otherwise keeps only as hashes.
  virtual Result<void> mark_sent(std::int64_t id, Millis at) = 0;
  /// Records a failed attempt; `next_attempt_at` empty marks it failed for good.
  virtual Result<void> mark_attempt_failed(std::int64_t id, int attempts,
                                           std::optional<Millis> next_attempt_at,
                                           std::string_view error) = 0;
  /// Mails in a state, newest first (for `depesche mail list`).
  virtual Result<std::vector<domain::QueuedMail>> in_state(domain::MailState state, int limit) = 0;
  /// Sets failed mails back to pending, due now, with a fresh count of
  /// attempts (`depesche mail retry`).
  virtual Result<int> retry_failed(Millis now) = 0;
  virtual Result<std::int64_t> count(domain::MailState state) = 0;
};

/// The answers remembered for Idempotency-Key retries (api/idempotency.hpp).
class IdempotencyRepository {
 public:
  virtual ~IdempotencyRepository() = default;
  /// The answer remembered for `key` of `scope`, or nullopt.
  virtual Result<std::optional<domain::RememberedResponse>> find(std::string_view scope,
                                                                 std::string_view key) = 0;
  /// conflict when the scope already has an answer for that key.
  virtual Result<void> remember(const domain::RememberedResponse& response) = 0;
  /// Forgets the answers remembered before `before`, at most `limit` of
  /// them (the oldest first); returns how many.
  virtual Result<int> forget_before(Millis before, int limit) = 0;
  /// Forgets one answer (an expired one, before its key is used again).
  virtual Result<void> forget(std::string_view scope, std::string_view key) = 0;
};

/// Bytes stored as such (a BLOB), as Store::dump reports them.
struct StoredBytes {
  std::string bytes;
  bool operator==(const StoredBytes&) const = default;
};

/// One stored value as Store::dump reports it: null, integer, real, text or
/// bytes. Booleans are the integers 0 and 1 and times Unix milliseconds, in
/// every store, as the domain types hold them.
using StoredValue = std::variant<std::monostate, std::int64_t, double, std::string, StoredBytes>;

/// One row for Store::dump: its table and its columns in the table's order.
struct StoredRow {
  std::string table;
  std::vector<std::pair<std::string, StoredValue>> columns;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual ArticleRepository& articles() = 0;
  virtual TokenRepository& tokens() = 0;
  virtual AccountRepository& accounts() = 0;
  virtual TickerRepository& tickers() = 0;
  virtual MailQueueRepository& mail_queue() = 0;
  virtual EventLog& events() = 0;
  virtual IdempotencyRepository& idempotency() = 0;

  /// A unit of work: runs `work` as one transaction. Every repository call
  /// that `work` makes on this thread joins it, reads included (they see
  /// its own writes), so an entity, its counters and its events commit
  /// together or not at all: committed when `work` returns a value, rolled
  /// back when it returns an error (which transact() passes on) or throws.
  /// Nested calls join the outer transaction. Holds the store's writer for
  /// its whole length (on PostgreSQL: one connection), so keep it short and
  /// do no network I/O inside.
  virtual Result<void> transact(const std::function<Result<void>()>& work) = 0;
  /// Runs `fn` once this thread's unit of work has committed, on this
  /// thread (at once when no unit is running); dropped when the unit, or the
  /// nested part that queued it, rolls back. For signals that must not fire
  /// before others can see the write, such as waking the mail worker. `fn`
  /// must be quick and must not throw.
  virtual void after_commit(std::function<void()> fn) = 0;
  /// Brings the schema to the newest version; idempotent.
  virtual Result<int> migrate() = 0;
  /// For /readyz: the database answers a query and commits a write (a
  /// read-only file, a full disk or a lost connection fail it). Costs one
  /// tiny commit; callers limit how often they ask.
  virtual Result<void> ping() = 0;

  /// The names of the tables the store keeps data in, sorted; the store's
  /// own bookkeeping (sqlite_sequence, ...) is not among them. Tables and
  /// their columns carry the same names in every store implementation, so a
  /// dump reads the same whichever store wrote it.
  virtual Result<std::vector<std::string>> tables() = 0;
  /// Reads every row of `tables` (every table when empty), as of one
  /// consistent snapshot, and hands each to `row`: table by table in the
  /// order given (sorted when empty), rows in primary-key order. Read-only:
  /// it writes nothing and takes no writer, so it may run beside a serving
  /// node. not_found, before any row, when a table is unknown. Costs a full
  /// scan of what it reads: for operators (`depesche store dump`:
  /// inspection, backup, tests), never on the request path. The rows hold
  /// everything stored, hashes included: its output is as sensitive as the
  /// database itself.
  virtual Result<void> dump(const std::vector<std::string>& tables,
                            const std::function<void(const StoredRow&)>& row) = 0;
};

/// transact() for work that returns a value: the value once committed.
template <class Work>
auto in_transaction(Store& store, Work&& work) -> decltype(work()) {
  std::optional<decltype(work())> out;
  auto done = store.transact([&]() -> Result<void> {
    out.emplace(work());
    if (!*out) return std::unexpected(out->error());
    return {};
  });
  if (!done) return std::unexpected(done.error());
  return std::move(*out);
}

}  // namespace depesche::store
