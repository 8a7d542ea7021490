#include "api/ticker_events.hpp"

#include "api/ticker_codec.hpp"

namespace depesche::api {

domain::LiveEvent TickerEventCodec::entry_event(const domain::TickerEntry& e,
                                                domain::EntryChange change) {
  const char* name = change == domain::EntryChange::created   ? "ticker.entry"
                     : change == domain::EntryChange::updated ? "ticker.entry.updated"
                                                              : "ticker.entry.deleted";
  std::string data = change == domain::EntryChange::deleted
                         ? nlohmann::json{{"id", e.id}, {"ticker", e.ticker}}.dump()
                         : entry_json(e).dump();
  return {"ticker:" + e.ticker, name, std::move(data)};
}

domain::LiveEvent TickerEventCodec::blog_event(const domain::LiveBlog& b) {
  return {"ticker:" + b.slug, "ticker.blog", live_blog_json(b).dump()};
}

}  // namespace depesche::api
