#pragma once

#include "base/error.hpp"

namespace depesche::store::sqlite {

class Database;

/// Applies every migration newer than the database's schema version, each in
/// its own transaction. Returns the version reached. Idempotent.
Result<int> migrate(Database& db);

/// The newest schema version this build knows.
int latest_schema_version();

}  // namespace depesche::store::sqlite
