#include "app/application.hpp"

#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <random>
#include <thread>

#include "api/api_errors.hpp"
#include "api/articles_api.hpp"
#include "api/auth_api.hpp"
#include "api/caller.hpp"
#include "api/idempotency.hpp"
#include "api/ticker_events.hpp"
#include "api/tickers_api.hpp"
#include "app/log_event_source.hpp"
#include "app/store_opener.hpp"
#include "base/log.hpp"
#include "bus/event_relay.hpp"
#include "bus/in_process_bus.hpp"
#include "bus/redis/redis_budgets.hpp"
#include "bus/redis/redis_bus.hpp"
#include "bus/redis/redis_presence.hpp"
#include "domain/account_service.hpp"
#include "domain/article_service.hpp"
#include "domain/editions.hpp"
#include "domain/mail_outbox.hpp"
#include "domain/passwords.hpp"
#include "domain/ticker_service.hpp"
#include "domain/token_service.hpp"
#include "live/hub.hpp"
#include "mail/maildir/maildir_mailer.hpp"
#include "mail/smtp/smtp_mailer.hpp"
#include "net/blocking_pool.hpp"
#include "net/browser_guard.hpp"
#include "net/metrics.hpp"
#include "net/router.hpp"
#include "net/server.hpp"
#include "store/postgres/pg_commit_listener.hpp"
#include "store/postgres/pg_relay_lease.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "web/account_mail_writer.hpp"
#include "web/account_pages.hpp"
#include "web/editor_console.hpp"
#include "web/i18n.hpp"
#include "web/page_cache.hpp"
#include "web/pages.hpp"
#include "web/static_files.hpp"
#include "web/templates.hpp"

