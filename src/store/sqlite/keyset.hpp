#pragma once
// Keyset paging (domain/paging.hpp) in SQLite's dialect: the WHERE, ORDER BY
// and LIMIT that continue a list ordered by (time, id) after a cursor, and
// the binds that go with them. Every paged repository uses it, so all lists
// page alike. A PostgreSQL store has the same helper with $n parameters;
// the row-value comparison "(at, id) < (?, ?)" is the same in both and lets
// an index on (..., at, id) serve the page without an offset.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "domain/paging.hpp"
#include "store/sqlite/database.hpp"

namespace depesche::store::sqlite {

class Keyset {
 public:
  /// `at` and `id` are the SQL expressions of the list's key, as they are
  /// written in the query ("created_at", "COALESCE(a.published_at,
  /// a.created_at)"); an index on them in the same order keeps paging
  /// cheap. The keyset's parameters are numbered from `first_param` on,
  /// after the query's own. A `limit` below 1 is taken as 1.
  Keyset(const std::string& at, const std::string& id, domain::PageOrder order,
         std::optional<domain::Cursor> after, int limit, int first_param);

  /// To follow the query's own WHERE conditions:
  /// " AND (at, id) < (?n, ?n+1) ORDER BY at DESC, id DESC LIMIT ?m"
  /// (">" and ASC for oldest first; no AND without a cursor).
  const std::string& sql() const { return sql_; }
  /// Binds the cursor and the limit, one row more than a page, which
  /// tells whether another page follows.
  void bind(Statement& st) const;

  /// Runs `st` (prepared from sql() and bound) and makes the page: `read`
  /// turns a row into an item, `key_of` gives an item's cursor.
  template <class T, class Read, class KeyOf>
  Result<domain::Page<T>> read_page(Statement& st, Read read, KeyOf key_of) const {
    std::vector<T> rows;
    for (;;) {
      auto row = st.step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      rows.push_back(read(st));
    }
    return domain::page_from_rows(std::move(rows), limit_, key_of);
  }

 private:
  std::optional<domain::Cursor> after_;
  int limit_;
  int first_param_;
  std::string sql_;
};

}  // namespace depesche::store::sqlite
