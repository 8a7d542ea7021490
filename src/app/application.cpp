#include "app/application.hpp"

#include <filesystem>
#include <thread>

#include "api/api_errors.hpp"
#include "api/articles_api.hpp"
#include "base/log.hpp"
#include "domain/article_service.hpp"
#include "domain/editions.hpp"
#include "domain/token_service.hpp"
#include "net/blocking_pool.hpp"
#include "net/metrics.hpp"
#include "net/router.hpp"
#include "net/server.hpp"
#include "store/sqlite/sqlite_store.hpp"
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
  std::unique_ptr<domain::Editions> editions;
  std::unique_ptr<domain::ArticleService> articles;
  std::unique_ptr<domain::TokenService> tokens;
};

Application::~Application() = default;
domain::ArticleService& Application::articles() { return *p_->articles; }
domain::TokenService& Application::tokens() { return *p_->tokens; }
const Config& Application::config() const { return p_->config; }

std::string Application::resource_dir() const {
  return p_->config.site_resources.empty() ? std::string(DEPESCHE_RESOURCE_DIR)
                                           : p_->config.site_resources;
}

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
  auto store =
      store::sqlite::SqliteStore::open((fs::path(p.config.data_dir) / "depesche.db").string(),
                                       static_cast<std::size_t>(p.config.server_blocking_threads));
  if (!store) return std::unexpected(store.error());
  p.store = std::move(*store);
  if (auto v = p.store->migrate(); !v) return std::unexpected(v.error());
  p.editions =
      std::make_unique<domain::Editions>(p.config.site_editions, p.config.site_default_edition);
  p.articles = std::make_unique<domain::ArticleService>(*p.store, *p.editions);
  p.tokens = std::make_unique<domain::TokenService>(*p.store);
  return app;
}

int Application::serve() {
  auto& p = *p_;
  const Config& c = p.config;
  std::string res = resource_dir();
  auto i18n = web::I18n::load(res + "/locales", c.site_editions, c.site_time_zone);
  if (!i18n) {
    log::error("cannot start", {{"error", i18n.error().message}});
    return 1;
  }
  // Every edition needs its name in every catalog, for the edition switcher.
  for (const auto& ed : c.site_editions)
    for (const auto& other : c.site_editions)
      if (!(*i18n)->catalog(ed).has("edition_" + other)) {
        log::error("cannot start",
                   {{"error", "locales/" + ed + " lacks the key edition_" + other}});
        return 1;
      }
  auto templates = web::Templates::load(res + "/templates");
  auto statics = web::StaticFiles::load(res + "/static");
  if (!templates || !statics) {
    log::error("cannot start",
               {{"error", !templates ? templates.error().message : statics.error().message}});
    return 1;
  }

  net::Router router;
  web::PageCache cache(static_cast<std::size_t>(c.site_page_cache_entries),
                       [&] { return p.articles->content_generation(); });
  web::Pages pages({*p.articles, *p.editions, **i18n, **templates, **statics, cache,
                    web::SiteInfo{c.site_name, c.server_public_url, (*statics)->version()},
                    (fs::path(c.data_dir) / "media").string()});
  api::ArticlesApi articles_api(*p.articles, *p.tokens);

  std::unique_ptr<net::Server> server;
  std::unique_ptr<net::Metrics> metrics;
  router.add({net::Method::get}, "/healthz", nullptr,
             [](net::Request&) -> std::optional<net::Response> {
               return net::Response(200, "text/plain; charset=utf-8", "ok\n");
             });
  router.add({net::Method::get}, "/readyz", [&](net::Request&) {
    if (server && server->stopping())
      return net::Response(503, "text/plain; charset=utf-8", "shutting down\n");
    if (auto ok = p.store->ping(); !ok)
      return net::Response(503, "text/plain; charset=utf-8", "store unavailable\n");
    return net::Response(200, "text/plain; charset=utf-8", "ready\n");
  });
  router.add(
      {net::Method::get}, "/metrics", nullptr, [&](net::Request&) -> std::optional<net::Response> {
        return net::Response(200, "text/plain; version=0.0.4; charset=utf-8", metrics->render());
      });
  articles_api.register_routes(router);
  pages.register_routes(router);
  router.set_not_found([&](net::Request& req) {
    if (req.path.starts_with("/api/")) return api::api_not_found(req);
    return pages.error_page(req, 404);
  });

  std::vector<std::string> names;
  for (const auto& r : router.routes()) names.push_back(r.pattern);
  metrics = std::make_unique<net::Metrics>(names);

  std::size_t io_threads = c.server_threads > 0 ? static_cast<std::size_t>(c.server_threads)
                                                : std::max(1u, std::thread::hardware_concurrency());
  net::BlockingPool pool(static_cast<std::size_t>(c.server_blocking_threads));
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
  server = std::make_unique<net::Server>(opts, router, *metrics, pool);
  std::string address;
  try {
    address = server->bind();
  } catch (const std::exception& e) {
    log::error("cannot start", {{"error", e.what()}});
    return 1;
  }
  if (c.server_public_url.empty()) pages.site().public_url = "http://" + address;
  log::lifecycle("ready", {{"address", address},
                           {"public_url", pages.site().public_url},
                           {"io_threads", static_cast<std::int64_t>(io_threads)},
                           {"data_dir", c.data_dir}});
  server->run();
  pool.stop();
  // Sessions cut off by the shutdown timeout are destroyed with the server;
  // they still count themselves out of the metrics, so the server goes first.
  server.reset();
  return 0;
}

}  // namespace depesche::app