namespace depesche::app {

namespace fs = std::filesystem;

struct Application::Parts {
  Config config;
  std::unique_ptr<store::Store> store;
  store::sqlite::SqliteStore* sqlite = nullptr;  // the same store, for its WAL checkpointer
  std::unique_ptr<domain::Editions> editions;
  std::unique_ptr<domain::ArticleService> articles;
  std::unique_ptr<domain::TokenService> tokens;
  std::unique_ptr<web::I18n> i18n;
  std::unique_ptr<web::Templates> templates;
  std::unique_ptr<web::StaticFiles> statics;
  web::SiteInfo site;
  domain::AccountSettings account_settings;
  std::unique_ptr<domain::Passwords> passwords;
  std::unique_ptr<mail::Mailer> mailer;
  std::unique_ptr<domain::MailOutbox> outbox;
  std::unique_ptr<web::AccountMailWriter> account_mails;
  std::unique_ptr<bus::redis::RedisBudgets> budgets;    // the rate limits, when nodes share Redis
  std::unique_ptr<bus::redis::RedisPresence> presence;  // presence summed, when nodes share Redis
  std::unique_ptr<domain::AccountService> accounts;
  std::unique_ptr<bus::Bus> bus;
  bus::redis::RedisBus* redis = nullptr;  // the same bus when it is Redis, else null
  std::unique_ptr<api::TickerEventCodec> ticker_events;
  std::unique_ptr<domain::TickerService> tickers;
};

Application::~Application() {
  if (p_ && p_->outbox) p_->outbox->stop();
}
domain::ArticleService& Application::articles() { return *p_->articles; }
domain::TokenService& Application::tokens() { return *p_->tokens; }
domain::AccountService& Application::accounts() { return *p_->accounts; }
domain::TickerService& Application::tickers() { return *p_->tickers; }
domain::MailOutbox& Application::outbox() { return *p_->outbox; }
store::Store& Application::store() { return *p_->store; }
const Config& Application::config() const { return p_->config; }

std::string Application::resource_dir() const {
  return p_->config.site_resources.empty() ? std::string(DEPESCHE_RESOURCE_DIR)
                                           : p_->config.site_resources;
}

namespace {

// This process among the nodes sharing Redis (presence): its host and pid
// for an operator reading the keys, and randomness, as a restarted node
// may get the same pid.
std::string node_id() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  std::random_device rd;
  char rand[9];
  std::snprintf(rand, sizeof rand, "%08x", rd());
  return std::string(host.data()) + ":" + std::to_string(::getpid()) + ":" + rand;
}

// Runs a clean-up on every way out of a scope (serve() has several).
struct ScopeExit {
  std::function<void()> run;
  ~ScopeExit() { run(); }
};

domain::AccountSettings account_settings(const Config& c) {
  constexpr Millis kHour = 3600'000;
  domain::AccountSettings s;
  s.confirm_ttl_ms = c.accounts_confirm_ttl_hours * kHour;
  s.email_change_ttl_ms = c.accounts_confirm_ttl_hours * kHour;
  s.reset_ttl_ms = c.accounts_reset_ttl_hours * kHour;
  s.session_idle_ms = c.accounts_session_idle_hours * kHour;
  s.session_absolute_ms = c.accounts_session_max_hours * kHour;
  s.login_per_minute = static_cast<int>(c.accounts_login_per_minute);
  s.register_per_hour = static_cast<int>(c.accounts_register_per_hour);
  s.reset_per_hour = static_cast<int>(c.accounts_reset_per_hour);
  s.resend_per_hour = static_cast<int>(c.accounts_resend_per_hour);
  s.account_mails_per_hour = static_cast<int>(c.accounts_mails_per_address_per_hour);
  return s;
}

Result<std::unique_ptr<mail::Mailer>> make_mailer(const Config& c) {
  if (c.mail_smtp_url.empty()) {
    try {
      return std::unique_ptr<mail::Mailer>(
          new mail::MaildirMailer((fs::path(c.data_dir) / "outbox").string()));
    } catch (const std::exception& e) {
      return fail(ErrorCode::invalid, e.what());
    }
  }
  auto options = mail::parse_smtp_url(c.mail_smtp_url);
  if (!options) return fail(ErrorCode::invalid, "mail.smtp_url: " + options.error().message);
  options->ca_file = c.mail_smtp_ca_file;
  options->timeout_ms = static_cast<long>(c.mail_smtp_timeout_ms);
  return std::unique_ptr<mail::Mailer>(new mail::SmtpMailer(std::move(*options)));
}

}  // namespace

