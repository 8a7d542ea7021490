#pragma once
// The storage interfaces. Callers see plain domain types and Result<>; the
// SQLite implementation (store/sqlite/) and a later PostgreSQL one satisfy the
// same contract and pass the same test suite. Every call blocks: run it on
// the blocking pool, never on an I/O thread.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "domain/article.hpp"
#include "domain/token.hpp"

namespace depesche::store {

using domain::Article;
using domain::ArticlePage;
using domain::ArticleQuery;
using domain::ArticleRevision;
using domain::Section;

class ArticleRepository {
 public:
  virtual ~ArticleRepository() = default;

  /// Sections of an edition, ordered by position then name.
  virtual Result<std::vector<Section>> sections(std::string_view edition) = 0;
  virtual Result<Section> section_by_slug(std::string_view edition, std::string_view slug) = 0;
  virtual Result<Section> section_by_id(std::int64_t id) = 0;
  /// conflict when (edition, slug) exists.
  virtual Result<Section> create_section(const Section& section) = 0;

  /// The whole article with tags, related ids and section names.
  virtual Result<Article> by_id(std::int64_t id) = 0;
  virtual Result<Article> by_slug(std::string_view edition, std::string_view slug) = 0;
  /// Newest first by (published_at, id); drafts sort by creation time. Items
  /// carry no body. `next` is set when more items follow.
  virtual Result<ArticlePage> list(const ArticleQuery& query) = 0;
  /// Published articles of the same edition sharing the most tags with `article`.
  virtual Result<std::vector<Article>> related_by_tags(const Article& article, int limit) = 0;
  /// Edition → article id of every article in a translation group.
  virtual Result<std::map<std::string, std::int64_t>> translations(std::int64_t group) = 0;

  /// Stores a new article with its tags and related ids; assigns the id.
  /// conflict when (edition, slug) exists.
  virtual Result<Article> insert(const Article& article) = 0;
  /// Replaces the stored article if its version is still `expected_version`
  /// (else conflict), keeping the old text as a revision; bumps the version.
  virtual Result<Article> update(const Article& article, int expected_version) = 0;
  virtual Result<std::vector<ArticleRevision>> revisions(std::int64_t article_id) = 0;
  /// Number of articles in the store (any edition or status).
  virtual Result<std::int64_t> count() = 0;
};

class TokenRepository {
 public:
  virtual ~TokenRepository() = default;
  /// conflict when the name is taken.
  virtual Result<domain::ApiToken> insert(const domain::ApiToken& token) = 0;
  /// not_found for unknown or revoked tokens.
  virtual Result<domain::ApiToken> active_by_hash(std::string_view secret_hash) = 0;
  /// not_found when no active token has that name.
  virtual Result<void> revoke(std::string_view name, Millis at) = 0;
  virtual Result<std::vector<domain::ApiToken>> list() = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual ArticleRepository& articles() = 0;
  virtual TokenRepository& tokens() = 0;
  /// Brings the schema to the newest version; idempotent.
  virtual Result<int> migrate() = 0;
  /// Cheap liveness check of the database, for /readyz.
  virtual Result<void> ping() = 0;
};

}  // namespace depesche::store
