#include "store/postgres/pg_repositories.hpp"

namespace depesche::store::postgres {
namespace {

using domain::Account;
using domain::AccountToken;
using domain::Session;
using domain::TokenPurpose;

#define TOKEN_COLUMNS                                                              \
  "SELECT hash, account_id, purpose, new_email, created_at, expires_at, used_at, " \
  "password_hash, display_name, edition FROM account_tokens "

#define ACCOUNT_COLUMNS                                                                      \
  "SELECT id, COALESCE(email, ''), display_name, password_hash, role, edition, created_at, " \
  "confirmed_at, deleted_at FROM accounts "

#define SESSION_COLUMNS \
  "SELECT id_hash, account_id, created_at, last_seen_at, user_agent FROM sessions "

Account read_account(const Rows& rows, int i) {
  Account a;
  a.id = rows.int64(i, 0);
  a.email = rows.text(i, 1);
  a.display_name = rows.text(i, 2);
  a.password_hash = rows.text(i, 3);
  a.role = domain::parse_role(rows.text(i, 4)).value_or(domain::Role::reader);
  a.edition = rows.text(i, 5);
  a.created_at = rows.int64(i, 6);
  a.confirmed_at = rows.opt_int64(i, 7);
  a.deleted_at = rows.opt_int64(i, 8);
  return a;
}

Session read_session(const Rows& rows, int i) {
  return Session{rows.text(i, 0), rows.int64(i, 1), rows.int64(i, 2), rows.int64(i, 3),
                 rows.text(i, 4)};
}

std::optional<TokenPurpose> parse_purpose(std::string_view s) {
  for (auto p : {TokenPurpose::confirm, TokenPurpose::reset, TokenPurpose::email_change})
    if (s == to_string(p)) return p;
  return std::nullopt;
}

AccountToken read_token(const Rows& rows, int i, TokenPurpose purpose) {
  AccountToken t;
  t.hash = rows.text(i, 0);
  t.account_id = rows.int64(i, 1);
  t.purpose = parse_purpose(rows.text(i, 2)).value_or(purpose);
  t.new_email = rows.text(i, 3);
  t.created_at = rows.int64(i, 4);
  t.expires_at = rows.int64(i, 5);
  t.used_at = rows.opt_int64(i, 6);
  t.password_hash = rows.text(i, 7);
  t.display_name = rows.text(i, 8);
  t.edition = rows.text(i, 9);
  return t;
}

Result<Account> one_account(const Result<Rows>& rows) {
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return fail(ErrorCode::not_found, "no such account");
  return read_account(*rows, 0);
}

// The outcome of an UPDATE of one account; not_found when no row changed.
Result<void> updated_one(const Result<Rows>& rows) {
  if (!rows) return std::unexpected(rows.error());
  if (rows->affected() == 0) return fail(ErrorCode::not_found, "no such account");
  return {};
}

Result<void> done(const Result<Rows>& rows) {
  if (!rows) return std::unexpected(rows.error());
  return {};
}

Result<void> email_taken_is_conflict(Result<void> r) {
  if (!r && r.error().code == ErrorCode::conflict)
    return fail(ErrorCode::conflict, "an account with that e-mail exists", "email");
  return r;
}

}  // namespace

Result<Account> PgAccountRepository::insert(const Account& a) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = query_guarded(
      **db,
      "INSERT INTO accounts (email, display_name, password_hash, role, edition, created_at, "
      "confirmed_at) VALUES ($1, $2, $3, $4, $5, $6::bigint, $7::bigint) RETURNING id",
      a.email, a.display_name, a.password_hash, domain::to_string(a.role), a.edition, a.created_at,
      a.confirmed_at);
  if (!rows) return std::unexpected(email_taken_is_conflict(std::unexpected(rows.error())).error());
  Account out = a;
  out.id = rows->int64(0, 0);
  return out;
}

Result<Account> PgAccountRepository::by_id(std::int64_t id) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return one_account((*db)->query(ACCOUNT_COLUMNS "WHERE id = $1::bigint", id));
}