Result<std::unique_ptr<Application>> Application::open(Config config) {
  log::Level level;
  log::parse_level(config.log_level, level);
  log::set_level(level);
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec)
    return fail(ErrorCode::invalid,
                "cannot create data dir " + config.data_dir + ": " + ec.message());
  fs::create_directories(fs::path(config.data_dir) / "media", ec);
  std::unique_ptr<Application> app(new Application());
  app->p_ = std::make_unique<Parts>();
  auto& p = *app->p_;
  p.config = std::move(config);
  const Config& c = p.config;
  auto store = open_store(c);
  if (!store) return std::unexpected(store.error());
  p.sqlite = store->sqlite;
  p.store = std::move(store->store);
  if (auto v = p.store->migrate(); !v) return std::unexpected(v.error());
  // PostgreSQL keeps its own WAL.
  if (p.sqlite)
    if (auto r =
            p.sqlite->start_checkpointer(std::chrono::milliseconds(c.store_checkpoint_interval_ms));
        !r)
      return std::unexpected(r.error());
  p.editions = std::make_unique<domain::Editions>(c.site_editions, c.site_default_edition);
  p.articles = std::make_unique<domain::ArticleService>(*p.store, *p.editions);
  p.tokens = std::make_unique<domain::TokenService>(*p.store);

  std::string res = app->resource_dir();
  auto i18n = web::I18n::load(res + "/locales", c.site_editions, c.site_time_zone);
  if (!i18n) {
    // The catalog cannot know which setting gave it the zone; this can.
    Error e = i18n.error();
    if (e.field == "time_zone") e.message = "site.time_zone: " + e.message;
    return std::unexpected(e);
  }
  // Every edition needs its name in every catalog, for the edition switcher.
  for (const auto& ed : c.site_editions)
    for (const auto& other : c.site_editions)
      if (!(*i18n)->catalog(ed).has("edition_" + other))
        return fail(ErrorCode::invalid, "locales/" + ed + " lacks the key edition_" + other);
  p.i18n = std::move(*i18n);
  auto templates = web::Templates::load(res + "/templates");
  if (!templates) return std::unexpected(templates.error());
  p.templates = std::move(*templates);
  auto statics = web::StaticFiles::load(res + "/static");
  if (!statics) return std::unexpected(statics.error());
  p.statics = std::move(*statics);
  p.site = web::SiteInfo{c.site_name, c.server_public_url, p.statics->version()};

  auto common = domain::Passwords::load_list(c.accounts_common_passwords.empty()
                                                 ? res + "/security/common-passwords.txt"
                                                 : c.accounts_common_passwords);
  if (!common) return std::unexpected(common.error());
  domain::PasswordSettings pw;
  pw.min_chars = static_cast<std::size_t>(c.accounts_password_min_chars);
  pw.argon2_memory_kib = static_cast<std::uint64_t>(c.accounts_argon2_memory_kib);
  pw.argon2_passes = static_cast<std::uint64_t>(c.accounts_argon2_passes);
  p.passwords = std::make_unique<domain::Passwords>(pw, std::move(*common));

  auto mailer = make_mailer(c);
  if (!mailer) return std::unexpected(mailer.error());
  p.mailer = std::move(*mailer);
  domain::OutboxSettings outbox;
  outbox.from = c.mail_from;
  outbox.max_attempts = static_cast<int>(c.mail_max_attempts);
  outbox.first_retry_ms = c.mail_retry_first_ms;
  outbox.max_retry_ms = c.mail_retry_max_ms;
  outbox.poll_ms = c.mail_poll_ms;
  p.outbox = std::make_unique<domain::MailOutbox>(*p.store, *p.mailer, outbox);
  p.account_settings = account_settings(c);
  p.account_mails = std::make_unique<web::AccountMailWriter>(*p.i18n, *p.templates, *p.outbox,
                                                             p.site, p.account_settings);
  if (c.bus_url.empty()) {
    p.bus = std::make_unique<bus::InProcessBus>();
  } else {
    auto redis_opts = bus::redis::parse_redis_url(c.bus_url);
    if (!redis_opts) return fail(ErrorCode::invalid, "bus.url: " + redis_opts.error().message);
    redis_opts->channel_prefix = c.bus_channel_prefix;
    // Nodes that share a bus share their rate limits too: one budget per
    // attacker, not one per node.
    p.budgets = std::make_unique<bus::redis::RedisBudgets>(*redis_opts);
    // ... and show readers how many follow a topic on all of them.
    bus::redis::RedisPresenceOptions presence;
    presence.node = node_id();
    p.presence = std::make_unique<bus::redis::RedisPresence>(*redis_opts, presence);
    auto redis = std::make_unique<bus::redis::RedisBus>(std::move(*redis_opts));
    p.redis = redis.get();
    p.bus = std::move(redis);
  }
  p.accounts = std::make_unique<domain::AccountService>(*p.store, *p.editions, *p.passwords,
                                                        *p.account_mails, p.account_settings,
                                                        now_millis, p.budgets.get());
  p.ticker_events = std::make_unique<api::TickerEventCodec>();
  p.tickers =
      std::make_unique<domain::TickerService>(*p.store, *p.editions, *p.articles, *p.ticker_events);
  return app;
}

int Application::serve() { return run_site(nullptr); }

int Application::print_routes(std::ostream& out) { return run_site(&out); }

