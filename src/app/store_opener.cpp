#include "app/store_opener.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "store/postgres/pg_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace depesche::app {

Result<StoreKind> store_kind_of(const std::string& url) {
  if (url.empty()) return StoreKind::sqlite;
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    if (auto r = store::postgres::check_url(url); !r)
      return fail(ErrorCode::invalid,
                  "store.url: not a valid PostgreSQL URL: " + r.error().message);
    return StoreKind::postgres;
  }
  // Only the scheme is repeated: the rest may hold a password.
  auto colon = url.find("://");
  std::string scheme = colon == std::string::npos ? std::string() : url.substr(0, colon);
  return fail(ErrorCode::invalid,
              "store.url: " + (scheme.empty() ? std::string("no scheme") : "'" + scheme + "'") +
                  " is not a store; leave store.url empty for the embedded SQLite store, or "
                  "give postgres://user@host/database for PostgreSQL");
}

std::size_t postgres_pool_size(const Config& c) {
  if (c.store_pool_size > 0) return static_cast<std::size_t>(c.store_pool_size);
  // Capped: a node's blocking threads mostly render pages, and every
  // PostgreSQL connection is a server process; writers beyond the pool
  // wait for a connection rather than for a lock inside the server.
  return std::min<std::size_t>(static_cast<std::size_t>(c.server_blocking_threads) + 2, 16);
}

Result<OpenedStore> open_store(const Config& c) {
  auto kind = store_kind_of(c.store_url);
  if (!kind) return std::unexpected(kind.error());
  OpenedStore out;
  if (*kind == StoreKind::postgres) {
    auto pg = store::postgres::PgStore::open(c.store_url, postgres_pool_size(c),
                                             static_cast<int>(c.store_connect_timeout_s));
    if (!pg) {
      Error e = pg.error();
      e.message = "store.url: " + e.message;
      return std::unexpected(e);
    }
    out.store = std::move(*pg);
    return out;
  }
  auto sqlite = store::sqlite::SqliteStore::open(
      (std::filesystem::path(c.data_dir) / "depesche.db").string(),
      static_cast<std::size_t>(c.server_blocking_threads),
      {.max_units = static_cast<std::size_t>(c.store_group_commit_max_units),
       .max_age = std::chrono::microseconds(c.store_group_commit_max_age_us)});
  if (!sqlite) return std::unexpected(sqlite.error());
  out.sqlite = sqlite->get();
  out.store = std::move(*sqlite);
  return out;
}

}  // namespace depesche::app
