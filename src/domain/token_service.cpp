#include "domain/token_service.hpp"

#include <sodium.h>

#include <stdexcept>

namespace depesche::domain {
namespace {
void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}
}  // namespace

std::string TokenService::hash_secret(std::string_view secret) {
  ensure_sodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

Result<IssuedToken> TokenService::create(std::string name, Role role) {
  ensure_sodium();
  if (name.empty() || name.size() > 64)
    return fail(ErrorCode::invalid, "the token name must have 1 to 64 characters", "name");
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      return fail(ErrorCode::invalid, "the token name may hold letters, digits, '-', '_' and '.'",
                  "name");
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  std::string secret = std::string("dp_") + b64;
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
