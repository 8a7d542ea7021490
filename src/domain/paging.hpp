#pragma once
// Keyset paging, one kit for every list that grows while it is read:
// articles, ticker entries, and later comments and chat messages. A list
// is ordered by (time, id); a cursor is the key of the last item a page
// showed, so a page boundary stays put while items arrive above it, and
// an item deleted meanwhile does not shift the next page.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/time.hpp"

namespace depesche::domain {

/// Which way a list runs: newest first (the default everywhere) or oldest first.
enum class PageOrder { newest, oldest };

/// A position in a list ordered by (at, id): the key of the last item shown.
/// `at` is the list's own time (an article's publication, an entry's
/// creation) and may be negative (before 1970); `id` is never negative.
struct Cursor {
  Millis at = 0;
  std::int64_t id = 0;

  friend bool operator==(const Cursor&, const Cursor&) = default;
};

/// The cursor as it travels in URLs and JSON: "<at>.<id>", both in decimal.
/// Clients treat it as opaque; old links keep working as long as this stays.
std::string encode_cursor(const Cursor& c);
/// The cursor that encode_cursor turned into `text`; nullopt for anything it
/// would not have produced (signs other than a leading '-' on `at`, leading
/// zeros, "-0", a negative id, values beyond 64 bits, other characters).
std::optional<Cursor> decode_cursor(std::string_view text);

/// One page of a list; `next` continues after its last item and is nullopt
/// at the end of the list.
template <class T>
struct Page {
  std::vector<T> items;
  std::optional<Cursor> next;
};

/// A page from the rows a store read with one row more than `limit` asks
/// for: that extra row only says that the list goes on. `key_of` gives an
/// item's cursor. Needs limit >= 1.
template <class T, class KeyOf>
Page<T> page_from_rows(std::vector<T> rows, int limit, KeyOf key_of) {
  Page<T> page;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(static_cast<std::size_t>(limit));
    page.next = key_of(rows.back());
  }
  page.items = std::move(rows);
  return page;
}

}  // namespace depesche::domain
