#include "bus/redis/redis_client.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace depesche::bus::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds d) {
  return timeval{static_cast<time_t>(d.count() / 1000),
                 static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decoded(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    int hi = hex_digit(in[i + 1]);
    int lo = hex_digit(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::unexpected<Error> bad_url(const std::string& why) {
  return fail(ErrorCode::invalid, "not a Redis URL (redis://[:password@]host[:port]): " + why);
}

}  // namespace

void ReplyDeleter::operator()(redisReply* r) const { freeReplyObject(r); }

Reply command(redisContext* c, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return Reply(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data())));
}

bool append_command(redisContext* c, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()) !=
      REDIS_OK)
    return false;
  int done = 0;
  while (done == 0)
    if (redisBufferWrite(c, &done) != REDIS_OK) return false;
  return true;
}

std::string_view text_of(const redisReply* r) {
  return r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
                          r->type == REDIS_REPLY_ERROR)
             ? std::string_view(r->str, r->len)
             : std::string_view();
}

redisContext* connect(const RedisOptions& opts, std::string& error) {
  redisContext* c =
      redisConnectWithTimeout(opts.host.c_str(), opts.port, to_timeval(opts.connect_timeout));
  if (c == nullptr) {
    error = "out of memory";
    return nullptr;
  }
  if (c->err != 0) {
    error = c->errstr;
    redisFree(c);
    return nullptr;
  }
  (void)redisSetTimeout(c, to_timeval(opts.command_timeout));
  (void)redisEnableKeepAlive(c);
  if (!opts.password.empty()) {
    Reply r = opts.user.empty() ? command(c, {"AUTH", opts.password})
                                : command(c, {"AUTH", opts.user, opts.password});
    if (!r || r->type == REDIS_REPLY_ERROR) {
      error = r ? "AUTH refused: " + std::string(text_of(r.get())) : std::string(c->errstr);
      redisFree(c);
      return nullptr;
    }
  }
  if (opts.db != 0) {
    std::string db = std::to_string(opts.db);
    Reply r = command(c, {"SELECT", db});
    if (!r || r->type == REDIS_REPLY_ERROR) {
      error = r ? "SELECT refused: " + std::string(text_of(r.get())) : std::string(c->errstr);
      redisFree(c);
      return nullptr;
    }
  }
  return c;
}

Result<RedisOptions> parse_redis_url(const std::string& url) {
  constexpr std::string_view kScheme = "redis://";
  if (!std::string_view(url).starts_with(kScheme)) return bad_url("it must start with redis://");
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos)
    return bad_url("no query or fragment is understood");
  RedisOptions o;
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view path = rest.substr(authority.size());
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    auto colon = userinfo.find(':');
    auto user = percent_decoded(userinfo.substr(0, colon));
    auto password = percent_decoded(colon == std::string_view::npos ? std::string_view()
                                                                    : userinfo.substr(colon + 1));
    if (!user || !password) return bad_url("a bad %-escape in the user or password");
    if (password->empty() && !user->empty()) return bad_url("a user needs a password");
    o.user = std::move(*user);
    o.password = std::move(*password);
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad_url("an unclosed [ in the host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad_url("junk after the host");
      port = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad_url("no host");
  o.host = std::string(host);
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
      return bad_url("the port must be 1..65535");
    o.port = p;
  }
  if (!path.empty() && path != "/") {
    std::string_view db = path.substr(1);
    int n = 0;
    auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), n);
    if (db.empty() || ec != std::errc() || end != db.data() + db.size() || n < 0 || n > 10'000)
      return bad_url("the path may only be a database number");
    o.db = n;
  }
  return o;
}

}  // namespace depesche::bus::redis
