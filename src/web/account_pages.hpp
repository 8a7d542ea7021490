#pragma once
// The account pages under /account/: register, confirm, log in and out,
// reset a password, settings (profile, password, e-mail, export, delete).
// Plain HTML forms that work without JavaScript; every POST passes the
// BrowserGuard's origin and CSRF checks. The edition comes from `ed` (query
// or form), else the logged-in account, else Accept-Language.

#include <string>

#include "domain/account_service.hpp"
#include "domain/editions.hpp"
#include "net/browser_guard.hpp"
#include "net/router.hpp"
#include "web/i18n.hpp"
#include "web/pages.hpp"

namespace depesche::web {

class AccountPages {
 public:
  AccountPages(Pages& pages, domain::AccountService& accounts, const domain::Editions& editions,
               const I18n& i18n, const net::BrowserGuard& guard, long long session_max_age_s)
      : pages_(pages),
        accounts_(accounts),
        editions_(editions),
        i18n_(i18n),
        guard_(guard),
        session_max_age_s_(session_max_age_s) {}

  void register_routes(net::Router& router);

 private:
  net::Response show(const net::Request& req, int status, const std::string& edition,
                     const std::string& title, const std::string& template_name,
                     nlohmann::json page, const Viewer& viewer);
  net::Response message(const net::Request& req, int status, const std::string& edition,
                        const std::string& title_key, std::string message, const Viewer& viewer,
                        nlohmann::json links = nlohmann::json::array());
  std::string edition_for(const net::Request& req, std::string_view form_ed,
                          const Viewer& viewer) const;
  /// The localised message for an error from the account service.
  std::string error_text(const Error& e, const Catalog& cat) const;

  net::Response register_form(net::Request& req);
  net::Response register_submit(net::Request& req);
  net::Response confirm(net::Request& req);
  net::Response resend_form(net::Request& req);
  net::Response resend_submit(net::Request& req);
  net::Response login_form(net::Request& req);
  net::Response login_submit(net::Request& req);
  net::Response logout(net::Request& req);
  net::Response reset_request_form(net::Request& req);
  net::Response reset_request_submit(net::Request& req);
  net::Response reset_form(net::Request& req);
  net::Response reset_submit(net::Request& req);
  net::Response confirm_email(net::Request& req);
  net::Response settings(net::Request& req);
  net::Response settings_submit(net::Request& req);

  Pages& pages_;
  domain::AccountService& accounts_;
  const domain::Editions& editions_;
  const I18n& i18n_;
  const net::BrowserGuard& guard_;
  long long session_max_age_s_;
};

}  // namespace depesche::web
