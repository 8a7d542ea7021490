#pragma once
// Puts ticker changes on the bus as live events on topic "ticker:<id>":
// "ticker.entry" (new), "ticker.entry.updated" and "ticker.entry.deleted",
// each with the entry as the API shows it (deleted: only id and ticker).

#include "bus/bus.hpp"
#include "domain/ticker_service.hpp"

namespace depesche::api {

class BusTickerEvents final : public domain::TickerEvents {
 public:
  explicit BusTickerEvents(bus::Bus& bus) : bus_(bus) {}
  void entry_changed(const domain::TickerEntry& entry, domain::EntryChange change) override;

 private:
  bus::Bus& bus_;
};

}  // namespace depesche::api
