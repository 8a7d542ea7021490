#pragma once
// Configuration: TOML file plus DEPESCHE_<SECTION>_<KEY> environment
// overrides. Every option is declared once, in config.cpp's table, with its
// type, bounds, default and meaning; unknown keys and bad values are errors.

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace depesche::app {

struct Config {
  // [server]
  std::string server_listen = "127.0.0.1:8080";
  std::string server_public_url;    // empty: http://<listen address>
  std::int64_t server_threads = 0;  // 0: one per core
  std::int64_t server_blocking_threads = 32;
  std::int64_t server_max_header_bytes = 16 * 1024;
  std::int64_t server_max_body_bytes = 1024 * 1024;
  std::int64_t server_read_timeout_ms = 10'000;
  std::int64_t server_idle_timeout_ms = 60'000;
  std::int64_t server_shutdown_timeout_ms = 10'000;
  std::vector<std::string> server_trusted_proxies;  // addresses and CIDR networks
  // [data]
  std::string data_dir = "./data";
  // [store]
  std::string store_url;  // empty: SQLite in data_dir; postgres://...
  std::int64_t store_checkpoint_interval_ms = 1000;
  std::int64_t store_group_commit_max_units = 128;
  std::int64_t store_group_commit_max_age_us = 5000;
  std::int64_t store_pool_size = 0;  // PostgreSQL; 0: blocking threads + 2
  std::int64_t store_connect_timeout_s = 10;
  // [bus]
  std::string bus_url;  // empty: in-process; redis://...
  std::string bus_channel_prefix = "depesche:";
  std::int64_t bus_lead_check_ms = 1000;
  // [mail]
  std::string mail_smtp_url;
  std::string mail_from = "Depesche <noreply@depesche.invalid>";
  std::string mail_smtp_ca_file;
  std::int64_t mail_smtp_timeout_ms = 60'000;
  std::int64_t mail_max_attempts = 8;
  std::int64_t mail_retry_first_ms = 15'000;
  std::int64_t mail_retry_max_ms = 3'600'000;
  std::int64_t mail_poll_ms = 5'000;
  // [accounts]
  std::int64_t accounts_confirm_ttl_hours = 48;
  std::int64_t accounts_reset_ttl_hours = 2;
  std::int64_t accounts_session_idle_hours = 14 * 24;
  std::int64_t accounts_session_max_hours = 30 * 24;
  std::int64_t api_idempotency_ttl_hours = 24;
  std::int64_t accounts_login_per_minute = 6;
  std::int64_t accounts_register_per_hour = 10;
  std::int64_t accounts_reset_per_hour = 5;
  std::int64_t accounts_resend_per_hour = 3;
  std::int64_t accounts_mails_per_address_per_hour = 5;
  std::int64_t accounts_password_min_chars = 12;
  std::int64_t accounts_argon2_memory_kib = 19 * 1024;
  std::int64_t accounts_argon2_passes = 2;
  std::string accounts_common_passwords;
  // [live]
  std::int64_t live_loops = 1;
  std::int64_t live_history = 512;
  std::int64_t live_history_bytes = 4 * 1024 * 1024;
  std::int64_t live_max_queue_bytes = 512 * 1024;
  std::int64_t live_send_buffer_bytes = 16 * 1024;
  std::int64_t live_max_message_bytes = 4096;
  std::int64_t live_max_subscriptions = 32;
  std::int64_t live_max_messages_per_second = 20;
  std::int64_t live_ping_interval_ms = 25'000;
  std::int64_t live_pong_timeout_ms = 20'000;
  std::int64_t live_max_replay = 5'000;
  std::int64_t live_log_replay_bytes_per_second = 8 * 1024 * 1024;
  std::int64_t live_max_pending = 8;
  std::int64_t live_relay_poll_ms = 250;
  // [events]
  std::int64_t events_retention_days = 7;
  std::int64_t events_retention_per_topic = 10'000;
  // [log]
  std::string log_level = "info";
  bool log_access = true;
  // [site]
  std::string site_name = "Depesche";
  std::vector<std::string> site_editions = {"de", "en", "ru"};
  std::string site_default_edition = "en";
  std::string site_time_zone = "UTC";
  std::string site_resources;  // empty: the directory the build was made from
  std::int64_t site_page_cache_entries = 10'000;
  // [testing]
  std::string testing_clock_file;  // empty: the real clock (see docs/operations.md)

  /// Host and port split from server_listen (after validation).
  std::string host;
  std::uint16_t port = 0;
};

/// Loads defaults, then `path` (when not empty), then the environment.
Result<Config> load_config(const std::string& path, char** environ);

/// One line per option: "section.key (type, default ...): meaning".
std::string describe_config();

}  // namespace depesche::app
