#pragma once
// The one way a domain service makes a change visible live: describe it as
// a LiveEvent and write it with write_event() inside the unit of work
// (store::Store::transact) that stores the change, so both commit or
// neither does. The relay publishes it once committed; nothing else
// touches the bus.

#include <string>

#include "base/error.hpp"
#include "base/time.hpp"
#include "store/store.hpp"

namespace depesche::domain {

struct LiveEvent {
  std::string topic;  // "ticker:de", "comments:42", ...
  std::string name;   // "ticker.entry", ...
  std::string data;   // the payload, serialised JSON (written by the api layer's codecs)
};

/// Appends `event` to the store's event log at `now`; joins the caller's
/// unit of work. Returns the seq the store gave it.
inline Result<std::uint64_t> write_event(store::Store& store, const LiveEvent& event,
                                         Millis now = now_millis()) {
  auto logged = store.events().append(event.topic, event.name, event.data, now);
  if (!logged) return std::unexpected(logged.error());
  return logged->seq;
}

}  // namespace depesche::domain
