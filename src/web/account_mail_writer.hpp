#pragma once
// Writes the account mails (confirm, reset, ...) in the account's edition:
// subject and text from the catalog, an HTML part from templates/mail.mustache
// (escaped like every page), and queues them in the durable outbox.

#include "domain/account_mails.hpp"
#include "domain/account_service.hpp"
#include "domain/mail_outbox.hpp"
#include "web/i18n.hpp"
#include "web/page_model.hpp"
#include "web/templates.hpp"

namespace depesche::web {

class AccountMailWriter final : public domain::AccountMails {
 public:
  /// `site` is read at send time (its public URL is known only after binding).
  AccountMailWriter(const I18n& i18n, const Templates& templates, domain::MailOutbox& outbox,
                    const SiteInfo& site, const domain::AccountSettings& settings)
      : i18n_(i18n), templates_(templates), outbox_(outbox), site_(site), settings_(settings) {}

  Result<void> send(const domain::AccountMail& mail) override;

 private:
  const I18n& i18n_;
  const Templates& templates_;
  domain::MailOutbox& outbox_;
  const SiteInfo& site_;
  const domain::AccountSettings& settings_;
};

}  // namespace depesche::web
