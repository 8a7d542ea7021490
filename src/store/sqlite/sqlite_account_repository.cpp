#include "store/sqlite/sqlite_repositories.hpp"

namespace depesche::store::sqlite {
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

Account read_account(const Statement& st) {
  Account a;
  a.id = st.int64(0);
  a.email = st.text(1);
  a.display_name = st.text(2);
  a.password_hash = st.text(3);
  a.role = domain::parse_role(st.text(4)).value_or(domain::Role::reader);
  a.edition = st.text(5);
  a.created_at = st.int64(6);
  a.confirmed_at = st.opt_int64(7);
  a.deleted_at = st.opt_int64(8);
  return a;
}

Session read_session(const Statement& st) {
  return Session{st.text(0), st.int64(1), st.int64(2), st.int64(3), st.text(4)};
}

std::optional<TokenPurpose> parse_purpose(std::string_view s) {
  for (auto p : {TokenPurpose::confirm, TokenPurpose::reset, TokenPurpose::email_change})
    if (s == to_string(p)) return p;
  return std::nullopt;
}

AccountToken read_token(const Statement& st, TokenPurpose purpose) {
  AccountToken t;
  t.hash = st.text(0);
  t.account_id = st.int64(1);
  t.purpose = parse_purpose(st.text(2)).value_or(purpose);
  t.new_email = st.text(3);
  t.created_at = st.int64(4);
  t.expires_at = st.int64(5);
  t.used_at = st.opt_int64(6);
  t.password_hash = st.text(7);
  t.display_name = st.text(8);
  t.edition = st.text(9);
  return t;
}

Result<Account> one_account(Statement& st) {
  auto row = st.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no such account");
  return read_account(st);
}

// Runs an UPDATE on one account; not_found when no row changed.
Result<void> update_one(Database& db, Statement& st) {
  if (auto r = st.run(); !r) return r;
  if (db.changes() == 0) return fail(ErrorCode::not_found, "no such account");
  return {};
}

}  // namespace

Result<Account> SqliteAccountRepository::insert(const Account& a) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "INSERT INTO accounts (email, display_name, password_hash, role, edition, created_at, "
      "confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, a.email)
      .bind(2, a.display_name)
      .bind(3, a.password_hash)
      .bind(4, domain::to_string(a.role))
      .bind(5, a.edition)
      .bind(6, a.created_at)
      .bind(7, a.confirmed_at);
  if (auto r = st->run(); !r) {
    if (r.error().code == ErrorCode::conflict)
      return fail(ErrorCode::conflict, "an account with that e-mail exists", "email");
    return std::unexpected(r.error());
  }
  Account out = a;
  out.id = db->last_insert_id();
  return out;
}

Result<Account> SqliteAccountRepository::by_id(std::int64_t id) {
  auto db = pool_.reader();
  auto st = db->prepare(ACCOUNT_COLUMNS "WHERE id = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, id);
  return one_account(*st);
}

Result<Account> SqliteAccountRepository::by_email(std::string_view email) {
  auto db = pool_.reader();
  auto st = db->prepare(ACCOUNT_COLUMNS "WHERE email = ? AND deleted_at IS NULL");
  if (!st) return std::unexpected(st.error());
  st->bind(1, email);
  return one_account(*st);
}

Result<void> SqliteAccountRepository::set_confirmed(std::int64_t id, Millis at) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "UPDATE accounts SET confirmed_at = COALESCE(confirmed_at, ?) WHERE id = ? AND deleted_at "
      "IS NULL");
  if (!st) return std::unexpected(st.error());
  st->bind(1, at).bind(2, id);
  return update_one(*db, *st);
}

Result<void> SqliteAccountRepository::set_profile(std::int64_t id, std::string_view display_name,
                                                  std::string_view edition) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "UPDATE accounts SET display_name = ?, edition = ? WHERE id = ? AND deleted_at IS NULL");
  if (!st) return std::unexpected(st.error());
  st->bind(1, display_name).bind(2, edition).bind(3, id);
  return update_one(*db, *st);
}

