#include "base/time.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace depesche {
namespace {
std::tm to_utc(Millis t) {
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  if (t < 0 && t % 1000 != 0) --secs;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

// The test clock. The path is written once, before the threads that read
// the clock start; `test_clock_enabled` publishes it.
std::string test_clock_path;
std::atomic<bool> test_clock_enabled{false};
std::atomic<Millis> test_clock_offset{0};

// Reads the offset file with plain syscalls (no allocation, no logging:
// the logger itself reads the clock).
void refresh_test_clock_offset() {
  int fd = ::open(test_clock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[32];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0 || n == static_cast<ssize_t>(sizeof buf)) return;
  const char* end = buf + n;
  while (end > buf && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\r')) --end;
  Millis offset = 0;
  auto [p, ec] = std::from_chars(buf, end, offset);
  if (ec != std::errc() || p != end || p == buf) return;
  test_clock_offset.store(offset, std::memory_order_relaxed);
}
}  // namespace

Millis now_millis() {
  using namespace std::chrono;
  Millis real = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  if (!test_clock_enabled.load(std::memory_order_acquire)) return real;
  refresh_test_clock_offset();
  return real + test_clock_offset.load(std::memory_order_relaxed);
}

void use_test_clock_file(std::string path) {
  test_clock_enabled.store(false, std::memory_order_release);
  test_clock_offset.store(0, std::memory_order_relaxed);
  test_clock_path = std::move(path);
  if (!test_clock_path.empty()) test_clock_enabled.store(true, std::memory_order_release);
}

bool test_clock_on() { return test_clock_enabled.load(std::memory_order_acquire); }

std::string format_rfc3339(Millis t) {
  std::tm tm = to_utc(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string format_rfc3339_millis(Millis t) {
  std::tm tm = to_utc(t);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  int ms = static_cast<int>(((t % 1000) + 1000) % 1000);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", ms);
  return buf;
}

std::string format_http_date(Millis t) {
  std::tm tm = to_utc(t);
  char buf[40];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::optional<Millis> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)
  auto digits = [&](std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i) {
      char c = s[pos + i];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, se;
  if (!digits(0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(5, 2, mo) || s[7] != '-' ||
      !digits(8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(11, 2, h) || s[13] != ':' ||
      !digits(14, 2, mi) || s[16] != ':' || !digits(17, 2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::size_t pos = 19;
  int ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int scale = 100;
    std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  using namespace std::chrono;
  auto ymd =
      year_month_day{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  auto days = sys_days{ymd}.time_since_epoch().count();
  Millis secs = static_cast<Millis>(days) * 86400 + h * 3600 + mi * 60 + se - offset_min * 60;
  return secs * 1000 + ms;
}

}  // namespace depesche
