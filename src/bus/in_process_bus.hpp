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
  Result<std::uint64_t> publish(std::string topic, std::string name, std::string data) override;
  void on_event(Handler handler) override;

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::uint64_t> seqs_;
  std::vector<Handler> handlers_;
};

}  // namespace depesche::bus