Result<void> SqliteAccountRepository::set_role(std::int64_t id, domain::Role role) {
  auto db = pool_.writer();
  auto st = db->prepare("UPDATE accounts SET role = ? WHERE id = ? AND deleted_at IS NULL");
  if (!st) return std::unexpected(st.error());
  st->bind(1, domain::to_string(role)).bind(2, id);
  return update_one(*db, *st);
}

Result<void> SqliteAccountRepository::set_password(std::int64_t id,
                                                   std::string_view password_hash) {
  auto db = pool_.writer();
  Transaction tx(*db);
  if (auto r = tx.begin(); !r) return r;
  auto st =
      db->prepare("UPDATE accounts SET password_hash = ? WHERE id = ? AND deleted_at IS NULL");
  if (!st) return std::unexpected(st.error());
  st->bind(1, password_hash).bind(2, id);
  if (auto r = update_one(*db, *st); !r) return r;
  auto del = db->prepare("DELETE FROM sessions WHERE account_id = ?");
  if (!del) return std::unexpected(del.error());
  del->bind(1, id);
  if (auto r = del->run(); !r) return r;
  // Reset links mailed before the new password are of no further use.
  auto retire = db->prepare(
      "UPDATE account_tokens SET used_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000 WHERE "
      "account_id = ? AND purpose = 'reset' AND used_at IS NULL");
  if (!retire) return std::unexpected(retire.error());
  retire->bind(1, id);
  if (auto r = retire->run(); !r) return r;
  return tx.commit();
}

Result<void> SqliteAccountRepository::set_email(std::int64_t id, std::string_view email) {
  auto db = pool_.writer();
  auto st = db->prepare("UPDATE accounts SET email = ? WHERE id = ? AND deleted_at IS NULL");
  if (!st) return std::unexpected(st.error());
  st->bind(1, email).bind(2, id);
  if (auto r = update_one(*db, *st); !r) {
    if (r.error().code == ErrorCode::conflict)
      return fail(ErrorCode::conflict, "an account with that e-mail exists", "email");
    return r;
  }
  return {};
}

Result<void> SqliteAccountRepository::mark_deleted(std::int64_t id, Millis at) {
  auto db = pool_.writer();
  Transaction tx(*db);
  if (auto r = tx.begin(); !r) return r;
  // Mails to the address hold the address, the name and maybe links.
  auto mails = db->prepare(
      "DELETE FROM mail_queue WHERE mail_to = (SELECT email FROM accounts WHERE id = ?)");
  if (!mails) return std::unexpected(mails.error());
  mails->bind(1, id);
  if (auto r = mails->run(); !r) return r;
  auto st = db->prepare(
      "UPDATE accounts SET email = NULL, display_name = '', password_hash = '', deleted_at = ? "
      "WHERE id = ? AND deleted_at IS NULL");
  if (!st) return std::unexpected(st.error());
  st->bind(1, at).bind(2, id);
  if (auto r = update_one(*db, *st); !r) return r;
  for (const char* sql : {"DELETE FROM sessions WHERE account_id = ?",
                          "DELETE FROM account_tokens WHERE account_id = ?"}) {
    auto del = db->prepare(sql);
    if (!del) return std::unexpected(del.error());
    del->bind(1, id);
    if (auto r = del->run(); !r) return r;
  }
  return tx.commit();
}

Result<std::vector<Account>> SqliteAccountRepository::list(std::int64_t after_id, int limit) {
  auto db = pool_.reader();
  auto st = db->prepare(ACCOUNT_COLUMNS "WHERE (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, after_id).bind(2, after_id).bind(3, limit);
  std::vector<Account> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_account(*st));
  }
  return out;
}

Result<void> SqliteAccountRepository::insert_session(const Session& s) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "INSERT INTO sessions (id_hash, account_id, created_at, last_seen_at, user_agent) VALUES "
      "(?, ?, ?, ?, ?)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, s.id_hash)
      .bind(2, s.account_id)
      .bind(3, s.created_at)
      .bind(4, s.last_seen_at)
      .bind(5, s.user_agent);
  return st->run();
}

