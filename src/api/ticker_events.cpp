#include "api/ticker_events.hpp"

#include "api/ticker_codec.hpp"
#include "base/log.hpp"

namespace depesche::api {

void BusTickerEvents::entry_changed(const domain::TickerEntry& e, domain::EntryChange change) {
  const char* name = change == domain::EntryChange::created   ? "ticker.entry"
                     : change == domain::EntryChange::updated ? "ticker.entry.updated"
                                                              : "ticker.entry.deleted";
  std::string data = change == domain::EntryChange::deleted
                         ? nlohmann::json{{"id", e.id}, {"ticker", e.ticker}}.dump()
                         : entry_json(e).dump();
  // The entry is stored; a bus failure loses only the live push, and readers
  // who reconnect are told to refetch.
  if (auto r = bus_.publish("ticker:" + e.ticker, name, std::move(data)); !r)
    log::error("live event not published", {{"ticker", e.ticker}, {"error", r.error().message}});
}

}  // namespace depesche::api
