#include "net/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "base/log.hpp"

namespace depesche::net {
namespace {

// A series' counts copied out of the atomics, so that routes sharing a
// pattern can be added up before rendering.
struct Totals {
  std::array<std::uint64_t, 500> by_status{};
  std::array<std::uint64_t, Metrics::kBucketsMicros.size() + 1> buckets{};
  std::uint64_t count = 0;
  std::uint64_t sum_micros = 0;
};

std::string label_value(const std::string& value) {
  std::string l;
  log::append_json_escaped(l, value);  // same escaping rules as Prometheus label values
  return l;
}

// Integers as integers (counts, bytes), anything else with microseconds.
std::string number(double v) {
  char buf[48];
  if (v == std::floor(v) && std::fabs(v) < 9e15)
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  else
    std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// /proc/self/stat fields from the third on: the second (the command name)
// is in parentheses and may itself hold spaces and parentheses.
std::vector<std::string> stat_fields() {
  auto text = read_file("/proc/self/stat");
  if (!text) return {};
  auto close = text->rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream in(text->substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  return fields;
}

std::optional<double> boot_time_seconds() {
  auto text = read_file("/proc/stat");
  if (!text) return std::nullopt;
  auto at = text->find("\nbtime ");
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(text->c_str() + at + 7, nullptr);
}

std::optional<double> count_open_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return std::nullopt;
  double n = 0;
  while (dirent* e = readdir(dir))
    if (e->d_name[0] != '.') ++n;
  closedir(dir);
  return n - 1;  // the listing's own descriptor
}

void add_memory(ProcessStats& p) {
  auto statm = read_file("/proc/self/statm");
  if (!statm) return;
  std::istringstream in(*statm);
  double size = 0, resident = 0;
  if (!(in >> size >> resident)) return;
  double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  p.virtual_memory_bytes = size * page;
  p.resident_memory_bytes = resident * page;
}

void add_times(ProcessStats& p) {
  // Numbered as in proc(5), which counts from 1: utime is field 14.
  auto f = stat_fields();
  if (f.size() < 20) return;
  auto field = [&](std::size_t n) { return std::strtod(f[n - 3].c_str(), nullptr); };
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  p.cpu_seconds = (field(14) + field(15)) / ticks;
  if (auto boot = boot_time_seconds()) p.start_time_seconds = *boot + field(22) / ticks;
}

void render_process(std::string& out, const ProcessStats& p) {
  auto metric = [&](const char* name, const char* type, const char* help,
                    const std::optional<double>& v) {
    if (!v) return;
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + number(*v) + "\n";
  };
  metric("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.",
         p.cpu_seconds);
  metric("process_open_fds", "gauge", "Number of open file descriptors.", p.open_fds);
  metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", p.max_fds);
  metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
         p.virtual_memory_bytes);
  metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
         p.resident_memory_bytes);
  metric("process_start_time_seconds", "gauge",
         "Start time of the process since unix epoch in seconds.", p.start_time_seconds);
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats p;
  add_memory(p);
  add_times(p);
  p.open_fds = count_open_fds();
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
    p.max_fds = static_cast<double>(lim.rlim_cur);
  return p;
}

Metrics::Metrics(std::vector<std::string> route_names) : route_names_(std::move(route_names)) {
  route_names_.push_back("unmatched");
  slots_ = std::make_unique<Slots[]>(route_names_.size());
}

Metrics::~Metrics() {
  for (std::size_t r = 0; r < route_names_.size(); ++r)
    for (auto& slot : slots_[r]) delete slot.load();
}

Metrics::Series& Metrics::series(std::size_t route_index, Method method) {
  auto& slot = slots_[route_index][static_cast<std::size_t>(method)];
  if (Series* s = slot.load(std::memory_order_acquire)) return *s;
  // Two threads may race to create it: the loser frees its copy.
  auto fresh = std::make_unique<Series>();
  Series* expected = nullptr;
  if (slot.compare_exchange_strong(expected, fresh.get(), std::memory_order_acq_rel))
    return *fresh.release();
  return *expected;
}

void Metrics::record(std::size_t route_index, Method method, int status, std::int64_t micros) {
  if (route_index >= route_names_.size()) route_index = unmatched_index();
  Series& s = series(route_index, method);
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
  // Keyed by the label values, so a pattern registered once per method
  // still gives each label set once.
  std::map<std::pair<std::string, std::string>, Totals> totals;
  for (std::size_t r = 0; r < route_names_.size(); ++r)
    for (std::size_t m = 0; m < kMethods; ++m) {
      const Series* s = slots_[r][m].load(std::memory_order_acquire);
      if (!s) continue;
      Totals& t = totals[{label_value(route_names_[r]), to_string(static_cast<Method>(m))}];
      for (std::size_t i = 0; i < t.by_status.size(); ++i)
        t.by_status[i] += s->by_status[i].load(std::memory_order_relaxed);
      for (std::size_t i = 0; i < t.buckets.size(); ++i)
        t.buckets[i] += s->buckets[i].load(std::memory_order_relaxed);
      t.count += s->count.load(std::memory_order_relaxed);
      t.sum_micros += s->sum_micros.load(std::memory_order_relaxed);
    }

  std::string out;
  out +=
      "# HELP depesche_http_requests_total HTTP requests answered, by route pattern, method "
      "and status.\n";
  out += "# TYPE depesche_http_requests_total counter\n";
  for (const auto& [key, t] : totals) {
    std::string labels = "route=\"" + key.first + "\",method=\"" + key.second + "\"";
    for (std::size_t st = 0; st < t.by_status.size(); ++st)
      if (t.by_status[st] != 0)
        out += "depesche_http_requests_total{" + labels + ",status=\"" + std::to_string(st + 100) +
               "\"} " + std::to_string(t.by_status[st]) + "\n";
  }
  out +=
      "# HELP depesche_http_request_duration_seconds Time from request read to response queued.\n";
  out += "# TYPE depesche_http_request_duration_seconds histogram\n";
  for (const auto& [key, t] : totals) {
    if (t.count == 0) continue;
    std::string labels = "route=\"" + key.first + "\",method=\"" + key.second + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= kBucketsMicros.size(); ++b) {
      cumulative += t.buckets[b];
      std::string le = "+Inf";
      if (b < kBucketsMicros.size()) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", static_cast<double>(kBucketsMicros[b]) / 1e6);
        le = buf;
      }
      out += "depesche_http_request_duration_seconds_bucket{" + labels + ",le=\"" + le + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    char sum[48];
    std::snprintf(sum, sizeof sum, "%.6f", static_cast<double>(t.sum_micros) / 1e6);
    out += "depesche_http_request_duration_seconds_sum{" + labels + "} " + sum + "\n";
    out += "depesche_http_request_duration_seconds_count{" + labels + "} " +
           std::to_string(t.count) + "\n";
  }
  out += "# HELP depesche_http_open_connections Client connections open now.\n";
  out += "# TYPE depesche_http_open_connections gauge\n";
  out += "depesche_http_open_connections " + std::to_string(open_connections()) + "\n";
  render_process(out, read_process_stats());
  return out;
}

void append_metric(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help, double value) {
  char number[32];
  // Integers print as integers (counters of millions stay exact).
  if (value == static_cast<double>(static_cast<long long>(value)))
    std::snprintf(number, sizeof number, "%lld", static_cast<long long>(value));
  else
    std::snprintf(number, sizeof number, "%.6g", value);
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ");
  out.append(name).append(" ").append(type).append("\n").append(name).append(" ");
  out.append(number).append("\n");
}

}  // namespace depesche::net
