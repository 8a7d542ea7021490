#pragma once
// The newsroom's rules for sections and articles: what a valid article is,
// how slugs, translations and related articles work, what readers may see.
// Calls block on the store: run them on the blocking pool.

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "domain/article.hpp"
#include "domain/editions.hpp"
#include "store/store.hpp"

namespace depesche::domain {

/// What an editor sends to create an article. Unset optionals take defaults.
struct ArticleInput {
  std::optional<std::string> edition;
  std::optional<std::string> slug;     // derived from the headline when absent
  std::optional<std::string> section;  // section slug within the edition
  std::optional<std::string> headline;
  std::optional<std::string> teaser;
  std::optional<std::string> body;
  std::optional<std::optional<Image>> image;  // engaged nullopt: remove the image
  std::optional<std::string> author;
  std::optional<std::vector<std::string>> tags;
  std::optional<std::vector<std::int64_t>> related;
  std::optional<bool> top;
  std::optional<std::int64_t> translation_of;  // id of an article in another edition
  std::optional<Millis> published_at;          // back-dating, e.g. for imports
};

struct ArticleLimits {
  std::size_t headline = 200;
  std::size_t teaser = 600;
  std::size_t body = 200'000;
  std::size_t author = 120;
  std::size_t tags = 20;
  std::size_t tag = 40;
  std::size_t related = 10;
};

class ArticleService {
 public:
  ArticleService(store::Store& store, const Editions& editions, ArticleLimits limits = {});

  Result<std::vector<Section>> sections(std::string_view edition);
  Result<Section> section(std::string_view edition, std::string_view slug);
  Result<Section> create_section(std::string edition, std::string slug, const std::string& name,
                                 int position);

  /// A published article by slug; drafts are not_found for readers.
  Result<Article> published(std::string_view edition, std::string_view slug);
  /// Any article by id when `include_drafts`, else only published ones.
  Result<Article> by_id(std::int64_t id, bool include_drafts);
  Result<Page<Article>> list(const ArticleQuery& query);

  /// Chosen related articles (published only), topped up by shared tags.
  Result<std::vector<Article>> related(const Article& article, int limit);
  /// Edition → slug of the article's published translations (itself included).
  Result<std::map<std::string, Article>> translations(const Article& article);

  /// Creates a draft. Validates every field; on error nothing is stored.
  Result<Article> create(const ArticleInput& input);
  /// Changes the given fields, keeping a revision; conflict when
  /// `expected_version` is set and stale.
  Result<Article> update(std::int64_t id, const ArticleInput& input,
                         std::optional<int> expected_version);
  /// Publishes a draft (published_at = now unless set); publishing twice is fine.
  Result<Article> publish(std::int64_t id);

  /// Bumped after every successful write; page caches compare against it.
  std::uint64_t content_generation() const { return generation_.load(std::memory_order_acquire); }
  /// Marks every cached page stale: for other content shown on pages
  /// (ticker entries, live blogs).
  void bump_generation() { generation_.fetch_add(1, std::memory_order_acq_rel); }
  /// Called after every successful write (cache invalidation, later the bus).
  void on_change(std::function<void(const Article&)> listener) {
    listeners_.push_back(std::move(listener));
  }

 private:
  Result<void> validate_and_apply(const ArticleInput& in, Article& a, bool creating);
  void changed(const Article& a);

  store::Store& store_;
  const Editions& editions_;
  ArticleLimits limits_;
  std::atomic<std::uint64_t> generation_{1};
  std::vector<std::function<void(const Article&)>> listeners_;
};

}  // namespace depesche::domain
