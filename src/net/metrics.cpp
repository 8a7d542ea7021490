#include "net/metrics.hpp"

#include "base/log.hpp"

namespace depesche::net {

Metrics::Metrics(std::vector<std::string> route_names) : route_names_(std::move(route_names)) {
  route_names_.push_back("unmatched");
  for (std::size_t i = 0; i < route_names_.size(); ++i)
    stats_.push_back(std::make_unique<RouteStats>());
}

void Metrics::record(std::size_t route_index, int status, std::int64_t micros) {
  if (route_index >= stats_.size()) route_index = unmatched_index();
  RouteStats& s = *stats_[route_index];
  if (status >= 100 && status < 600)
    s.by_status[status - 100].fetch_add(1, std::memory_order_relaxed);
  std::size_t b = 0;
  while (b < kBucketsMicros.size() && micros > kBucketsMicros[b]) ++b;
  s.buckets[b].fetch_add(1, std::memory_order_relaxed);
  s.count.fetch_add(1, std::memory_order_relaxed);
  s.sum_micros.fetch_add(static_cast<std::uint64_t>(micros < 0 ? 0 : micros),
                         std::memory_order_relaxed);
}

std::string Metrics::render() const {
  std::string out;
  auto label = [](const std::string& route) {
    std::string l;
    log::append_json_escaped(l, route);  // same escaping rules as Prometheus label values
    return l;
  };
  out +=
      "# HELP depesche_http_requests_total HTTP requests answered, by route pattern and status.\n";
  out += "# TYPE depesche_http_requests_total counter\n";
  for (std::size_t r = 0; r < stats_.size(); ++r)
    for (int st = 0; st < 500; ++st) {
      auto n = stats_[r]->by_status[st].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "depesche_http_requests_total{route=\"" + label(route_names_[r]) + "\",status=\"" +
             std::to_string(st + 100) + "\"} " + std::to_string(n) + "\n";
    }
  out +=
      "# HELP depesche_http_request_duration_seconds Time from request read to response queued.\n";
  out += "# TYPE depesche_http_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r < stats_.size(); ++r) {
    const RouteStats& s = *stats_[r];
    auto count = s.count.load(std::memory_order_relaxed);
    if (count == 0) continue;
    std::string name = label(route_names_[r]);
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= kBucketsMicros.size(); ++b) {
      cumulative += s.buckets[b].load(std::memory_order_relaxed);
      std::string le = b < kBucketsMicros.size() ? std::to_string(kBucketsMicros[b] / 1e6) : "+Inf";
      if (b < kBucketsMicros.size()) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", kBucketsMicros[b] / 1e6);
        le = buf;
      }
      out += "depesche_http_request_duration_seconds_bucket{route=\"" + name + "\",le=\"" + le +
             "\"} " + std::to_string(cumulative) + "\n";
    }
    char sum[48];
    std::snprintf(sum, sizeof sum, "%.6f", s.sum_micros.load(std::memory_order_relaxed) / 1e6);
    out += "depesche_http_request_duration_seconds_sum{route=\"" + name + "\"} " + sum + "\n";
    out += "depesche_http_request_duration_seconds_count{route=\"" + name + "\"} " +
           std::to_string(count) + "\n";
  }
  out += "# HELP depesche_http_open_connections Client connections open now.\n";
  out += "# TYPE depesche_http_open_connections gauge\n";
  out += "depesche_http_open_connections " + std::to_string(open_connections()) + "\n";
  return out;
}

}  // namespace depesche::net
