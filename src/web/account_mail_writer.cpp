#include "web/account_mail_writer.hpp"

#include <nlohmann/json.hpp>

namespace depesche::web {

using domain::AccountMailKind;

Result<void> AccountMailWriter::send(const domain::AccountMail& m) {
  const Catalog& cat = i18n_.catalog(m.edition);
  std::string kind = domain::to_string(m.kind);
  std::string_view site = site_.name;
  std::string link = site_.public_url + m.link_path;
  // Links into account pages carry the edition, so the page speaks the
  // language the mail did.
  link += (m.link_path.find('?') == std::string::npos ? "?ed=" : "&ed=") + m.edition;

  Millis ttl = 0;
  if (m.kind == AccountMailKind::confirm) ttl = settings_.confirm_ttl_ms;
  if (m.kind == AccountMailKind::reset) ttl = settings_.reset_ttl_ms;
  if (m.kind == AccountMailKind::email_change) ttl = settings_.email_change_ttl_ms;
  bool unsolicited_possible =
      m.kind == AccountMailKind::confirm || m.kind == AccountMailKind::reset ||
      m.kind == AccountMailKind::email_change || m.kind == AccountMailKind::already_registered;

  std::string greeting = cat.format("mail_greeting", {{"name", std::string_view(m.display_name)}});
  std::string intro = cat.format("mail_" + kind + "_intro",
                                 {{"site", site}, {"email", std::string_view(m.new_email)}});
  std::string validity =
      ttl > 0 ? cat.format("mail_link_validity", {{"hours", std::int64_t{ttl / 3600'000}}}) : "";
  std::string ignore = unsolicited_possible ? cat.text("mail_ignore") : "";
  std::string signature = cat.format("mail_signature", {{"site", site}});

  std::string text = greeting + "\n\n" + intro + "\n\n" + link + "\n\n";
  if (!validity.empty()) text += validity + "\n";
  if (!ignore.empty()) text += ignore + "\n";
  text += "\n-- \n" + signature + "\n";

  nlohmann::json model = {
      {"lang", m.edition},    {"subject", ""},    {"greeting", greeting},
      {"intro", intro},       {"link", link},     {"action", cat.text("mail_" + kind + "_action")},
      {"validity", validity}, {"ignore", ignore}, {"signature", signature}};
  mail::Mail out;
  out.to = m.to;
  out.subject = cat.format("mail_" + kind + "_subject", {{"site", site}});
  model["subject"] = out.subject;
  out.text = std::move(text);
  out.html = templates_.render("mail", model);
  auto queued = outbox_.enqueue(kind, std::move(out));
  if (!queued) return std::unexpected(queued.error());
  return {};
}

}  // namespace depesche::web
