#include "domain/token_service.hpp"

#include "domain/secrets.hpp"

namespace depesche::domain {

std::string TokenService::hash_secret(std::string_view secret) { return sha256_hex(secret); }

Result<IssuedToken> TokenService::create(std::string name, Role role) {
  if (name.empty() || name.size() > 64)
    return fail(ErrorCode::invalid, "the token name must have 1 to 64 characters", "name");
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      return fail(ErrorCode::invalid, "the token name may hold letters, digits, '-', '_' and '.'",
                  "name");
  std::string secret = "dp_" + random_secret(32);
  ApiToken t;
  t.name = std::move(name);
  t.role = role;
  t.secret_hash = hash_secret(secret);
  t.created_at = now_millis();
  auto stored = store_.tokens().insert(t);
  if (!stored) return std::unexpected(stored.error());
  return IssuedToken{*stored, secret};
}

Result<void> TokenService::revoke(std::string_view name) {
  return store_.tokens().revoke(name, now_millis());
}

Result<std::vector<ApiToken>> TokenService::list() { return store_.tokens().list(); }

Result<ApiToken> TokenService::authenticate(std::string_view secret) {
  if (!secret.starts_with("dp_") || secret.size() > 100)
    return fail(ErrorCode::unauthorized, "invalid token");
  auto t = store_.tokens().active_by_hash(hash_secret(secret));
  if (!t) {
    if (t.error().code == ErrorCode::not_found)
      return fail(ErrorCode::unauthorized, "invalid or revoked token");
    return std::unexpected(t.error());
  }
  return t;
}

}  // namespace depesche::domain
