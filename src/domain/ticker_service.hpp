#pragma once
// Tickers and their entries: validation, Markdown rendering, storage, and
// the live event that follows every change. Which tickers exist is kept in
// memory (the edition codes and the live blogs' slugs), because the live
// hub asks on every subscription and must not wait for the store.

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "domain/article_service.hpp"
#include "domain/editions.hpp"
#include "domain/ticker.hpp"
#include "store/store.hpp"

namespace depesche::domain {

enum class EntryChange { created, updated, deleted };

/// Receives every change after it is stored (the app publishes it on the bus).
class TickerEvents {
 public:
  virtual ~TickerEvents() = default;
  virtual void entry_changed(const TickerEntry& entry, EntryChange change) = 0;
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

  /// Loads the live blogs' slugs; call once at start.
  Result<void> load();
  /// True for an edition code or a live blog's slug. Thread-safe, no I/O.
  bool exists(std::string_view ticker) const;

  Result<LiveBlog> create_live_blog(std::string slug, std::string edition, std::string title,
                                    std::string teaser);
  Result<LiveBlog> live_blog(std::string_view slug);
  Result<std::vector<LiveBlog>> live_blogs(std::string_view edition);
  /// Marks a live blog as ended (it stays readable).
  Result<LiveBlog> end_live_blog(std::string_view slug);
  /// Ends a live blog (now, unless it has ended already) or opens it again;
  /// not_found for anything but a live blog.
  Result<LiveBlog> set_live_blog_ended(std::string_view slug, bool ended);

  /// Stores a new entry (body required) and publishes it.
  Result<TickerEntry> post_entry(std::string_view ticker, const TickerEntryInput& input);
  /// not_found when the entry is not in `ticker`.
  Result<TickerEntry> edit_entry(std::string_view ticker, std::int64_t id,
                                 const TickerEntryInput& input);
  Result<void> delete_entry(std::string_view ticker, std::int64_t id);
  Result<TickerEntry> entry(std::string_view ticker, std::int64_t id);
  Result<EntryPage> entries(const EntryQuery& query);
  /// The pinned entries, newest first (at most max_pinned_entries);
  /// not_found for an unknown ticker.
  Result<std::vector<TickerEntry>> pinned(std::string_view ticker);

  /// The edition a ticker belongs to (its own code, or its live blog's edition).
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
  mutable std::mutex mutex_;
  // Writes are stamped, stored and published one at a time, so the live
  // order (seq) is the stored order (created_at, id), and no later entry
  // gets an earlier time than one a reader's cursor has already passed.
  std::mutex writes_;
  Millis last_created_ = 0;                                        // guarded by writes_
  std::map<std::string, std::string, std::less<>> blog_editions_;  // slug → edition
};

/// "<created_at>.<id>", like article cursors.
std::string encode_entry_cursor(const EntryCursor& c);
std::optional<EntryCursor> decode_entry_cursor(std::string_view text);

}  // namespace depesche::domain