Result<Session> SqliteAccountRepository::session(std::string_view id_hash) {
  auto db = pool_.reader();
  auto st = db->prepare(
      "SELECT id_hash, account_id, created_at, last_seen_at, user_agent FROM sessions WHERE "
      "id_hash = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, id_hash);
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no such session");
  return read_session(*st);
}

Result<void> SqliteAccountRepository::touch_session(std::string_view id_hash, Millis at) {
  auto db = pool_.writer();
  auto st = db->prepare("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, at).bind(2, id_hash);
  return st->run();
}

Result<void> SqliteAccountRepository::delete_session(std::string_view id_hash) {
  auto db = pool_.writer();
  auto st = db->prepare("DELETE FROM sessions WHERE id_hash = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, id_hash);
  return st->run();
}

Result<void> SqliteAccountRepository::end_sessions(std::int64_t account_id) {
  auto db = pool_.writer();
  auto st = db->prepare("DELETE FROM sessions WHERE account_id = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, account_id);
  return st->run();
}

Result<std::vector<Session>> SqliteAccountRepository::sessions_of(std::int64_t account_id) {
  auto db = pool_.reader();
  auto st = db->prepare(
      "SELECT id_hash, account_id, created_at, last_seen_at, user_agent FROM sessions WHERE "
      "account_id = ? ORDER BY last_seen_at DESC");
  if (!st) return std::unexpected(st.error());
  st->bind(1, account_id);
  std::vector<Session> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_session(*st));
  }
  return out;
}

Result<void> SqliteAccountRepository::insert_token(const AccountToken& t) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "INSERT INTO account_tokens (hash, account_id, purpose, new_email, created_at, expires_at, "
      "password_hash, display_name, edition) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, t.hash)
      .bind(2, t.account_id)
      .bind(3, to_string(t.purpose))
      .bind(4, t.new_email)
      .bind(5, t.created_at)
      .bind(6, t.expires_at)
      .bind(7, t.password_hash)
      .bind(8, t.display_name)
      .bind(9, t.edition);
  return st->run();
}

Result<void> SqliteAccountRepository::retire_tokens(std::int64_t account_id, TokenPurpose purpose,
                                                    Millis at) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "UPDATE account_tokens SET used_at = ? WHERE account_id = ? AND purpose = ? AND used_at IS "
      "NULL");
  if (!st) return std::unexpected(st.error());
  st->bind(1, at).bind(2, account_id).bind(3, to_string(purpose));
  return st->run();
}

Result<AccountToken> SqliteAccountRepository::newest_unused_token(std::int64_t account_id,
                                                                  TokenPurpose purpose) {
  auto db = pool_.reader();
  auto st = db->prepare(TOKEN_COLUMNS
                        "WHERE account_id = ? AND purpose = ? AND used_at IS NULL "
                        "ORDER BY created_at DESC, rowid DESC LIMIT 1");
  if (!st) return std::unexpected(st.error());
  st->bind(1, account_id).bind(2, to_string(purpose));
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no unused token");
  return read_token(*st, purpose);
}

Result<AccountToken> SqliteAccountRepository::peek_token(std::string_view hash,
                                                         TokenPurpose purpose) {
  auto db = pool_.reader();
  auto st = db->prepare(TOKEN_COLUMNS "WHERE hash = ? AND purpose = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, hash).bind(2, to_string(purpose));
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "unknown link");
  return read_token(*st, purpose);
}

Result<AccountToken> SqliteAccountRepository::consume_token(std::string_view hash,
                                                            TokenPurpose purpose, Millis now) {
  auto db = pool_.writer();
  Transaction tx(*db);
  if (auto r = tx.begin(); !r) return std::unexpected(r.error());
  auto st = db->prepare(TOKEN_COLUMNS "WHERE hash = ? AND purpose = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, hash).bind(2, to_string(purpose));
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "unknown link");
  AccountToken t = read_token(*st, purpose);
  if (t.used_at) return fail(ErrorCode::invalid, "this link was already used");
  if (t.expires_at <= now) return fail(ErrorCode::invalid, "this link has expired");
  auto use = db->prepare("UPDATE account_tokens SET used_at = ? WHERE hash = ?");
  if (!use) return std::unexpected(use.error());
  use->bind(1, now).bind(2, hash);
  if (auto r = use->run(); !r) return std::unexpected(r.error());
  if (auto r = tx.commit(); !r) return std::unexpected(r.error());
  t.used_at = now;
  return t;
}

}  // namespace depesche::store::sqlite
