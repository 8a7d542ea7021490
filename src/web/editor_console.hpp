#pragma once
// The editors' newsticker console under /admin/tickers/{id}: post, edit,
// pin and delete entries from the browser, without JavaScript. Editors and
// admins only; every POST passes the BrowserGuard's checks. (The full
// editor UI for articles comes later; this is what a breaking-news evening
// needs.)

#include <cstdint>
#include <map>
#include <string>

#include "domain/editions.hpp"
#include "domain/ticker_service.hpp"
#include "net/browser_guard.hpp"
#include "net/router.hpp"
#include "web/i18n.hpp"
#include "web/pages.hpp"

namespace depesche::web {

class EditorConsole {
 public:
  EditorConsole(Pages& pages, domain::TickerService& tickers, const domain::Editions& editions,
                const I18n& i18n, const net::BrowserGuard& guard)
      : pages_(pages), tickers_(tickers), editions_(editions), i18n_(i18n), guard_(guard) {}

  void register_routes(net::Router& router);

 private:
  /// The editor looking, or the response to send instead (login redirect, 403).
  std::optional<net::Response> refuse(const net::Request& req, const Viewer& viewer) const;
  net::Response show(net::Request& req);
  net::Response post_entry(net::Request& req);
  net::Response change_entry(net::Request& req);
  net::Response change_blog_state(net::Request& req);

  /// A refused form as the editor typed it, to fill the form in again.
  struct Draft {
    std::int64_t entry = 0;  // the entry whose edit form it was; 0: the new-entry form
    std::map<std::string, std::string> fields;
  };
  /// The console page for `ticker` in its edition's language. `error` is
  /// shown already translated; `draft`, when given, refills its form.
  net::Response render(const net::Request& req, int status, const std::string& ticker,
                       const Viewer& viewer, const std::string& notice, const std::string& error,
                       const Draft* draft = nullptr);
  /// 413 for a form over the console's limit, which the page explains.
  net::Response too_large(const net::Request& req, const std::string& ticker, const Viewer& viewer);
  /// The console again with the service's refusal in words, at the code's
  /// status; a server-side failure is the error page instead.
  net::Response refused(const net::Request& req, const std::string& ticker, const Viewer& viewer,
                        const Error& error, const Catalog& cat, const Draft* draft);

  Pages& pages_;
  domain::TickerService& tickers_;
  const domain::Editions& editions_;
  const I18n& i18n_;
  const net::BrowserGuard& guard_;
};

}  // namespace depesche::web
