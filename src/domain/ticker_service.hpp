#pragma once
// Tickers and their entries: validation, Markdown rendering, storage, and
// the live event of every change, written in the same unit of work as the
// change (domain/live_event.hpp). Which live blogs exist is asked of the
// store each time, so a blog created on another node or by the CLI is
// known at once; an edition's ticker always exists.

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "domain/article_service.hpp"
#include "domain/editions.hpp"
#include "domain/live_event.hpp"
#include "domain/ticker.hpp"
#include "store/store.hpp"

namespace depesche::domain {

enum class EntryChange { created, updated, deleted };

/// Describes ticker changes as live events on "ticker:<id>" (the payloads
/// are JSON, so the api layer implements it: api/ticker_events).
class TickerEvents {
 public:
  virtual ~TickerEvents() = default;
  virtual LiveEvent entry_event(const TickerEntry& entry, EntryChange change) = 0;
  /// A live blog was created, ended or opened again.
  virtual LiveEvent blog_event(const LiveBlog& blog) = 0;
};

struct TickerLimits {
  std::size_t title = 200;
  std::size_t body = 20'000;
  std::size_t blog_title = 200;
  std::size_t blog_teaser = 600;
};

class TickerService {
 public:
  TickerService(store::Store& store, const Editions& editions, ArticleService& articles,
                TickerEvents& events, TickerLimits limits = {});

  /// True for an edition code or a live blog's slug; asks the store for
  /// blogs (an indexed read), so call it on the blocking pool.
  bool exists(std::string_view ticker) const;

  Result<LiveBlog> create_live_blog(std::string slug, std::string edition, const std::string& title,
                                    const std::string& teaser);
  Result<LiveBlog> live_blog(std::string_view slug);
  Result<std::vector<LiveBlog>> live_blogs(std::string_view edition);
  /// Marks a live blog as ended (it stays readable).
  Result<LiveBlog> end_live_blog(std::string_view slug);
  /// Ends a live blog (now, unless it has ended already) or opens it again;
  /// not_found for anything but a live blog.
  Result<LiveBlog> set_live_blog_ended(std::string_view slug, bool ended);

  /// Stores a new entry (body required) with its live event.
  Result<TickerEntry> post_entry(std::string_view ticker, const TickerEntryInput& input);
  /// not_found when the entry is not in `ticker`.
  Result<TickerEntry> edit_entry(std::string_view ticker, std::int64_t id,
                                 const TickerEntryInput& input);
  Result<void> delete_entry(std::string_view ticker, std::int64_t id);
  Result<TickerEntry> entry(std::string_view ticker, std::int64_t id);
  Result<Page<TickerEntry>> entries(const EntryQuery& query);
  /// The pinned entries, newest first (at most max_pinned_entries);
  /// not_found for an unknown ticker.
  Result<std::vector<TickerEntry>> pinned(std::string_view ticker);

  /// The edition a ticker belongs to (its own code, or its live blog's
  /// edition); empty for an unknown ticker. Reads the store.
  std::string edition_of(std::string_view ticker) const;

 private:
  Result<void> apply(TickerEntry& e, const TickerEntryInput& in);
  /// Fills article_path from article_id (published articles only).
  void link_article(TickerEntry& e);

  store::Store& store_;
  const Editions& editions_;
  ArticleService& articles_;
  TickerEvents& events_;
  TickerLimits limits_;
  // No lock and no stamp of this process's own: an entry's time comes from
  // the store inside its unit of work (TickerRepository::next_entry_time),
  // which keeps one ticker's writers in order on every node, and so the
  // live order (seq) is the stored order (created_at, id).
};

}  // namespace depesche::domain