namespace {

// One line of `depesche routes`.
std::string route_line(const std::vector<net::Method>& methods, const std::string& pattern,
                       net::Access access, const char* upgrade) {
  nlohmann::ordered_json line;
  line["methods"] = nlohmann::ordered_json::array();
  for (net::Method m : methods) line["methods"].push_back(net::to_string(m));
  line["pattern"] = pattern;
  line["who"] = net::to_string(access.who);
  line["via"] = net::to_string(access.via);
  if (upgrade) line["upgrade"] = upgrade;
  return line.dump() + "\n";
}

}  // namespace

int Application::run_site(std::ostream* list_routes) {
  auto& p = *p_;
  const Config& c = p.config;
  net::BrowserGuard guard(c.server_public_url);
  long long session_max_age_s = p.account_settings.session_absolute_ms / 1000;

  net::Router router;
  web::PageCache cache(static_cast<std::size_t>(c.site_page_cache_entries),
                       [&] { return p.articles->content_generation(); });
  // Blocking work (the store, hashing) of requests and of the live hub.
  net::BlockingPool pool(static_cast<std::size_t>(c.server_blocking_threads));
  live::HubOptions live_opts;
  live_opts.loops = static_cast<std::size_t>(c.live_loops);
  live_opts.history = static_cast<std::size_t>(c.live_history);
  live_opts.history_bytes = static_cast<std::size_t>(c.live_history_bytes);
  live_opts.max_replay = static_cast<std::size_t>(c.live_max_replay);
  live_opts.max_queue_bytes = static_cast<std::size_t>(c.live_max_queue_bytes);
  live_opts.send_buffer_bytes = static_cast<std::size_t>(c.live_send_buffer_bytes);
  live_opts.max_message_bytes = static_cast<std::size_t>(c.live_max_message_bytes);
  live_opts.max_subscriptions = static_cast<std::size_t>(c.live_max_subscriptions);
  live_opts.max_pending = static_cast<std::size_t>(c.live_max_pending);
  live_opts.log_replay_bytes_per_second =
      static_cast<std::size_t>(c.live_log_replay_bytes_per_second);
  live_opts.max_messages_per_second = static_cast<int>(c.live_max_messages_per_second);
  live_opts.ping_interval = std::chrono::milliseconds(c.live_ping_interval_ms);
  live_opts.pong_timeout = std::chrono::milliseconds(c.live_pong_timeout_ms);
  LogEventSource event_source(p.store->events());
  live::Hub hub(live_opts, event_source,
                [&pool](std::function<void()> work) { pool.post(std::move(work)); });
  // Topics a reader may follow, by prefix. Chat rooms add theirs with the chats.
  hub.add_policy("ticker:", [&](std::string_view name, const live::Identity&) -> Result<void> {
    if (!p.tickers->exists(name)) return fail(ErrorCode::not_found, "unknown topic");
    return {};
  });
  auto published_article = [&](std::string_view name, const live::Identity&) -> Result<void> {
    std::int64_t id = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
    if (ec != std::errc{} || end != name.data() + name.size() || id <= 0)
      return fail(ErrorCode::not_found, "unknown topic");
    auto a = p.articles->by_id(id, false);
    if (!a) return std::unexpected(a.error());
    return {};
  };
  hub.add_policy("article:", published_article);
  hub.add_policy("comments:", published_article);
  hub.set_identify([&](const live::UpgradeInfo& info) {
    live::Identity who;
    net::Request req;
    req.headers = {{"cookie", info.cookie}};
    auto secret = guard.session_secret(req);
    if (!secret) return who;
    auto me = p.accounts->authenticate(*secret);
    if (!me) return who;
    who.account_id = me->account.id;
    who.role = domain::to_string(me->account.role);
    who.display_name = me->account.display_name;
    who.can_write = info.has_origin;
    return who;
  });
  hub.set_public_url(c.server_public_url);
  bus::RelayOptions relay_opts;
  relay_opts.poll = std::chrono::milliseconds(c.live_relay_poll_ms);
  relay_opts.retention.max_age_ms = c.events_retention_days * 24 * 3600'000LL;
  relay_opts.retention.max_per_topic = c.events_retention_per_topic;
  // Nodes on one PostgreSQL and one Redis relay through one leader, so
  // every event goes out once and one position row has one writer (with
  // the in-process bus each node needs its own relay: docs/decisions.md).
  std::unique_ptr<store::postgres::PgRelayLease> lease;
  if (p.redis && !p.sqlite) {
    lease = std::make_unique<store::postgres::PgRelayLease>(
        c.store_url, relay_opts.name, std::chrono::milliseconds(c.bus_lead_check_ms),
        static_cast<int>(c.store_connect_timeout_s));
    relay_opts.lead = [&lease] { return lease->hold(); };
  }
  bus::EventRelay relay(p.store->events(), *p.bus, relay_opts);
  // On PostgreSQL other nodes and the CLI commit too; their notifications
  // wake this relay at once instead of at its next poll.
  std::unique_ptr<store::postgres::PgCommitListener> listener;
  if (!p.sqlite)
    listener = std::make_unique<store::postgres::PgCommitListener>(
        c.store_url, [&relay] { relay.wake(); }, static_cast<int>(c.store_connect_timeout_s));
  web::Pages pages({*p.articles, *p.accounts, guard, *p.editions, *p.i18n, *p.templates, *p.statics,
                    cache, p.site, (fs::path(c.data_dir) / "media").string(), *p.tickers,
                    [&](std::string_view topic) -> std::uint64_t {
                      auto head = p.store->events().head(topic);
                      return head ? head->seq : 0;
                    },
                    c.site_time_zone});
  web::EditorConsole editor_console(pages, *p.tickers, *p.editions, *p.i18n, guard);
  web::AccountPages account_pages(pages, *p.accounts, *p.editions, *p.i18n, guard,
                                  session_max_age_s);
  api::ArticlesApi articles_api(*p.articles, *p.tokens);
  api::AuthApi auth_api(*p.accounts, *p.tokens, guard, session_max_age_s);
  api::CallerAuth callers(*p.tokens, *p.accounts, guard);
  api::TickersApi tickers_api(*p.tickers, callers);
  api::IdempotentPosts idempotent_posts(*p.store, callers,
                                        {.ttl = std::chrono::hours(c.api_idempotency_ttl_hours)});

  const net::Access anyone{net::Who::anyone, net::Via::nothing};
  // Anyone may follow topics; a session (from this site's Origin only) may publish.
  router.set_upgrade(
      "/live", {net::Who::anyone, net::Via::session},
      net::Upgrade{[&hub](const net::Request& req) { return hub.check_handshake(req); },
                   [&hub](int fd, const net::Request& req, std::string leftover) {
                     hub.adopt(fd, req, std::move(leftover));
                   }});
  router.add({net::Method::get}, "/live", anyone, [](net::Request&) {
    net::Response r(426, "text/plain; charset=utf-8", "this endpoint speaks WebSocket only\n");
    r.header("Upgrade", "websocket");
    return r;
  });

  std::unique_ptr<net::Server> server;
  std::unique_ptr<net::Metrics> metrics;
  router.add({net::Method::get}, "/healthz", anyone, nullptr,
             [](net::Request&) -> std::optional<net::Response> {
               return net::Response(200, "text/plain; charset=utf-8", "ok\n");
             });
  // The store's answer is kept for a second: a probe is a commit, and
  // /readyz is open to anyone who can reach the port.
  struct Readiness {
    std::mutex mutex;
    Millis checked_at = 0;
    bool ok = false;
  } readiness;
  router.add({net::Method::get}, "/readyz", anyone, [&](net::Request&) {
    if (server && server->stopping())
      return net::Response(503, "text/plain; charset=utf-8", "shutting down\n");
    bool ok;
    {
      std::lock_guard lock(readiness.mutex);
      Millis now = now_millis();
      if (now - readiness.checked_at >= 1000) {
        auto r = p.store->ping();
        if (!r) log::warn("not ready: the store fails", {{"error", r.error().message}});
        readiness.ok = r.has_value();
        readiness.checked_at = now;
      }
      ok = readiness.ok;
    }
    if (!ok) return net::Response(503, "text/plain; charset=utf-8", "store unavailable\n");
    return net::Response(200, "text/plain; charset=utf-8", "ready\n");
  });
  router.add(
      // On the blocking pool: the mail queue gauge reads the store.
      {net::Method::get}, "/metrics", anyone, [&](net::Request&) {
        std::string text = metrics->render();
        text +=
            "# HELP depesche_mail_queue Mails in the outbox by state (failed ones wait for "
            "an operator).\n# TYPE depesche_mail_queue gauge\n";
        for (auto state :
             {domain::MailState::pending, domain::MailState::sent, domain::MailState::failed})
          if (auto n = p.store->mail_queue().count(state))
            text += std::string("depesche_mail_queue{state=\"") + domain::to_string(state) +
                    "\"} " + std::to_string(*n) + "\n";
        auto live = hub.stats();
        auto rs = relay.stats();
        auto d = [](auto v) { return static_cast<double>(v); };
        struct Sample {
          const char* name;
          const char* type;
          const char* help;
          double value;
        };
        for (const Sample& m : {
                 Sample{"depesche_live_connections", "gauge",
                        "Live (WebSocket) connections open now.", d(live.connections)},
                 Sample{"depesche_live_subscriptions", "gauge", "Topic subscriptions open now.",
                        d(live.subscriptions)},
                 Sample{"depesche_live_events_total", "counter", "Events published to live topics.",
                        d(live.events)},
                 Sample{"depesche_live_deliveries_total", "counter",
                        "Events written to subscribers.", d(live.deliveries)},
                 Sample{"depesche_live_slow_closes_total", "counter",
                        "Readers closed for being too slow.", d(live.slow_closes)},
                 Sample{"depesche_live_topics", "gauge",
                        "Topics held in the hub's memory (followed now).", d(live.topics)},
                 Sample{"depesche_live_history_bytes", "gauge",
                        "Framed events the hub caches, all topics.", d(live.history_bytes)},
                 Sample{"depesche_live_duplicates_total", "counter",
                        "Events from the bus dropped as seen.", d(live.duplicates)},
                 Sample{"depesche_live_gap_events_total", "counter",
                        "Events fetched from the log to fill gaps.", d(live.gaps_filled)},
                 Sample{"depesche_live_resyncs_total", "counter", "Readers told to refetch.",
                        d(live.resyncs)},
                 Sample{"depesche_live_log_replay_bytes_total", "counter",
                        "Frames read from the event log for resumes.", d(live.log_replay_bytes)},
                 Sample{"depesche_relay_published_total", "counter",
                        "Events the relay published on the bus.", d(rs.published)},
                 Sample{"depesche_relay_position", "gauge", "Event log position published so far.",
                        d(rs.position)},
                 Sample{"depesche_relay_lag_seconds", "gauge",
                        "Commit-to-publish time of the last event.", d(rs.lag_ms) / 1000.0},
                 Sample{"depesche_relay_errors_total", "counter",
                        "Failed attempts to read or publish events.", d(rs.errors)},
                 Sample{"depesche_relay_leading", "gauge",
                        "1 while this node's relay publishes (one node leads a cluster).",
                        rs.leading ? 1.0 : 0.0},
             })
          net::append_metric(text, m.name, m.type, m.help, m.value);
        if (listener)
          net::append_metric(text, "depesche_relay_listening", "gauge",
                             "1 while this node listens for other nodes' commits (PostgreSQL).",
                             listener->listening() ? 1.0 : 0.0);
        if (p.redis) {
          auto bs = p.redis->stats();
          for (const Sample& m : {
                   Sample{"depesche_bus_connected", "gauge",
                          "1 while the Redis subscription stands.", bs.connected ? 1.0 : 0.0},
                   Sample{"depesche_bus_reconnects_total", "counter",
                          "Redis subscriptions re-established after a lost connection.",
                          d(bs.reconnects)},
                   Sample{"depesche_bus_published_total", "counter",
                          "Events this node published to Redis.", d(bs.published)},
                   Sample{"depesche_bus_publish_errors_total", "counter",
                          "Publishes Redis did not take (the relay retries them).",
                          d(bs.publish_errors)},
                   Sample{"depesche_bus_received_total", "counter",
                          "Events this node received from Redis.", d(bs.received)},
                   Sample{"depesche_bus_malformed_total", "counter",
                          "Messages on the bus's channels dropped as not events.", d(bs.malformed)},
               })
            net::append_metric(text, m.name, m.type, m.help, m.value);
        }
        // The WAL and the group commit are SQLite's; PostgreSQL reports its
        // own in its statistics views.
        if (p.sqlite) {
          auto wal = p.sqlite->checkpoint_stats();
          auto gc = p.sqlite->group_commit_stats();
          for (const Sample& m : {
                   Sample{"depesche_store_commits_total", "counter",
                          "Store commits (each one fsync; group commit shares one between writes).",
                          d(gc.commits)},
                   Sample{"depesche_store_commit_failures_total", "counter",
                          "Store commits that failed (their writes were not acknowledged).",
                          d(gc.failed)},
                   Sample{"depesche_store_committed_writes_total", "counter",
                          "Units of work committed.", d(gc.units)},
                   Sample{"depesche_store_commit_batch_max", "gauge",
                          "Units of work in the largest commit so far.", d(gc.largest)},
                   Sample{"depesche_store_commit_seconds_total", "counter",
                          "Time spent committing (mostly the fsync).", gc.commit_seconds_sum},
                   Sample{"depesche_store_commit_seconds_max", "gauge",
                          "The longest commit so far.", gc.commit_seconds_max},
                   Sample{"depesche_wal_frames", "gauge",
                          "SQLite WAL frames not yet emptied, after the last checkpoint.",
                          d(wal.wal_frames)},
                   Sample{"depesche_wal_checkpoints_total", "counter",
                          "Background WAL checkpoints run.", d(wal.checkpoints)},
                   Sample{"depesche_wal_truncations_total", "counter", "Times the WAL was emptied.",
                          d(wal.truncations)},
                   Sample{"depesche_wal_checkpoint_longest_seconds", "gauge",
                          "The slowest background checkpoint so far.", d(wal.longest_ms) / 1000.0},
               })
            net::append_metric(text, m.name, m.type, m.help, m.value);
        }
        return net::Response(200, "text/plain; version=0.0.4; charset=utf-8", std::move(text));
      });
  articles_api.register_routes(router);
  auth_api.register_routes(router);
  tickers_api.register_routes(router);
  idempotent_posts.cover(router);
  account_pages.register_routes(router);
  editor_console.register_routes(router);
  pages.register_routes(router);
  router.set_not_found([&](net::Request& req) {
    if (req.path.starts_with("/api/")) return api::api_not_found(req);
    return pages.error_page(req, 404);
  });
  // `depesche routes`: the table just as it would be served, then nothing
  // is started.
  if (list_routes) {
    for (const auto& r : router.routes())
      *list_routes << route_line(r.methods, r.pattern, r.access, nullptr);
    if (!router.upgrade_path().empty())
      *list_routes << route_line({net::Method::get}, router.upgrade_path(), router.upgrade_access(),
                                 "websocket");
    list_routes->flush();
    return list_routes->good() ? 0 : 1;
  }

  p.outbox->start();
  // The bus carries committed events to the hub; cached pages follow them.
  auto bus_handler = p.bus->on_event([&](const bus::Event& e) {
    if (e.topic.starts_with("ticker:")) p.articles->bump_generation();
    hub.publish(e);
  });
  ScopeExit unhook_bus([&] { p.bus->off_event(bus_handler); });
  if (p.redis) {
    // Whatever was published while the subscription was down never comes:
    // the hub compares its topics with the log (the first time too, for
    // what was committed before it subscribed).
    // The same goes for the pages other nodes' events would have moved on:
    // the cache starts over.
    p.redis->on_subscribed([&hub, &p] {
      hub.catch_up();
      p.articles->bump_generation();
    });
    p.redis->on_notice(bus::redis::RedisPresence::kNotice,
                       [&p](std::string_view topics) { p.presence->notice(topics); });
    hub.set_presence_exchange(*p.presence);
    p.presence->start();
    p.redis->start();
  }
  // Before the hub goes: the subscriber and presence threads call into it.
  ScopeExit stop_redis([&] {
    if (p.redis) p.redis->stop();
    if (p.presence) p.presence->stop();
  });
  hub.start();
  // The node that made a change shows it on the very next page: its cache
  // moves on at the commit, before the writer is answered, rather than when
  // the relay's event comes round (on PostgreSQL that can be after the
  // writer's next read). Other nodes' caches follow the bus, above.
  p.store->events().on_commit([&relay, &p] {
    p.articles->bump_generation();
    relay.wake();
  });
  ScopeExit unhook_relay([&] { p.store->events().on_commit(nullptr); });
  if (auto r = relay.start(); !r) {
    log::error("cannot start", {{"error", "event relay: " + r.error().message}});
    return 1;
  }
  if (listener) listener->start();
  ScopeExit stop_listener([&] {
    if (listener) listener->stop();
  });

  std::vector<std::string> names;
  for (const auto& r : router.routes()) names.push_back(r.pattern);
  metrics = std::make_unique<net::Metrics>(names);

  std::size_t io_threads = c.server_threads > 0 ? static_cast<std::size_t>(c.server_threads)
                                                : std::max(1u, std::thread::hardware_concurrency());
  net::ServerOptions opts;
  opts.host = c.host;
  opts.port = c.port;
  opts.io_threads = io_threads;
  opts.max_header_bytes = static_cast<std::size_t>(c.server_max_header_bytes);
  opts.max_body_bytes = static_cast<std::size_t>(c.server_max_body_bytes);
  opts.read_timeout = std::chrono::milliseconds(c.server_read_timeout_ms);
  opts.idle_timeout = std::chrono::milliseconds(c.server_idle_timeout_ms);
  opts.shutdown_timeout = std::chrono::milliseconds(c.server_shutdown_timeout_ms);
  opts.access_log = c.log_access;
  opts.trusted_proxies = net::TrustedProxies::parse(c.server_trusted_proxies).value();
  server = std::make_unique<net::Server>(opts, router, *metrics, pool);
  std::string address;
  try {
    address = server->bind();
  } catch (const std::exception& e) {
    log::error("cannot start", {{"error", e.what()}});
    return 1;
  }
  if (c.server_public_url.empty()) {
    // Links in pages and mails need the address actually bound (port 0).
    p.site.public_url = "http://" + address;
    pages.site().public_url = p.site.public_url;
    guard.set_public_url(p.site.public_url);
    hub.set_public_url(p.site.public_url);
  }
  log::lifecycle("ready", {{"address", address},
                           {"public_url", pages.site().public_url},
                           {"io_threads", static_cast<std::int64_t>(io_threads)},
                           {"data_dir", c.data_dir}});
  server->run();
  // Publish what is committed, then nothing more reaches the hub.
  p.store->events().on_commit(nullptr);
  if (listener) listener->stop();
  relay.stop();
  p.bus->off_event(bus_handler);
  if (p.redis) p.redis->stop();
  if (p.presence) p.presence->stop();
  hub.stop();
  pool.stop();
  p.outbox->stop();
  // Sessions cut off by the shutdown timeout are destroyed with the server;
  // they still count themselves out of the metrics, so the server goes first.
  server.reset();
  return 0;
}

}  // namespace depesche::app
