#include "bus/in_process_bus.hpp"

namespace depesche::bus {

Result<void> InProcessBus::publish(const Event& event) {
  std::lock_guard lock(mutex_);
  for (const auto& [id, h] : handlers_) h(event);
  return {};
}

std::uint64_t InProcessBus::on_event(Handler handler) {
  std::lock_guard lock(mutex_);
  handlers_.emplace_back(next_id_, std::move(handler));
  return next_id_++;
}

void InProcessBus::off_event(std::uint64_t id) {
  // publish() holds the lock while handlers run, so none runs after this.
  std::lock_guard lock(mutex_);
  std::erase_if(handlers_, [id](const auto& h) { return h.first == id; });
}

}  // namespace depesche::bus
