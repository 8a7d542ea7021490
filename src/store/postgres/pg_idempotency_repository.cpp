#include "store/postgres/pg_repositories.hpp"

namespace depesche::store::postgres {

using domain::RememberedResponse;

Result<std::optional<RememberedResponse>> PgIdempotencyRepository::find(std::string_view scope,
                                                                        std::string_view key) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(
      "SELECT fingerprint, status, headers, body, created_at FROM idempotency_keys "
      "WHERE scope = $1::text AND key = $2::text",
      scope, key);
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<RememberedResponse>();
  RememberedResponse r;
  r.scope = std::string(scope);
  r.key = std::string(key);
  r.fingerprint = rows->text(0, 0);
  r.status = static_cast<int>(rows->int64(0, 1));
  r.headers = rows->text(0, 2);
  r.body = rows->text(0, 3);
  r.created_at = rows->int64(0, 4);
  return r;
}

Result<void> PgIdempotencyRepository::remember(const RememberedResponse& r) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = query_guarded(
      **db,
      "INSERT INTO idempotency_keys (scope, key, fingerprint, status, headers, body, created_at) "
      "VALUES ($1::text, $2::text, $3::text, $4::integer, $5::text, $6::text, $7::bigint)",
      r.scope, r.key, r.fingerprint, r.status, r.headers, r.body, r.created_at);
  if (!rows) return std::unexpected(rows.error());
  return {};
}

Result<int> PgIdempotencyRepository::forget_before(Millis before, int limit) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query(
      "DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT scope, key FROM "
      "idempotency_keys WHERE created_at < $1::bigint ORDER BY created_at LIMIT $2::bigint)",
      before, limit);
  if (!rows) return std::unexpected(rows.error());
  return static_cast<int>(rows->affected());
}

Result<void> PgIdempotencyRepository::forget(std::string_view scope, std::string_view key) {
  auto db = pool_.lease();
  if (!db) return std::unexpected(db.error());
  auto rows = (*db)->query("DELETE FROM idempotency_keys WHERE scope = $1::text AND key = $2::text",
                           scope, key);
  if (!rows) return std::unexpected(rows.error());
  return {};
}

}  // namespace depesche::store::postgres
