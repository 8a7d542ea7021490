#pragma once

#include "base/error.hpp"

namespace depesche::store::postgres {

class Connection;

/// Applies every migration newer than the database's schema version, each
/// in its own transaction, holding a session advisory lock meanwhile so
/// that nodes starting together migrate once (the others wait, then find
/// nothing to do). The versions and their meaning are SQLite's
/// (store/sqlite/migrations.cpp) in PostgreSQL's dialect. Returns the
/// version reached. Idempotent.
Result<int> migrate(Connection& db);

/// The newest schema version this build knows.
int latest_schema_version();

}  // namespace depesche::store::postgres
