#pragma once
// Bearer tokens for machine clients (wire ingest, scripts). The secret is
// shown once at creation; the store keeps only its SHA-256.

#include <string>
#include <vector>

#include "base/error.hpp"
#include "domain/token.hpp"
#include "store/store.hpp"

namespace depesche::domain {

struct IssuedToken {
  ApiToken token;
  std::string secret;  // "dp_" + 43 base64url characters (256 random bits)
};

class TokenService {
 public:
  explicit TokenService(store::Store& store) : store_(store) {}

  Result<IssuedToken> create(std::string name, Role role);
  Result<void> revoke(std::string_view name);
  Result<std::vector<ApiToken>> list();
  /// The active token for a presented secret; unauthorized otherwise.
  Result<ApiToken> authenticate(std::string_view secret);

  /// Hex SHA-256, the form tokens are stored and looked up in.
  static std::string hash_secret(std::string_view secret);

 private:
  store::Store& store_;
};

}  // namespace depesche::domain
