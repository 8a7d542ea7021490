#pragma once
// Wires the concrete parts together: the only place that knows them all.

#include <memory>
#include <string>

#include "app/config.hpp"
#include "base/error.hpp"

namespace depesche::domain {
class ArticleService;
class TokenService;
class Editions;
}  // namespace depesche::domain

namespace depesche::app {

class Application {
 public:
  /// Opens the data dir and store and migrates the schema; no network yet.
  static Result<std::unique_ptr<Application>> open(Config config);
  ~Application();

  /// Serves HTTP until SIGINT/SIGTERM; returns the process exit code.
  int serve();

  domain::ArticleService& articles();
  domain::TokenService& tokens();
  const Config& config() const;
  /// The directory holding templates/, locales/, static/ and demo/.
  std::string resource_dir() const;

  struct Parts;

 private:
  Application() = default;
  std::unique_ptr<Parts> p_;
};

}  // namespace depesche::app
