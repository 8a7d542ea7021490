#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/time.hpp"

namespace depesche::domain {

enum class Role { reader, moderator, editor, admin };

inline const char* to_string(Role r) {
  switch (r) {
    case Role::reader: return "reader";
    case Role::moderator: return "moderator";
    case Role::editor: return "editor";
    case Role::admin: return "admin";
  }
  return "reader";
}

inline std::optional<Role> parse_role(std::string_view text) {
  for (Role r : {Role::reader, Role::moderator, Role::editor, Role::admin})
    if (text == to_string(r)) return r;
  return std::nullopt;
}
/// True when `have` may do what `need` may do (admin > editor > moderator > reader).
inline bool role_at_least(Role have, Role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

/// A bearer token for machine clients. Only a hash of the secret is stored.
struct ApiToken {
  std::int64_t id = 0;
  std::string name;
  Role role = Role::editor;
  std::string secret_hash;  // hex SHA-256 of the secret
  Millis created_at = 0;
  std::optional<Millis> revoked_at;
};

}  // namespace depesche::domain
