#pragma once
// The live hub reads the store's event log through this (live/ knows no
// store): topic heads for new topic states, events for replays and gaps.

#include "live/hub.hpp"
#include "store/event_log.hpp"

namespace depesche::app {

class LogEventSource final : public live::EventSource {
 public:
  explicit LogEventSource(store::EventLog& log) : log_(log) {}
  Result<live::TopicStart> head(std::string_view topic) override {
    auto h = log_.head(topic);
    if (!h) return std::unexpected(h.error());
    return live::TopicStart{h->seq, h->epoch};
  }
  Result<std::vector<bus::Event>> after(std::string_view topic, std::uint64_t seq,
                                        std::size_t limit) override {
    auto events =
        log_.topic_after(topic, seq, static_cast<int>(std::min<std::size_t>(limit, 1'000'000)));
    if (!events) return std::unexpected(events.error());
    std::vector<bus::Event> out;
    out.reserve(events->size());
    for (auto& e : *events)
      out.push_back(bus::Event{std::move(e.topic), std::move(e.name), std::move(e.data), e.seq});
    return out;
  }

 private:
  store::EventLog& log_;
};

}  // namespace depesche::app
