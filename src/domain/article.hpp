#pragma once
// Plain types for editions' sections and articles. No behaviour beyond
// trivial helpers: rules live in ArticleService, persistence in store/.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/time.hpp"
#include "domain/image.hpp"
#include "domain/paging.hpp"

namespace depesche::domain {

enum class ArticleStatus { draft, published };

inline const char* to_string(ArticleStatus s) {
  return s == ArticleStatus::draft ? "draft" : "published";
}

struct Section {
  std::int64_t id = 0;
  std::string edition;
  std::string slug;
  std::string name;
  int position = 0;
};

struct Article {
  std::int64_t id = 0;
  std::string edition;
  std::string slug;
  std::int64_t section_id = 0;
  std::string section_slug;  // filled by reads, for links
  std::string section_name;  // filled by reads, for display
  std::string headline;
  std::string teaser;
  std::string body;       // Markdown; empty in list results
  std::string body_html;  // rendered at write time; empty in list results
  std::optional<Image> image;
  std::string author;
  std::vector<std::string> tags;
  ArticleStatus status = ArticleStatus::draft;
  bool top = false;  // a top story on the edition's home page
  std::optional<Millis> published_at;
  Millis created_at = 0;
  Millis updated_at = 0;
  int version = 1;                        // bumped by every update; revisions keep the old ones
  std::int64_t translation_group = 0;     // articles sharing it translate each other; 0 = none
  std::vector<std::int64_t> related_ids;  // chosen related articles, in order
};

struct ArticleQuery {
  std::string edition;
  std::optional<std::int64_t> section_id;
  std::optional<bool> top;
  bool include_drafts = false;
  /// Articles are listed newest first by (published_at, id), drafts by
  /// their creation time; `after` is the cursor's `at` of that time.
  std::optional<Cursor> after;
  int limit = 20;
};

struct ArticleRevision {
  std::int64_t article_id = 0;
  int version = 0;
  std::string headline;
  std::string teaser;
  std::string body;
  Millis saved_at = 0;
};

}  // namespace depesche::domain
