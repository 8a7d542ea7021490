#pragma once
// Newstickers and live blogs. Every edition has a ticker named by its code
// ("de"); a live blog has one named by its slug. Entries are short: an
// optional title, a Markdown body, an optional image and article link, and
// pinned/breaking flags.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/time.hpp"
#include "domain/image.hpp"
#include "domain/paging.hpp"

namespace depesche::domain {

struct LiveBlog {
  std::int64_t id = 0;
  std::string slug;  // also its ticker's id
  std::string edition;
  std::string title;
  std::string teaser;
  Millis created_at = 0;
  std::optional<Millis> ended_at;
};

struct TickerEntry {
  std::int64_t id = 0;
  std::string ticker;
  std::string title;      // may be empty
  std::string body;       // Markdown
  std::string body_html;  // rendered at write time (cmark-gfm, safe)
  std::optional<Image> image;
  std::optional<std::int64_t> article_id;
  std::string article_path;  // "/de/articles/slug" of a published article_id; not stored
  bool pinned = false;
  bool breaking = false;
  Millis created_at = 0;
  Millis updated_at = 0;
};

/// A change to an entry, as given by an editor: unset fields stay as they are.
struct TickerEntryInput {
  std::optional<std::string> title;
  std::optional<std::string> body;
  std::optional<std::optional<Image>> image;              // set to nullopt to remove
  std::optional<std::optional<std::int64_t>> article_id;  // set to nullopt to remove
  std::optional<bool> pinned;
  std::optional<bool> breaking;
  /// When the entry is dated, for trusted callers only (the demo loader, an
  /// import): the API and the editor console never set it, so an editor's
  /// entry is always stamped by the service.
  std::optional<Millis> posted_at;
};

/// The most entries one page may hold.
inline constexpr int max_entry_page = 100;
/// The most pinned entries shown above a ticker (the newest of them): pins
/// are for the few entries a reader must not miss.
inline constexpr int max_pinned_entries = 10;

/// A ticker's entries run by (created_at, id): a cursor's `at` is an
/// entry's creation time, which it keeps, so pages stay put while entries
/// arrive.
struct EntryQuery {
  std::string ticker;
  PageOrder order = PageOrder::newest;
  std::optional<Cursor> after;
  int limit = 20;
};

}  // namespace depesche::domain
