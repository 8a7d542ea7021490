#pragma once
// Prometheus metrics for the HTTP server: requests by route, method and
// status, a latency histogram per route and method, open connections, and
// the standard process metrics read from /proc. Counting is lock-free
// (relaxed atomics), so it costs a few nanoseconds on the request path.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http.hpp"

namespace depesche::net {

/// This process as /proc and getrlimit describe it; a field is nullopt when
/// it could not be read (no /proc, say), and is then left out of the output.
struct ProcessStats {
  std::optional<double> resident_memory_bytes;
  std::optional<double> virtual_memory_bytes;
  std::optional<double> open_fds;
  std::optional<double> max_fds;
  std::optional<double> cpu_seconds;
  std::optional<double> start_time_seconds;  // since the Unix epoch
};

/// Reads ProcessStats for the calling process: a few small /proc files and
/// one directory listing (/proc/self/fd), so well under a millisecond.
ProcessStats read_process_stats();

class Metrics {
 public:
  /// `route_names` are the router's patterns; one extra slot counts requests
  /// no route matched ("unmatched"). Patterns may repeat (a GET and a POST
  /// route of one path): their series are merged under one label set.
  explicit Metrics(std::vector<std::string> route_names);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void record(std::size_t route_index, Method method, int status, std::int64_t micros);
  std::size_t unmatched_index() const { return route_names_.size() - 1; }
  void connection_opened() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t open_connections() const {
    return open_connections_.load(std::memory_order_relaxed);
  }

  /// The text exposition format, version 0.0.4; every label set appears
  /// once per metric family.
  std::string render() const;

  static constexpr std::array<std::int64_t, 12> kBucketsMicros = {
      100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};
  static constexpr std::size_t kMethods = static_cast<std::size_t>(Method::other) + 1;

 private:
  struct Series {
    std::array<std::atomic<std::uint64_t>, 500> by_status{};  // index = status - 100
    std::array<std::atomic<std::uint64_t>, kBucketsMicros.size() + 1> buckets{};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_micros{0};
  };
  // One slot per route and method, allocated on first use: most routes see
  // one or two methods, and a Series is 4 KiB.
  using Slots = std::array<std::atomic<Series*>, kMethods>;
  Series& series(std::size_t route_index, Method method);

  std::vector<std::string> route_names_;
  std::unique_ptr<Slots[]> slots_;
  std::atomic<std::int64_t> open_connections_{0};
};

/// Appends one unlabelled sample with its HELP and TYPE lines, in the
/// Prometheus text format; for what other parts add to /metrics.
void append_metric(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help, double value);

}  // namespace depesche::net
