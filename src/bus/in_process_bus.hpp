#pragma once
// The embedded default: events go straight to this process's handlers, in
// publish order per topic (publishing holds one lock while it numbers and
// delivers, so two publishers cannot swap the order of their seqs).

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "bus/bus.hpp"

namespace depesche::bus {

class InProcessBus final : public Bus {
 public:
  /// Every topic's numbering starts after `seq_base`. Giving each process a
  /// base above anything an earlier one issued (its start time in ms times
  /// 1000) means a client resuming across a restart is always told to
  /// resync, never quietly given a gap.
  explicit InProcessBus(std::uint64_t seq_base = 0) : seq_base_(seq_base) {}
  Result<std::uint64_t> publish(std::string topic, std::string name, std::string data) override;
  void on_event(Handler handler) override;

 private:
  std::uint64_t seq_base_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::uint64_t> seqs_;
  std::vector<Handler> handlers_;
};

}  // namespace depesche::bus
