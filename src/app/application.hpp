#pragma once
// Wires the concrete parts together: the only place that knows them all.

#include <iosfwd>
#include <memory>
#include <string>

#include "app/config.hpp"
#include "base/error.hpp"

namespace depesche::domain {
class AccountService;
class ArticleService;
class MailOutbox;
class TickerService;
class TokenService;
class Editions;
}  // namespace depesche::domain
namespace depesche::store {
class Store;
}

namespace depesche::app {

class Application {
 public:
  /// Opens the data dir and store, migrates the schema, loads templates and
  /// catalogs and sets up mail; no network yet.
  static Result<std::unique_ptr<Application>> open(Config config);
  ~Application();

  /// Serves HTTP until SIGINT/SIGTERM; returns the process exit code.
  int serve();
  /// Builds every route as serve() does, writes the table to `out` (one JSON
  /// object per line: methods, pattern, who, via, and "upgrade" for the
  /// WebSocket route) and returns without listening or starting anything.
  int print_routes(std::ostream& out);

  domain::ArticleService& articles();
  domain::TokenService& tokens();
  domain::AccountService& accounts();
  domain::TickerService& tickers();
  domain::MailOutbox& outbox();
  store::Store& store();
  const Config& config() const;
  /// The directory holding templates/, locales/, static/ and demo/.
  std::string resource_dir() const;

  struct Parts;

 private:
  Application() = default;
  /// serve()'s body: with `list_routes`, prints the finished table there
  /// instead of serving, so both share one way of building the site.
  int run_site(std::ostream* list_routes);
  std::unique_ptr<Parts> p_;
};

}  // namespace depesche::app
