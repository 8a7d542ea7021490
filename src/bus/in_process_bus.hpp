#pragma once
// The embedded default: events go straight to this process's handlers, in
// publish order.

#include <mutex>
#include <vector>

#include "bus/bus.hpp"

namespace depesche::bus {

class InProcessBus final : public Bus {
 public:
  Result<void> publish(const Event& event) override;
  std::uint64_t on_event(Handler handler) override;
  void off_event(std::uint64_t id) override;

 private:
  std::mutex mutex_;
  std::uint64_t next_id_ = 1;
  std::vector<std::pair<std::uint64_t, Handler>> handlers_;
};

}  // namespace depesche::bus
