#pragma once
// Ticker changes as live events on topic "ticker:<id>": "ticker.entry"
// (new), "ticker.entry.updated" and "ticker.entry.deleted", each with the
// entry as the API shows it (deleted: only id and ticker), and
// "ticker.blog" (a live blog created, ended or opened again: the blog as
// the API shows it).

#include "domain/ticker_service.hpp"

namespace depesche::api {

class TickerEventCodec final : public domain::TickerEvents {
 public:
  domain::LiveEvent entry_event(const domain::TickerEntry& entry,
                                domain::EntryChange change) override;
  domain::LiveEvent blog_event(const domain::LiveBlog& blog) override;
};

}  // namespace depesche::api
