#include "app/config.hpp"

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <variant>

#include "app/store_opener.hpp"
#include "base/log.hpp"
#include "bus/redis/redis_bus.hpp"
#include "domain/editions.hpp"
#include "mail/address.hpp"
#include "mail/smtp/smtp_options.hpp"
#include "net/trusted_proxies.hpp"

namespace depesche::app {
namespace {

using Member = std::variant<std::string Config::*, std::int64_t Config::*, bool Config::*,
                            std::vector<std::string> Config::*>;

struct Option {
  const char* section;
  const char* key;
  Member member;
  std::int64_t min = 0;
  std::int64_t max = 0;
  const char* meaning;
};

const std::vector<Option>& options() {
  static const std::vector<Option> table = {
      {"server", "listen", &Config::server_listen, 0, 0,
       "address:port to listen on; port 0 picks a free port"},
      {"server", "public_url", &Config::server_public_url, 0, 0,
       "the site's public base URL (canonical links, feeds); empty: http://<listen>"},
      {"server", "threads", &Config::server_threads, 0, 256, "I/O threads; 0 = one per core"},
      {"server", "blocking_threads", &Config::server_blocking_threads, 1, 256,
       "threads for database and rendering work (a write waiting for its group commit holds "
       "one, idle: size for concurrent writers, not for cores)"},
      {"server", "max_header_bytes", &Config::server_max_header_bytes, 1024, 1024 * 1024,
       "largest request head accepted (431 above)"},
      {"server", "max_body_bytes", &Config::server_max_body_bytes, 0, 1024 * 1024 * 1024,
       "largest request body accepted (413 above)"},
      {"server", "read_timeout_ms", &Config::server_read_timeout_ms, 100, 3'600'000,
       "time allowed to send a request"},
      {"server", "idle_timeout_ms", &Config::server_idle_timeout_ms, 100, 3'600'000,
       "idle keep-alive connections close after this"},
      {"server", "shutdown_timeout_ms", &Config::server_shutdown_timeout_ms, 0, 3'600'000,
       "in-flight requests get this long on shutdown"},
      {"server", "trusted_proxies", &Config::server_trusted_proxies, 0, 0,
       "proxies (addresses, CIDR networks) whose X-Forwarded-For names the client"},
      {"data", "dir", &Config::data_dir, 0, 0,
       "directory for the SQLite database, media and mail outbox"},
      {"store", "url", &Config::store_url, 0, 0,
       "empty: SQLite in the data dir; postgres://... for PostgreSQL"},
      {"store", "checkpoint_interval_ms", &Config::store_checkpoint_interval_ms, 10, 60'000,
       "SQLite: how often the background thread checkpoints the WAL"},
      {"store", "group_commit_max_units", &Config::store_group_commit_max_units, 1, 100'000,
       "SQLite: the most writes one commit (one fsync) takes"},
      {"store", "group_commit_max_age_us", &Config::store_group_commit_max_age_us, 0, 1'000'000,
       "SQLite: a commit shared by waiting writers happens at the latest this long after its "
       "first write"},
      {"store", "pool_size", &Config::store_pool_size, 0, 1000,
       "PostgreSQL: connections per process; 0: server.blocking_threads + 2 (relay, outbox), "
       "at most 16"},
      {"store", "connect_timeout_s", &Config::store_connect_timeout_s, 1, 600,
       "PostgreSQL: give up connecting to a server that does not answer after this long"},
      {"bus", "url", &Config::bus_url, 0, 0,
       "empty: in-process (one node); redis://[:password@]host:port for Redis (many nodes)"},
      {"bus", "channel_prefix", &Config::bus_channel_prefix, 0, 0,
       "Redis: channels are this prefix plus the topic; sites sharing a Redis need their own"},
      {"bus", "lead_check_ms", &Config::bus_lead_check_ms, 50, 60'000,
       "Redis on PostgreSQL: how often a node's relay checks (or tries to take) the lead"},
      {"mail", "smtp_url", &Config::mail_smtp_url, 0, 0,
       "empty: maildir outbox in the data dir; smtp://host:port"},
      {"mail", "from", &Config::mail_from, 0, 0, "sender address of mails"},
      {"mail", "smtp_ca_file", &Config::mail_smtp_ca_file, 0, 0,
       "PEM file of CAs to trust for SMTP TLS; empty: the system's"},
      {"mail", "smtp_timeout_ms", &Config::mail_smtp_timeout_ms, 1000, 600'000,
       "time allowed for one SMTP delivery"},
      {"mail", "max_attempts", &Config::mail_max_attempts, 1, 100,
       "delivery attempts before a mail is kept as failed"},
      {"mail", "retry_first_ms", &Config::mail_retry_first_ms, 100, 86'400'000,
       "wait after the first failed attempt; doubles with each further one"},
      {"mail", "retry_max_ms", &Config::mail_retry_max_ms, 100, 86'400'000,
       "longest wait between attempts"},
      {"mail", "poll_ms", &Config::mail_poll_ms, 50, 3'600'000,
       "how often the outbox looks for due mails it was not woken for (queued by another node "
       "or command)"},
      {"accounts", "confirm_ttl_hours", &Config::accounts_confirm_ttl_hours, 1, 720,
       "how long a confirmation link works"},
      {"accounts", "reset_ttl_hours", &Config::accounts_reset_ttl_hours, 1, 72,
       "how long a password reset link works"},
      {"accounts", "session_idle_hours", &Config::accounts_session_idle_hours, 1, 8760,
       "a session unused this long ends"},
      {"accounts", "session_max_hours", &Config::accounts_session_max_hours, 1, 8760,
       "a session ends this long after login, used or not"},
      {"api", "idempotency_ttl_hours", &Config::api_idempotency_ttl_hours, 1, 720,
       "how long the answer to a POST with an Idempotency-Key is kept for its retries"},
      {"accounts", "login_per_minute", &Config::accounts_login_per_minute, 1, 1000,
       "login attempts per account and per client address (429 above)"},
      {"accounts", "register_per_hour", &Config::accounts_register_per_hour, 1, 100'000,
       "registrations per client address (429 above)"},
      {"accounts", "reset_per_hour", &Config::accounts_reset_per_hour, 1, 100'000,
       "reset requests per address asked for and per client address (429 above)"},
      {"accounts", "resend_per_hour", &Config::accounts_resend_per_hour, 1, 100'000,
       "confirmation resends per address asked for (429 above)"},
      {"accounts", "mails_per_address_per_hour", &Config::accounts_mails_per_address_per_hour, 1,
       100'000, "account mails to one address; more are dropped"},
      {"accounts", "password_min_chars", &Config::accounts_password_min_chars, 12, 128,
       "shortest password allowed"},
      {"accounts", "argon2_memory_kib", &Config::accounts_argon2_memory_kib, 19 * 1024,
       4 * 1024 * 1024, "argon2id memory per password hash (OWASP minimum: 19 MiB)"},
      {"accounts", "argon2_passes", &Config::accounts_argon2_passes, 2, 100,
       "argon2id passes per password hash"},
      {"accounts", "common_passwords", &Config::accounts_common_passwords, 0, 0,
       "file of refused passwords, one per line; empty: security/common-passwords.txt"},
      {"live", "loops", &Config::live_loops, 1, 64, "event loop threads for live connections"},
      {"live", "history_bytes", &Config::live_history_bytes, 1024, 1024 * 1024 * 1024,
       "bytes of those events kept per topic at most (the oldest go first)"},
      {"live", "history", &Config::live_history, 1, 100'000,
       "events kept per topic for readers who resume with since"},
      {"live", "max_queue_bytes", &Config::live_max_queue_bytes, 4096, 64 * 1024 * 1024,
       "unsent bytes per connection before a slow reader is closed"},
      {"live", "send_buffer_bytes", &Config::live_send_buffer_bytes, 0, 64 * 1024 * 1024,
       "kernel send buffer per live connection (SO_SNDBUF, which the kernel doubles); 0: the "
       "kernel's autotuning, up to tcp_wmem's maximum per connection"},
      {"live", "max_message_bytes", &Config::live_max_message_bytes, 128, 1024 * 1024,
       "largest message a client may send"},
      {"live", "max_subscriptions", &Config::live_max_subscriptions, 1, 10'000,
       "topics per connection"},
      {"live", "max_messages_per_second", &Config::live_max_messages_per_second, 1, 10'000,
       "client messages per connection and second before it is closed"},
      {"live", "ping_interval_ms", &Config::live_ping_interval_ms, 100, 3'600'000,
       "ping a connection that has been quiet this long"},
      {"live", "pong_timeout_ms", &Config::live_pong_timeout_ms, 100, 3'600'000,
       "close a connection that does not answer a ping by then"},
      {"live", "max_replay", &Config::live_max_replay, 1, 1'000'000,
       "events read from the log for one resume; further back is a resync"},
      {"live", "log_replay_bytes_per_second", &Config::live_log_replay_bytes_per_second, 0,
       1024LL * 1024 * 1024,
       "frames all resumes together may read from the log per second; past that a resume is "
       "told to resync (0: no limit)"},
      {"live", "max_pending", &Config::live_max_pending, 1, 1000,
       "client messages per connection waiting for their answer"},
      {"live", "relay_poll_ms", &Config::live_relay_poll_ms, 10, 60'000,
       "how often the relay looks for events that other processes committed"},
      {"events", "retention_days", &Config::events_retention_days, 1, 3650,
       "the event log keeps events this long (a topic's newest always stays)"},
      {"events", "retention_per_topic", &Config::events_retention_per_topic, 1, 100'000'000,
       "... and at most this many per topic"},
      {"log", "level", &Config::log_level, 0, 0, "debug, info, warn or error"},
      {"log", "access", &Config::log_access, 0, 0, "log one JSON line per request"},
      {"site", "name", &Config::site_name, 0, 0, "the site's name in titles and feeds"},
      {"site", "editions", &Config::site_editions, 0, 0,
       "edition codes, each with a catalog in locales/<code>/"},
      {"site", "default_edition", &Config::site_default_edition, 0, 0,
       "edition for readers whose language matches none"},
      {"site", "time_zone", &Config::site_time_zone, 0, 0,
       "IANA time zone for times shown on pages"},
      {"site", "resources", &Config::site_resources, 0, 0,
       "directory holding templates/, locales/, static/ and demo/"},
      {"site", "page_cache_entries", &Config::site_page_cache_entries, 1, 10'000'000,
       "rendered pages kept in memory"},
      {"testing", "clock_file", &Config::testing_clock_file, 0, 0,
       "tests only: a file holding milliseconds added to the clock; empty: the real clock"},
  };
  return table;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string name_of(const Option& o) { return std::string(o.section) + "." + o.key; }
std::string env_of(const Option& o) { return "DEPESCHE_" + upper(o.section) + "_" + upper(o.key); }

Result<void> set_from_text(Config& c, const Option& o, const std::string& value,
                           const std::string& origin) {
  std::string where = name_of(o) + " (" + origin + ")";
  return std::visit(
      [&](auto member) -> Result<void> {
        using T = std::remove_reference_t<decltype(c.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          c.*member = value;
        } else if constexpr (std::is_same_v<T, bool>) {
          if (value == "true" || value == "1")
            c.*member = true;
          else if (value == "false" || value == "0")
            c.*member = false;
          else
            return fail(ErrorCode::invalid,
                        where + ": expected true or false, got '" + value + "'");
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          std::int64_t n = 0;
          auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
          if (ec != std::errc() || p != value.data() + value.size())
            return fail(ErrorCode::invalid, where + ": expected an integer, got '" + value + "'");
          if (n < o.min || n > o.max)
            return fail(ErrorCode::invalid, where + ": " + value + " is outside " +
                                                std::to_string(o.min) + ".." +
                                                std::to_string(o.max));
          c.*member = n;
        } else {
          std::vector<std::string> items;
          std::string cur;
          for (char ch : value + ",") {
            if (ch == ',') {
              if (!cur.empty()) items.push_back(cur);
              cur.clear();
            } else if (ch != ' ') {
              cur += ch;
            }
          }
          c.*member = items;
        }
        return {};
      },
      o.member);
}

Result<void> set_from_toml(Config& c, const Option& o, const toml::node& node,
                           const std::string& origin) {
  std::string where = name_of(o) + " (" + origin + ")";
  return std::visit(
      [&](auto member) -> Result<void> {
        using T = std::remove_reference_t<decltype(c.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (!node.is_string()) return fail(ErrorCode::invalid, where + ": expected a string");
          c.*member = *node.value<std::string>();
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!node.is_boolean())
            return fail(ErrorCode::invalid, where + ": expected true or false");
          c.*member = *node.value<bool>();
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          if (!node.is_integer()) return fail(ErrorCode::invalid, where + ": expected an integer");
          auto n = *node.value<std::int64_t>();
          if (n < o.min || n > o.max)
            return fail(ErrorCode::invalid, where + ": " + std::to_string(n) + " is outside " +
                                                std::to_string(o.min) + ".." +
                                                std::to_string(o.max));
          c.*member = n;
        } else {
          auto* arr = node.as_array();
          if (!arr) return fail(ErrorCode::invalid, where + ": expected an array of strings");
          std::vector<std::string> items;
          for (const auto& el : *arr) {
            if (!el.is_string())
              return fail(ErrorCode::invalid, where + ": expected an array of strings");
            items.push_back(*el.value<std::string>());
          }
          c.*member = items;
        }
        return {};
      },
      o.member);
}

Result<void> validate(Config& c) {
  auto colon = c.server_listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return fail(ErrorCode::invalid,
                "server.listen: expected host:port, got '" + c.server_listen + "'");
  c.host = c.server_listen.substr(0, colon);
  if (c.host.size() > 2 && c.host.front() == '[' && c.host.back() == ']')
    c.host = c.host.substr(1, c.host.size() - 2);
  std::string port = c.server_listen.substr(colon + 1);
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p > 65535)
    return fail(ErrorCode::invalid, "server.listen: bad port '" + port + "'");
  c.port = static_cast<std::uint16_t>(p);
  if (c.site_editions.empty())
    return fail(ErrorCode::invalid, "site.editions: at least one edition is needed");
  for (const auto& e : c.site_editions)
    if (!domain::Editions::is_valid_code(e))
      return fail(ErrorCode::invalid,
                  "site.editions: '" + e + "' is not an edition code (2-8 lower-case letters)");
  if (std::find(c.site_editions.begin(), c.site_editions.end(), c.site_default_edition) ==
      c.site_editions.end())
    return fail(ErrorCode::invalid,
                "site.default_edition: '" + c.site_default_edition + "' is not in site.editions");
  log::Level lvl;
  if (!log::parse_level(c.log_level, lvl))
    return fail(ErrorCode::invalid,
                "log.level: expected debug, info, warn or error, got '" + c.log_level + "'");
  if (auto kind = store_kind_of(c.store_url); !kind) return std::unexpected(kind.error());
  if (!c.bus_url.empty())
    if (auto redis = bus::redis::parse_redis_url(c.bus_url); !redis)
      return fail(ErrorCode::invalid, "bus.url: " + redis.error().message);
  if (c.bus_channel_prefix.empty())
    return fail(ErrorCode::invalid, "bus.channel_prefix: must not be empty");
  if (!c.mail_smtp_url.empty())
    if (auto smtp = mail::parse_smtp_url(c.mail_smtp_url); !smtp)
      return fail(ErrorCode::invalid, "mail.smtp_url: " + smtp.error().message);
  if (auto from = mail::split_mailbox(c.mail_from); !mail::is_valid_address(from.address))
    return fail(ErrorCode::invalid, "mail.from: '" + c.mail_from + "' holds no valid address");
  if (c.mail_retry_max_ms < c.mail_retry_first_ms)
    return fail(ErrorCode::invalid, "mail.retry_max_ms: must not be below mail.retry_first_ms");
  if (auto proxies = net::TrustedProxies::parse(c.server_trusted_proxies); !proxies)
    return fail(ErrorCode::invalid, "server.trusted_proxies: " + proxies.error().message);
  while (!c.server_public_url.empty() && c.server_public_url.back() == '/')
    c.server_public_url.pop_back();
  if (!c.server_public_url.empty() && !c.server_public_url.starts_with("http://") &&
      !c.server_public_url.starts_with("https://"))
    return fail(ErrorCode::invalid, "server.public_url: must start with http:// or https://");
  return {};
}

}  // namespace

Result<Config> load_config(const std::string& path, char** env) {
  Config c;
  if (!path.empty()) {
    toml::table root;
    try {
      root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      return fail(ErrorCode::invalid, path + ": " + std::string(e.description()) + " at line " +
                                          std::to_string(e.source().begin.line));
    }
    for (const auto& [section, node] : root) {
      auto* table = node.as_table();
      std::string sec(section.str());
      if (!table) return fail(ErrorCode::invalid, path + ": '" + sec + "' must be a [section]");
      for (const auto& [key, value] : *table) {
        std::string k(key.str());
        auto it = std::find_if(options().begin(), options().end(),
                               [&](const Option& o) { return sec == o.section && k == o.key; });
        if (it == options().end())
          return fail(ErrorCode::invalid, path + ": unknown config key " + sec + "." + k);
        if (auto r = set_from_toml(c, *it, value, path); !r) return std::unexpected(r.error());
      }
    }
  }
  // Environment overrides. A DEPESCHE_<SECTION>_ variable that names no
  // option is a typo worth stopping for; other DEPESCHE_ variables (used by
  // scripts) are left alone.
  for (char** e = env; e && *e; ++e) {
    std::string_view entry(*e);
    if (!entry.starts_with("DEPESCHE_")) continue;
    auto eq = entry.find('=');
    std::string name(entry.substr(0, eq));
    std::string value(eq == std::string_view::npos ? "" : entry.substr(eq + 1));
    auto it = std::find_if(options().begin(), options().end(),
                           [&](const Option& o) { return env_of(o) == name; });
    if (it == options().end()) {
      for (const auto& o : options())
        if (name.starts_with("DEPESCHE_" + upper(o.section) + "_"))
          return fail(ErrorCode::invalid, "unknown config variable " + name);
      continue;
    }
    if (auto r = set_from_text(c, *it, value, "environment " + name); !r)
      return std::unexpected(r.error());
  }
  if (auto r = validate(c); !r) return std::unexpected(r.error());
  return c;
}

namespace {
// A member's value as the config file would spell it.
std::string text_of(const Config& c, const Option& o) {
  return std::visit(
      [&](auto member) -> std::string {
        using T = std::remove_cvref_t<decltype(c.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return "\"" + c.*member + "\"";
        } else if constexpr (std::is_same_v<T, bool>) {
          return c.*member ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return std::to_string(c.*member);
        } else {
          std::string out;
          for (const auto& item : c.*member) out += (out.empty() ? "" : ",") + item;
          return "\"" + out + "\"";
        }
      },
      o.member);
}
}  // namespace

std::string describe_config() {
  const Config defaults;
  std::string out;
  for (const auto& o : options()) {
    out += name_of(o) + " = " + text_of(defaults, o) + "  [" + env_of(o) + "]  " + o.meaning;
    if (std::holds_alternative<std::int64_t Config::*>(o.member))
      out += " (" + std::to_string(o.min) + ".." + std::to_string(o.max) + ")";
    out += "\n";
  }
  return out;
}

}  // namespace depesche::app
