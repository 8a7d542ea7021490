#pragma once
// What both users of Redis share: the URL and its options, and blocking
// hiredis calls (connect with AUTH and SELECT, run one command). The bus
// (redis_bus.hpp) and the shared request budgets (redis_budgets.hpp) each
// hold connections of their own.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

struct redisContext;
struct redisReply;

namespace depesche::bus::redis {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;      // Redis 6 ACL user; empty: the default user
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECTed for keys (budgets); pub/sub ignores it
  std::string channel_prefix = "depesche:";
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};  // a publish waits this long at most
  std::chrono::milliseconds reconnect_min{100};     // first wait after a lost connection
  std::chrono::milliseconds reconnect_max{5000};    // the wait doubles up to this
  std::chrono::milliseconds ping_interval{
      1000};  // a quiet subscriber pings; 3 unanswered: reconnect
};

/// Reads redis://[[user]:password@]host[:port][/db]. The database number
/// is where the shared budgets keep their keys; pub/sub channels are the
/// same in every database. Invalid (the password never repeated) for
/// anything else.
Result<RedisOptions> parse_redis_url(const std::string& url);

/// The channel of notices called `name`: under the prefix, so one
/// subscription (RedisBus::on_notice) gets them, but starting with '~', which no topic does.
inline std::string notice_channel(const std::string& prefix, std::string_view name) {
  return prefix + "~" + std::string(name);
}

struct ReplyDeleter {
  void operator()(redisReply* r) const;
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

/// Connects (timeouts and keepalive set), authenticates and selects the
/// database; null (with `error` set) on failure.
redisContext* connect(const RedisOptions& opts, std::string& error);
/// Runs one command; null when the connection failed (it is then unusable).
Reply command(redisContext* c, const std::vector<std::string_view>& args);
/// Sends one command without waiting for its reply; false when that failed.
bool append_command(redisContext* c, const std::vector<std::string_view>& args);
/// The text of a string, status or error reply; empty otherwise.
std::string_view text_of(const redisReply* r);

}  // namespace depesche::bus::redis