Result<Account> PgAccountRepository::by_email(std::string_view email) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return one_account(
      (*db)->query(ACCOUNT_COLUMNS "WHERE email = $1 AND deleted_at IS NULL", email));
}

Result<void> PgAccountRepository::set_confirmed(std::int64_t id, Millis at) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return updated_one((*db)->query(
      "UPDATE accounts SET confirmed_at = COALESCE(confirmed_at, $1::bigint) WHERE id = "
      "$2::bigint AND deleted_at IS NULL",
      at, id));
}

Result<void> PgAccountRepository::set_profile(std::int64_t id, std::string_view display_name,
                                              std::string_view edition) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return updated_one(
      (*db)->query("UPDATE accounts SET display_name = $1, edition = $2 WHERE id = $3::bigint AND "
                   "deleted_at IS NULL",
                   display_name, edition, id));
}

Result<void> PgAccountRepository::set_role(std::int64_t id, domain::Role role) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return updated_one(query_guarded(
      **db, "UPDATE accounts SET role = $1 WHERE id = $2::bigint AND deleted_at IS NULL",
      domain::to_string(role), id));
}

Result<void> PgAccountRepository::set_password(std::int64_t id, std::string_view password_hash) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  Transaction tx(**db);
  if (auto r = tx.begin(); !r) return r;
  if (auto r = updated_one((*db)->query(
          "UPDATE accounts SET password_hash = $1 WHERE id = $2::bigint AND deleted_at IS NULL",
          password_hash, id));
      !r)
    return r;
  if (auto r = done((*db)->query("DELETE FROM sessions WHERE account_id = $1::bigint", id)); !r)
    return r;
  // Reset links mailed before the new password are of no further use.
  if (auto r = done((*db)->query(
          "UPDATE account_tokens SET used_at = (extract(epoch FROM now()) * 1000)::bigint WHERE "
          "account_id = $1::bigint AND purpose = 'reset' AND used_at IS NULL",
          id));
      !r)
    return r;
  return tx.commit();
}

Result<void> PgAccountRepository::set_email(std::int64_t id, std::string_view email) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return email_taken_is_conflict(updated_one(query_guarded(
      **db, "UPDATE accounts SET email = $1 WHERE id = $2::bigint AND deleted_at IS NULL", email,
      id)));
}

Result<void> PgAccountRepository::mark_deleted(std::int64_t id, Millis at) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  Transaction tx(**db);
  if (auto r = tx.begin(); !r) return r;
  // Mails to the address hold the address, the name and maybe links.
  if (auto r = done((*db)->query(
          "DELETE FROM mail_queue WHERE mail_to = (SELECT email FROM accounts WHERE id = "
          "$1::bigint)",
          id));
      !r)
    return r;
  if (auto r = updated_one((*db)->query(
          "UPDATE accounts SET email = NULL, display_name = '', password_hash = '', deleted_at = "
          "$1::bigint WHERE id = $2::bigint AND deleted_at IS NULL",
          at, id));
      !r)
    return r;
  for (const char* sql : {"DELETE FROM sessions WHERE account_id = $1::bigint",
                          "DELETE FROM account_tokens WHERE account_id = $1::bigint"})
    if (auto r = done((*db)->query(sql, id)); !r) return r;
  return tx.commit();
}

Result<std::vector<Account>> PgAccountRepository::list(std::int64_t after_id, int limit) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(ACCOUNT_COLUMNS
                           "WHERE ($1::bigint = 0 OR id < $1::bigint) ORDER BY id DESC LIMIT $2",
                           after_id, limit);
  if (!rows) return std::unexpected(rows.error());
  std::vector<Account> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) out.push_back(read_account(*rows, i));
  return out;
}

Result<void> PgAccountRepository::insert_session(const Session& s) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return done(query_guarded(**db,
                            "INSERT INTO sessions (id_hash, account_id, created_at, last_seen_at, "
                            "user_agent) VALUES ($1, $2::bigint, $3::bigint, $4::bigint, $5)",
                            s.id_hash, s.account_id, s.created_at, s.last_seen_at, s.user_agent));
}

