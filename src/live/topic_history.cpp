#include "live/topic_history.hpp"

namespace depesche::live {

void TopicHistory::load(std::uint64_t head_seq, std::uint64_t epoch) {
  loaded_ = true;
  epoch_ = epoch;
  if (events_.empty() || seq_ < head_seq) {
    // The bus has not yet brought what the log holds: what was kept does
    // not reach the head, so it is no contiguous run ending there.
    restart_at(head_seq);
    return;
  }
}

void TopicHistory::append(std::uint64_t seq, Buffer frame) {
  bytes_ += frame->size();
  events_.emplace_back(seq, std::move(frame));
  seq_ = seq;
  // By count and by bytes: a topic of long entries must not hold megabytes
  // for readers who may never come back. The newest event always stays.
  while (events_.size() > 1 && (events_.size() > max_events_ || bytes_ > max_bytes_)) {
    bytes_ -= events_.front().second->size();
    events_.pop_front();
  }
}

void TopicHistory::restart_at(std::uint64_t seq) {
  std::deque<std::pair<std::uint64_t, Buffer>>().swap(events_);
  bytes_ = 0;
  seq_ = seq;
}

std::optional<std::vector<Buffer>> TopicHistory::after(std::uint64_t since) const {
  std::vector<Buffer> out;
  if (since >= seq_) return out;
  if (events_.empty() || events_.front().first > since + 1) return std::nullopt;
  for (const auto& [seq, frame] : events_)
    if (seq > since) out.push_back(frame);
  return out;
}

}  // namespace depesche::live
