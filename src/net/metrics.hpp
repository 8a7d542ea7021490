#pragma once
// Prometheus metrics for the HTTP server: requests by route and status, a
// latency histogram per route, open connections. Counting is lock-free
// (relaxed atomics), so it costs a few nanoseconds on the request path.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace depesche::net {

class Metrics {
 public:
  /// `route_names` are the router's patterns; one extra slot counts requests
  /// no route matched ("unmatched").
  explicit Metrics(std::vector<std::string> route_names);

  void record(std::size_t route_index, int status, std::int64_t micros);
  std::size_t unmatched_index() const { return route_names_.size() - 1; }
  void connection_opened() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t open_connections() const {
    return open_connections_.load(std::memory_order_relaxed);
  }

  /// The text exposition format, version 0.0.4.
  std::string render() const;

  static constexpr std::array<std::int64_t, 12> kBucketsMicros = {
      100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

 private:
  struct RouteStats {
    std::array<std::atomic<std::uint64_t>, 500> by_status{};  // index = status - 100
    std::array<std::atomic<std::uint64_t>, kBucketsMicros.size() + 1> buckets{};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_micros{0};
  };
  std::vector<std::string> route_names_;
  std::vector<std::unique_ptr<RouteStats>> stats_;
  std::atomic<std::int64_t> open_connections_{0};
};

}  // namespace depesche::net