Result<Session> PgAccountRepository::session(std::string_view id_hash) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(SESSION_COLUMNS "WHERE id_hash = $1", id_hash);
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return fail(ErrorCode::not_found, "no such session");
  return read_session(*rows, 0);
}

Result<void> PgAccountRepository::touch_session(std::string_view id_hash, Millis at) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return done((*db)->query("UPDATE sessions SET last_seen_at = $1::bigint WHERE id_hash = $2", at,
                           id_hash));
}

Result<void> PgAccountRepository::delete_session(std::string_view id_hash) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return done((*db)->query("DELETE FROM sessions WHERE id_hash = $1", id_hash));
}

Result<void> PgAccountRepository::end_sessions(std::int64_t account_id) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return done((*db)->query("DELETE FROM sessions WHERE account_id = $1::bigint", account_id));
}

Result<std::vector<Session>> PgAccountRepository::sessions_of(std::int64_t account_id) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(
      SESSION_COLUMNS "WHERE account_id = $1::bigint ORDER BY last_seen_at DESC", account_id);
  if (!rows) return std::unexpected(rows.error());
  std::vector<Session> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) out.push_back(read_session(*rows, i));
  return out;
}

Result<void> PgAccountRepository::insert_token(const AccountToken& t) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return done(query_guarded(
      **db,
      "INSERT INTO account_tokens (hash, account_id, purpose, new_email, created_at, expires_at, "
      "password_hash, display_name, edition) VALUES ($1, $2::bigint, $3, $4, $5::bigint, "
      "$6::bigint, $7, $8, $9)",
      t.hash, t.account_id, to_string(t.purpose), t.new_email, t.created_at, t.expires_at,
      t.password_hash, t.display_name, t.edition));
}

Result<void> PgAccountRepository::retire_tokens(std::int64_t account_id, TokenPurpose purpose,
                                                Millis at) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  return done((*db)->query(
      "UPDATE account_tokens SET used_at = $1::bigint WHERE account_id = $2::bigint AND purpose = "
      "$3 AND used_at IS NULL",
      at, account_id, to_string(purpose)));
}

Result<AccountToken> PgAccountRepository::newest_unused_token(std::int64_t account_id,
                                                              TokenPurpose purpose) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(TOKEN_COLUMNS
                           "WHERE account_id = $1::bigint AND purpose = $2 AND used_at IS NULL "
                           "ORDER BY created_at DESC, insert_order DESC LIMIT 1",
                           account_id, to_string(purpose));
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return fail(ErrorCode::not_found, "no unused token");
  return read_token(*rows, 0, purpose);
}

Result<AccountToken> PgAccountRepository::peek_token(std::string_view hash, TokenPurpose purpose) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows =
      (*db)->query(TOKEN_COLUMNS "WHERE hash = $1 AND purpose = $2", hash, to_string(purpose));
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return fail(ErrorCode::not_found, "unknown link");
  return read_token(*rows, 0, purpose);
}

Result<AccountToken> PgAccountRepository::consume_token(std::string_view hash, TokenPurpose purpose,
                                                        Millis now) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  Transaction tx(**db);
  if (auto r = tx.begin(); !r) return std::unexpected(r.error());
  // The row lock makes two concurrent uses of one link wait for each
  // other: the second one then sees it used.
  auto rows = (*db)->query(TOKEN_COLUMNS "WHERE hash = $1 AND purpose = $2 FOR UPDATE", hash,
                           to_string(purpose));
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return fail(ErrorCode::not_found, "unknown link");
  AccountToken t = read_token(*rows, 0, purpose);
  if (t.used_at) return fail(ErrorCode::invalid, "this link was already used");
  if (t.expires_at <= now) return fail(ErrorCode::invalid, "this link has expired");
  if (auto r = done((*db)->query("UPDATE account_tokens SET used_at = $1::bigint WHERE hash = $2",
                                 now, hash));
      !r)
    return std::unexpected(r.error());
  if (auto r = tx.commit(); !r) return std::unexpected(r.error());
  t.used_at = now;
  return t;
}

}  // namespace depesche::store::postgres
