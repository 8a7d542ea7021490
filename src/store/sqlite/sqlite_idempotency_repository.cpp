#include "store/sqlite/sqlite_repositories.hpp"

namespace depesche::store::sqlite {

using domain::RememberedResponse;

Result<std::optional<RememberedResponse>> SqliteIdempotencyRepository::find(std::string_view scope,
                                                                            std::string_view key) {
  auto db = pool_.reader();
  auto st = db->prepare(
      "SELECT fingerprint, status, headers, body, created_at FROM idempotency_keys "
      "WHERE scope = ? AND key = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, scope).bind(2, key);
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<RememberedResponse>();
  RememberedResponse r;
  r.scope = std::string(scope);
  r.key = std::string(key);
  r.fingerprint = st->text(0);
  r.status = static_cast<int>(st->int64(1));
  r.headers = st->text(2);
  r.body = st->text(3);
  r.created_at = st->int64(4);
  return r;
}

Result<void> SqliteIdempotencyRepository::remember(const RememberedResponse& r) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "INSERT INTO idempotency_keys (scope, key, fingerprint, status, headers, body, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, r.scope)
      .bind(2, r.key)
      .bind(3, r.fingerprint)
      .bind(4, r.status)
      .bind(5, r.headers)
      .bind(6, r.body)
      .bind(7, r.created_at);
  return st->run();
}

Result<int> SqliteIdempotencyRepository::forget_before(Millis before, int limit) {
  auto db = pool_.writer();
  auto st = db->prepare(
      "DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT scope, key FROM "
      "idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, before).bind(2, limit);
  if (auto r = st->run(); !r) return std::unexpected(r.error());
  return db->changes();
}

Result<void> SqliteIdempotencyRepository::forget(std::string_view scope, std::string_view key) {
  auto db = pool_.writer();
  auto st = db->prepare("DELETE FROM idempotency_keys WHERE scope = ? AND key = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, scope).bind(2, key);
  return st->run();
}

}  // namespace depesche::store::sqlite
