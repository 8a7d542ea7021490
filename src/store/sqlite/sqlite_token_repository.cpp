#include "store/sqlite/sqlite_repositories.hpp"

namespace depesche::store::sqlite {
namespace {
domain::ApiToken read_token(const Statement& st) {
  domain::ApiToken t;
  t.id = st.int64(0);
  t.name = st.text(1);
  t.role = domain::parse_role(st.text(2)).value_or(domain::Role::reader);
  t.secret_hash = st.text(3);
  t.created_at = st.int64(4);
  t.revoked_at = st.opt_int64(5);
  return t;
}
}  // namespace

Result<domain::ApiToken> SqliteTokenRepository::insert(const domain::ApiToken& t) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "INSERT INTO api_tokens (name, role, secret_hash, created_at) VALUES (?, ?, ?, ?)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, t.name)
      .bind(2, domain::to_string(t.role))
      .bind(3, t.secret_hash)
      .bind(4, t.created_at);
  if (auto r = st->run(); !r) {
    if (r.error().code == ErrorCode::conflict)
      return fail(ErrorCode::conflict, "a token with that name exists", "name");
    return std::unexpected(r.error());
  }
  domain::ApiToken out = t;
  out.id = db->last_insert_id();
  return out;
}

Result<domain::ApiToken> SqliteTokenRepository::active_by_hash(std::string_view hash) {
  auto db = pool_.reader();
  auto st = db->prepare(
      "SELECT id, name, role, secret_hash, created_at, revoked_at FROM api_tokens "
      "WHERE secret_hash = ? AND revoked_at IS NULL");
  if (!st) return std::unexpected(st.error());
  st->bind(1, hash);
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "unknown token");
  return read_token(*st);
}

Result<void> SqliteTokenRepository::revoke(std::string_view name, Millis at) {
  auto db = pool_.writer();
  auto st =
      db->prepare("UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL");
  if (!st) return std::unexpected(st.error());
  st->bind(1, at).bind(2, name);
  if (auto r = st->run(); !r) return r;
  if (db->changes() == 0) return fail(ErrorCode::not_found, "no active token has that name");
  return {};
}

Result<std::vector<domain::ApiToken>> SqliteTokenRepository::list() {
  auto db = pool_.reader();
  auto st = db->prepare(
      "SELECT id, name, role, secret_hash, created_at, revoked_at FROM api_tokens ORDER BY id");
  if (!st) return std::unexpected(st.error());
  std::vector<domain::ApiToken> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_token(*st));
  }
  return out;
}

}  // namespace depesche::store::sqlite
