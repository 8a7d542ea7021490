// The Prometheus exposition of the HTTP metrics.
#include "net/metrics.hpp"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

using namespace depesche::net;

namespace {
std::vector<std::string> samples(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') out.push_back(line.substr(0, line.rfind(' ')));
  return out;
}
}  // namespace

TEST(Metrics, MethodsOfOnePatternAreSeparateAndNoLabelSetRepeats) {
  // Two routes of one pattern, as a GET and a POST registration give.
  Metrics m({"/api/v1/articles", "/api/v1/articles"});
  m.record(0, Method::get, 200, 50);
  m.record(1, Method::post, 201, 300);
  m.record(1, Method::post, 201, 300);
  m.record(0, Method::get, 200, 50);
  std::string text = m.render();
  EXPECT_NE(text.find("depesche_http_requests_total{route=\"/api/v1/articles\",method=\"GET\","
                      "status=\"200\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("depesche_http_requests_total{route=\"/api/v1/articles\",method=\"POST\","
                      "status=\"201\"} 2"),
            std::string::npos);
  auto all = samples(text);
  std::set<std::string> unique(all.begin(), all.end());
  EXPECT_EQ(unique.size(), all.size()) << text;
}

TEST(Metrics, SameLabelsFromTwoRoutesAreAddedUp) {
  Metrics m({"/x", "/x"});
  m.record(0, Method::get, 200, 10);
  m.record(1, Method::get, 200, 10);
  std::string text = m.render();
  EXPECT_NE(text.find("route=\"/x\",method=\"GET\",status=\"200\"} 2"), std::string::npos) << text;
  EXPECT_NE(
      text.find("depesche_http_request_duration_seconds_count{route=\"/x\",method=\"GET\"} 2"),
      std::string::npos);
}

TEST(Metrics, ProcessStatsComeFromProc) {
  auto p = read_process_stats();
  ASSERT_TRUE(p.resident_memory_bytes && p.open_fds && p.cpu_seconds && p.start_time_seconds);
  EXPECT_GT(*p.resident_memory_bytes, 1e6);
  EXPECT_GE(*p.open_fds, 3);
  EXPECT_GT(*p.start_time_seconds, 1.6e9);
  std::string text = Metrics({}).render();
  for (const char* name : {"process_resident_memory_bytes ", "process_open_fds ",
                           "process_cpu_seconds_total ", "process_start_time_seconds "})
    EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name;
}
