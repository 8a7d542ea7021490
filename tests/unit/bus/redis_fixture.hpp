#pragma once
// A real Redis for the bus tests: scripts/with-redis starts one and names it
// in DEPESCHE_TEST_REDIS_URL; without it the Redis tests skip. Tests that
// stop the server kill it by its pid file and start it again on the same
// port with the script scripts/with-redis leaves beside it.

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "bus/redis/redis_bus.hpp"

namespace redis_test {

inline std::string url() {
  const char* u = std::getenv("DEPESCHE_TEST_REDIS_URL");
  return u != nullptr ? u : "";
}

/// Channels of their own for each bus a test makes: tests do not hear
/// each other.
inline std::string unique_prefix() {
  std::random_device rd;
  return "test" + std::to_string(rd()) + std::to_string(rd()) + ":";
}

/// Quick to notice and to come back, for tests.
inline depesche::bus::redis::RedisOptions options(const std::string& prefix) {
  auto o = depesche::bus::redis::parse_redis_url(url());
  EXPECT_TRUE(o) << o.error().message;
  o->channel_prefix = prefix;
  o->reconnect_min = std::chrono::milliseconds(50);
  o->reconnect_max = std::chrono::milliseconds(400);
  o->ping_interval = std::chrono::milliseconds(200);
  return *o;
}

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

/// A plain connection to the test server (null when it is down).
inline Context connect() {
  auto o = depesche::bus::redis::parse_redis_url(url());
  Context c(redisConnectWithTimeout(o->host.c_str(), o->port, timeval{1, 0}));
  if (!c || c->err != 0) return nullptr;
  return c;
}

/// Runs a command on a plain connection; its reply as text (or the error).
inline std::string run(const std::vector<std::string>& args) {
  auto c = connect();
  if (!c) return "(down)";
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(c.get(), static_cast<int>(args.size()), argv.data(), lens.data()));
  if (r == nullptr) return "(no reply)";
  std::string out = r->type == REDIS_REPLY_INTEGER ? std::to_string(r->integer)
                    : r->str != nullptr            ? std::string(r->str, r->len)
                                                   : std::string();
  freeReplyObject(r);
  return out;
}

/// SIGKILLs the server and returns once it no longer accepts connections.
inline void kill_server() {
  std::string dir = std::getenv("DEPESCHE_TEST_REDIS_DIR");
  pid_t pid = 0;
  std::ifstream(dir + "/redis.pid") >> pid;
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (connect() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_FALSE(connect()) << "redis-server still answers after SIGKILL";
}

/// Starts the server again, same port and settings; returns once it answers.
inline void restart_server() {
  std::string dir = std::getenv("DEPESCHE_TEST_REDIS_DIR");
  // The restart script scripts/with-redis left beside the server's files;
  // the path comes from the test's own environment, not from input.
  ASSERT_EQ(std::system((dir + "/start").c_str()), 0);  // NOLINT(cert-env33-c)
}

/// Waits for `pred` (polled), at most `timeout`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace redis_test

#define SKIP_WITHOUT_REDIS()     \
  if (redis_test::url().empty()) \
  GTEST_SKIP() << "needs a Redis server: scripts/with-redis sets DEPESCHE_TEST_REDIS_URL"
