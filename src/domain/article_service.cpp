#include "domain/article_service.hpp"

#include <algorithm>
#include <set>

#include "domain/image.hpp"
#include "domain/input_rules.hpp"
#include "text/html.hpp"
#include "text/markdown.hpp"
#include "text/slug.hpp"

namespace depesche::domain {
namespace {

// Slugs that would shadow a page route under /{edition}/.
const std::set<std::string, std::less<>> kReservedSectionSlugs = {
    "articles", "ticker", "live",  "chats",     "search",   "account", "admin",
    "api",      "static", "media", "feed.atom", "feed.rss", "tags"};

}  // namespace

ArticleService::ArticleService(store::Store& store, const Editions& editions, ArticleLimits limits)
    : store_(store), editions_(editions), limits_(limits) {}

Result<std::vector<Section>> ArticleService::sections(std::string_view edition) {
  if (!editions_.contains(edition)) return fail(ErrorCode::not_found, "unknown edition", "edition");
  return store_.articles().sections(edition);
}

Result<Section> ArticleService::section(std::string_view edition, std::string_view slug) {
  if (!editions_.contains(edition)) return fail(ErrorCode::not_found, "unknown edition", "edition");
  return store_.articles().section_by_slug(edition, slug);
}

Result<Section> ArticleService::create_section(std::string edition, std::string slug,
                                               const std::string& name, int position) {
  if (!editions_.contains(edition)) return fail(ErrorCode::invalid, "unknown edition", "edition");
  if (!text::is_valid_slug(slug) || kReservedSectionSlugs.contains(slug))
    return fail(
        ErrorCode::invalid,
        "the section slug must be lower-case words joined by hyphens and not a reserved word",
        "slug");
  auto n = checked_text(name, 80, "name", true);
  if (!n) return std::unexpected(n.error());
  auto s = store_.articles().create_section(
      Section{0, std::move(edition), std::move(slug), *n, position});
  if (s) generation_.fetch_add(1, std::memory_order_acq_rel);
  return s;
}

Result<Article> ArticleService::published(std::string_view edition, std::string_view slug) {
  if (!editions_.contains(edition) || !text::is_valid_slug(slug))
    return fail(ErrorCode::not_found, "no such article");
  auto a = store_.articles().by_slug(edition, slug);
  if (a && a->status != ArticleStatus::published)
    return fail(ErrorCode::not_found, "no such article");
  return a;
}

Result<Article> ArticleService::by_id(std::int64_t id, bool include_drafts) {
  auto a = store_.articles().by_id(id);
  if (a && !include_drafts && a->status != ArticleStatus::published)
    return fail(ErrorCode::not_found, "no such article");
  return a;
}

Result<Page<Article>> ArticleService::list(const ArticleQuery& query) {
  if (!editions_.contains(query.edition))
    return fail(ErrorCode::invalid, "unknown edition", "edition");
  if (query.limit < 1 || query.limit > 100)
    return fail(ErrorCode::invalid, "limit must be between 1 and 100", "limit");
  return store_.articles().list(query);
}

Result<std::vector<Article>> ArticleService::related(const Article& article, int limit) {
  std::vector<Article> out;
  for (auto id : article.related_ids) {
    if (static_cast<int>(out.size()) >= limit) break;
    auto r = store_.articles().by_id(id);
    if (r && r->status == ArticleStatus::published && r->edition == article.edition) {
      r->body.clear();
      r->body_html.clear();
      out.push_back(std::move(*r));
    }
  }
  if (static_cast<int>(out.size()) < limit) {
    auto by_tags = store_.articles().related_by_tags(article, limit + static_cast<int>(out.size()));
    if (!by_tags) return std::unexpected(by_tags.error());
    for (auto& a : *by_tags) {
      if (static_cast<int>(out.size()) >= limit) break;
      bool dup =
          std::any_of(out.begin(), out.end(), [&](const Article& x) { return x.id == a.id; });
      if (!dup) out.push_back(std::move(a));
    }
  }
  return out;
}

Result<std::map<std::string, Article>> ArticleService::translations(const Article& article) {
  std::map<std::string, Article> out;
  auto ids = store_.articles().translations(article.translation_group);
  if (!ids) return std::unexpected(ids.error());
  for (const auto& [edition, id] : *ids) {
    if (id == article.id) {
      out.emplace(edition, article);
      continue;
    }
    auto a = store_.articles().by_id(id);
    if (a && a->status == ArticleStatus::published && editions_.contains(edition))
      out.emplace(edition, std::move(*a));
  }
  return out;
}

Result<void> ArticleService::validate_and_apply(const ArticleInput& in, Article& a, bool creating) {
  auto& repo = store_.articles();
  if (creating) {
    if (!in.edition) return fail(ErrorCode::invalid, "edition is required", "edition");
    if (!editions_.contains(*in.edition))
      return fail(ErrorCode::invalid, "unknown edition", "edition");
    a.edition = *in.edition;
    if (!in.section) return fail(ErrorCode::invalid, "section is required", "section");
    if (!in.headline) return fail(ErrorCode::invalid, "headline is required", "headline");
  } else if (in.edition && *in.edition != a.edition) {
    return fail(ErrorCode::invalid,
                "an article cannot move to another edition; create a translation instead",
                "edition");
  }
  if (in.section) {
    auto s = repo.section_by_slug(a.edition, *in.section);
    if (!s) {
      if (s.error().code == ErrorCode::not_found)
        return fail(ErrorCode::invalid, "no section '" + *in.section + "' in edition " + a.edition,
                    "section");
      return std::unexpected(s.error());
    }
    a.section_id = s->id;
    a.section_slug = s->slug;
    a.section_name = s->name;
  }
  if (in.headline) {
    auto v = checked_text(*in.headline, limits_.headline, "headline", true);
    if (!v) return std::unexpected(v.error());
    a.headline = *v;
  }
  if (in.teaser) {
    auto v = checked_text(*in.teaser, limits_.teaser, "teaser", false);
    if (!v) return std::unexpected(v.error());
    a.teaser = *v;
  }
  if (in.body) {
    if (in.body->size() > limits_.body)
      return fail(ErrorCode::invalid,
                  "body is longer than " + std::to_string(limits_.body) + " bytes", "body");
    if (text::utf8_length(*in.body) < 0)
      return fail(ErrorCode::invalid, "body is not valid UTF-8", "body");
    a.body = *in.body;
    a.body_html = text::markdown_to_html(a.body);
  }
  if (in.author) {
    auto v = checked_text(*in.author, limits_.author, "author", false);
    if (!v) return std::unexpected(v.error());
    a.author = *v;
  }
  if (in.image) {
    if (!*in.image) {
      a.image.reset();
    } else {
      auto img = checked_image(**in.image, ImageSize::required);
      if (!img) return std::unexpected(img.error());
      a.image = std::move(*img);
    }
  }
  if (in.tags) {
    if (in.tags->size() > limits_.tags)
      return fail(ErrorCode::invalid, "at most " + std::to_string(limits_.tags) + " tags", "tags");
    std::vector<std::string> tags;
    for (const auto& t : *in.tags) {
      if (!text::is_valid_slug(t) || t.size() > limits_.tag)
        return fail(ErrorCode::invalid,
                    "tag '" + t + "' must be lower-case words joined by hyphens", "tags");
      if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
    }
    a.tags = std::move(tags);
  }
  if (in.top) a.top = *in.top;
  if (in.published_at) a.published_at = in.published_at;
  if (in.slug) {
    if (!text::is_valid_slug(*in.slug))
      return fail(ErrorCode::invalid,
                  "slug must be lower-case ASCII words joined by hyphens, at most 80 characters",
                  "slug");
    a.slug = *in.slug;
  } else if (creating) {
    a.slug = text::slugify(a.headline);
    if (a.slug.empty())
      return fail(ErrorCode::invalid, "cannot derive a slug from the headline; give one", "slug");
  }
  if (in.related) {
    if (in.related->size() > limits_.related)
      return fail(ErrorCode::invalid,
                  "at most " + std::to_string(limits_.related) + " related articles", "related");
    std::vector<std::int64_t> ids;
    for (auto id : *in.related) {
      if (id == a.id)
        return fail(ErrorCode::invalid, "an article cannot be related to itself", "related");
      auto r = repo.by_id(id);
      if (!r || r->edition != a.edition)
        return fail(ErrorCode::invalid,
                    "related article " + std::to_string(id) + " does not exist in this edition",
                    "related");
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
    a.related_ids = std::move(ids);
  }
  if (in.translation_of) {
    auto other = repo.by_id(*in.translation_of);
    if (!other)
      return fail(ErrorCode::invalid, "translation_of names no article", "translation_of");
    if (other->edition == a.edition)
      return fail(ErrorCode::invalid, "a translation must be in another edition", "translation_of");
    std::int64_t group = other->translation_group != 0 ? other->translation_group : other->id;
    auto members = repo.translations(group);
    if (!members) return std::unexpected(members.error());
    auto it = members->find(a.edition);
    if (it != members->end() && it->second != a.id)
      return fail(ErrorCode::conflict,
                  "that story already has a translation in edition " + a.edition, "translation_of");
    a.translation_group = group;
  }
  return {};
}

Result<Article> ArticleService::create(const ArticleInput& input) {
  Article a;
  a.status = ArticleStatus::draft;
  if (auto r = validate_and_apply(input, a, true); !r) return std::unexpected(r.error());
  a.created_at = a.updated_at = now_millis();
  auto stored = store_.articles().insert(a);
  if (!stored) return stored;
  changed(*stored);
  return store_.articles().by_id(stored->id);
}

Result<Article> ArticleService::update(std::int64_t id, const ArticleInput& input,
                                       std::optional<int> expected_version) {
  auto current = store_.articles().by_id(id);
  if (!current) return current;
  if (expected_version && *expected_version != current->version)
    return fail(ErrorCode::conflict,
                "the article was changed meanwhile (version " + std::to_string(current->version) +
                    "); reload and retry",
                "version");
  Article a = *current;
  if (auto r = validate_and_apply(input, a, false); !r) return std::unexpected(r.error());
  a.updated_at = now_millis();
  auto stored = store_.articles().update(a, current->version);
  if (!stored) return stored;
  changed(*stored);
  return store_.articles().by_id(id);
}

Result<Article> ArticleService::publish(std::int64_t id) {
  auto current = store_.articles().by_id(id);
  if (!current) return current;
  if (current->status == ArticleStatus::published) return current;
  Article a = *current;
  a.status = ArticleStatus::published;
  a.updated_at = now_millis();
  if (!a.published_at) a.published_at = a.updated_at;
  // A back-dated publication (imports, the demo) is as of that date, not
  // an update made now.
  a.updated_at = std::min(a.updated_at, *a.published_at);
  auto stored = store_.articles().update(a, current->version);
  if (!stored) return stored;
  changed(*stored);
  return store_.articles().by_id(id);
}

void ArticleService::changed(const Article& a) {
  generation_.fetch_add(1, std::memory_order_acq_rel);
  for (auto& l : listeners_) l(a);
}

}  // namespace depesche::domain
