#include "store/postgres/pg_repositories.hpp"

namespace depesche::store::postgres {
namespace {

#define API_TOKEN_COLUMNS \
  "SELECT id, name, role, secret_hash, created_at, revoked_at FROM api_tokens "

domain::ApiToken read_token(const Rows& rows, int i) {
  domain::ApiToken t;
  t.id = rows.int64(i, 0);
  t.name = rows.text(i, 1);
  t.role = domain::parse_role(rows.text(i, 2)).value_or(domain::Role::reader);
  t.secret_hash = rows.text(i, 3);
  t.created_at = rows.int64(i, 4);
  t.revoked_at = rows.opt_int64(i, 5);
  return t;
}

}  // namespace

Result<domain::ApiToken> PgTokenRepository::insert(const domain::ApiToken& t) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = query_guarded(
      **db,
      "INSERT INTO api_tokens (name, role, secret_hash, created_at) VALUES ($1, $2, $3, "
      "$4::bigint) RETURNING id",
      t.name, domain::to_string(t.role), t.secret_hash, t.created_at);
  if (!rows) {
    if (rows.error().code == ErrorCode::conflict)
      return fail(ErrorCode::conflict, "a token with that name exists", "name");
    return std::unexpected(rows.error());
  }
  domain::ApiToken out = t;
  out.id = rows->int64(0, 0);
  return out;
}

Result<domain::ApiToken> PgTokenRepository::active_by_hash(std::string_view hash) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(API_TOKEN_COLUMNS "WHERE secret_hash = $1 AND revoked_at IS NULL", hash);
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return fail(ErrorCode::not_found, "unknown token");
  return read_token(*rows, 0);
}

Result<void> PgTokenRepository::revoke(std::string_view name, Millis at) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto r = (*db)->query(
      "UPDATE api_tokens SET revoked_at = $1::bigint WHERE name = $2 AND revoked_at IS NULL", at,
      name);
  if (!r) return std::unexpected(r.error());
  if (r->affected() == 0) return fail(ErrorCode::not_found, "no active token has that name");
  return {};
}

Result<std::vector<domain::ApiToken>> PgTokenRepository::list() {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(API_TOKEN_COLUMNS "ORDER BY id");
  if (!rows) return std::unexpected(rows.error());
  std::vector<domain::ApiToken> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) out.push_back(read_token(*rows, i));
  return out;
}

}  // namespace depesche::store::postgres
