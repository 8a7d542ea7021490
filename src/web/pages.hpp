#pragma once
// The reader-facing HTML: home, section and article pages per edition, the
// edition redirect at "/", static assets, media files, localised errors.
// Anonymous pages are served from the PageCache once rendered.

#include <memory>
#include <string>

#include "domain/account_service.hpp"
#include "domain/article_service.hpp"
#include "domain/editions.hpp"
#include "domain/ticker_service.hpp"
#include "net/browser_guard.hpp"
#include "net/router.hpp"
#include "web/i18n.hpp"
#include "web/page_cache.hpp"
#include "web/page_model.hpp"
#include "web/static_files.hpp"
#include "web/templates.hpp"

namespace depesche::web {

/// Who is looking: `had_cookie` without `auth` is a stale session cookie.
struct Viewer {
  bool had_cookie = false;
  std::optional<domain::Authenticated> auth;
};

struct PagesDeps {
  domain::ArticleService& articles;
  domain::AccountService& accounts;
  const net::BrowserGuard& guard;
  const domain::Editions& editions;
  const I18n& i18n;
  const Templates& templates;
  const StaticFiles& static_files;
  PageCache& cache;
  SiteInfo site;
  std::string media_dir;  // <data dir>/media
  domain::TickerService& tickers;
  std::function<std::uint64_t(std::string_view topic)> live_seq;  // the hub's latest seq
  std::string time_zone;
};

/// The error of the first failed result among several reads, if any.
template <class... Results>
std::optional<Error> first_error(const Results&... results) {
  std::optional<Error> out;
  ((out || results ? void() : void(out = results.error())), ...);
  return out;
}

class Pages {
 public:
  explicit Pages(PagesDeps deps) : d_(std::move(deps)) {}

  /// Adds every page route to the router.
  void register_routes(net::Router& router);

  /// A localised error page (404 and friends) for any request; the edition
  /// comes from the path's first segment, else from Accept-Language.
  net::Response error_page(const net::Request& req, int status) {
    return error_page(req, status, false, {});
  }
  /// The answer to a store (or other server-side) failure while building a
  /// page: logged with the path, answered with the localised error page of
  /// the code's status (500, or 503 when the store is busy or down). Never
  /// the reader's fault, so never a 4xx, and never an exception.
  /// `edition`: the reader's, when the handler knows it better than the path.
  net::Response failure_page(const net::Request& req, const Error& error,
                             std::string_view edition = {});

  /// A private (never cached, noindex) page in the site's frame, for account
  /// and admin pages: `template_name` renders `page` inside the layout.
  net::Response private_page(const net::Request& req, int status, const std::string& edition,
                             const std::string& title, const std::string& template_name,
                             const nlohmann::json& page, const Viewer& viewer);
  Viewer viewer_of(const net::Request& req);

  /// The model's site info (public URL is known only after binding).
  SiteInfo& site() { return d_.site; }

 private:
  net::Response home(net::Request& req);
  net::Response section(net::Request& req);
  net::Response section_without_slash(net::Request& req);
  net::Response article(net::Request& req);
  net::Response media(net::Request& req);
  net::Response ticker_page(net::Request& req);
  net::Response live_blog_page(net::Request& req);
  /// The newsticker block: `ticker`'s entries in `order` from `cursor`;
  /// `page_href` is where its links point (the block's own page).
  /// `with_reference`: the request id on the page, to quote to support.
  net::Response error_page(const net::Request& req, int status, bool with_reference,
                           std::string_view edition);
  Result<nlohmann::json> ticker_model(const std::string& edition, const Catalog& cat,
                                      const std::string& ticker, const std::string& heading,
                                      domain::PageOrder order, std::optional<domain::Cursor> cursor,
                                      int limit, const std::string& page_href, bool on_own_page);
  std::optional<net::Response> cached(net::Request& req);
  net::Response render_page(const net::Request& req, int status, const std::string& template_name,
                            nlohmann::json layout, const nlohmann::json& page,
                            std::optional<std::uint64_t> cache_generation, const Viewer& viewer);

  PagesDeps d_;
};

}  // namespace depesche::web
