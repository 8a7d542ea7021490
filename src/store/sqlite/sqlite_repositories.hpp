#pragma once
// Repository implementations over a ConnectionPool; see store/store.hpp for
// the contracts.

#include "store/sqlite/database.hpp"
#include "store/store.hpp"

namespace depesche::store::sqlite {

class SqliteArticleRepository final : public ArticleRepository {
 public:
  explicit SqliteArticleRepository(ConnectionPool& pool) : pool_(pool) {}
  Result<std::vector<Section>> sections(std::string_view edition) override;
  Result<Section> section_by_slug(std::string_view edition, std::string_view slug) override;
  Result<Section> section_by_id(std::int64_t id) override;
  Result<Section> create_section(const Section& section) override;
  Result<Article> by_id(std::int64_t id) override;
  Result<Article> by_slug(std::string_view edition, std::string_view slug) override;
  Result<ArticlePage> list(const ArticleQuery& query) override;
  Result<std::vector<Article>> related_by_tags(const Article& article, int limit) override;
  Result<std::map<std::string, std::int64_t>> translations(std::int64_t group) override;
  Result<Article> insert(const Article& article) override;
  Result<Article> update(const Article& article, int expected_version) override;
  Result<std::vector<ArticleRevision>> revisions(std::int64_t article_id) override;
  Result<std::int64_t> count() override;

 private:
  ConnectionPool& pool_;
};

class SqliteTokenRepository final : public TokenRepository {
 public:
  explicit SqliteTokenRepository(ConnectionPool& pool) : pool_(pool) {}
  Result<domain::ApiToken> insert(const domain::ApiToken& token) override;
  Result<domain::ApiToken> active_by_hash(std::string_view secret_hash) override;
  Result<void> revoke(std::string_view name, Millis at) override;
  Result<std::vector<domain::ApiToken>> list() override;

 private:
  ConnectionPool& pool_;
};

}  // namespace depesche::store::sqlite
