#pragma once
// Chooses and opens the store that store.url names: empty for the embedded
// SQLite file in the data dir, postgres:// or postgresql:// for PostgreSQL.

#include <memory>
#include <string>

#include "app/config.hpp"
#include "base/error.hpp"

namespace depesche::store {
class Store;
}
namespace depesche::store::sqlite {
class SqliteStore;
}

namespace depesche::app {

enum class StoreKind { sqlite, postgres };

/// Which store `url` selects; invalid, with a message naming store.url,
/// for another scheme or a PostgreSQL URL libpq cannot parse. Connects to
/// nothing (config validation calls it).
Result<StoreKind> store_kind_of(const std::string& url);

struct OpenedStore {
  std::unique_ptr<store::Store> store;
  /// The same store when it is SQLite (for its WAL checkpointer and
  /// metrics), else null.
  store::sqlite::SqliteStore* sqlite = nullptr;
};

/// Opens (does not migrate) the store of `config`. PostgreSQL gets
/// store.pool_size connections, opened at once, so an unreachable server
/// fails here with a message naming store.url, not at the first request.
Result<OpenedStore> open_store(const Config& config);

/// The PostgreSQL connections store.pool_size asks for (0: one per
/// blocking thread, plus the event relay's and the mail outbox's).
std::size_t postgres_pool_size(const Config& config);

}  // namespace depesche::app
