#include "bus/in_process_bus.hpp"

namespace depesche::bus {

Result<std::uint64_t> InProcessBus::publish(std::string topic, std::string name, std::string data) {
  std::lock_guard lock(mutex_);
  Event e{std::move(topic), std::move(name), std::move(data), 0};
  auto [it, fresh] = seqs_.try_emplace(e.topic, seq_base_);
  e.seq = ++it->second;
  for (const auto& h : handlers_) h(e);
  return e.seq;
}

void InProcessBus::on_event(Handler handler) {
  std::lock_guard lock(mutex_);
  handlers_.push_back(std::move(handler));
}

}  // namespace depesche::bus
