#include "domain/account_service.hpp"

#include "base/log.hpp"
#include "domain/secrets.hpp"
#include "mail/address.hpp"
#include "text/html.hpp"

namespace depesche::domain {
namespace {

constexpr Millis kMinute = 60'000;
constexpr Millis kHour = 3600'000;
// Writing last_seen_at on every request would make every page view a write;
// once a minute is precise enough for a 14-day idle timeout.
constexpr Millis kTouchInterval = kMinute;
constexpr std::size_t kUserAgentChars = 200;

std::string trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::unexpected<Error> fail_with(const Error& e) { return std::unexpected(e); }

Error wrong_credentials() {
  return Error{ErrorCode::unauthorized, "the e-mail address or the password is wrong"};
}

}  // namespace

const char* to_string(AccountMailKind kind) {
  switch (kind) {
    case AccountMailKind::confirm: return "confirm";
    case AccountMailKind::already_registered: return "already_registered";
    case AccountMailKind::reset: return "reset";
    case AccountMailKind::password_changed: return "password_changed";
    case AccountMailKind::email_change: return "email_change";
    case AccountMailKind::email_change_notice: return "email_change_notice";
  }
  return "confirm";
}

AccountService::AccountService(store::Store& store, const Editions& editions,
                               const Passwords& passwords, AccountMails& mails,
                               AccountSettings settings, const Clock& clock, SharedBudgets* budgets)
    : store_(store),
      editions_(editions),
      passwords_(passwords),
      mails_(mails),
      settings_(settings),
      clock_(clock),
      login_by_email_(settings.login_per_minute, kMinute, 100'000, clock),
      login_by_client_(settings.login_per_minute, kMinute, 100'000, clock),
      register_by_client_(settings.register_per_hour, kHour, 100'000, clock),
      reset_by_email_(settings.reset_per_hour, kHour, 100'000, clock),
      reset_by_client_(settings.reset_per_hour, kHour, 100'000, clock),
      resend_by_email_(settings.resend_per_hour, kHour, 100'000, clock),
      mails_by_address_(settings.account_mails_per_hour, kHour, 100'000, clock) {
  if (budgets == nullptr) return;
  login_by_email_.share(*budgets, "login_by_email");
  login_by_client_.share(*budgets, "login_by_client");
  register_by_client_.share(*budgets, "register_by_client");
  reset_by_email_.share(*budgets, "reset_by_email");
  reset_by_client_.share(*budgets, "reset_by_client");
  resend_by_email_.share(*budgets, "resend_by_email");
  mails_by_address_.share(*budgets, "mails_by_address");
}

std::string AccountService::normalise_email(std::string_view email) {
  std::string out = trim(email);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

Result<std::string> AccountService::checked_email(std::string_view email, const char* field) const {
  std::string e = normalise_email(email);
  if (e.empty()) return fail(ErrorCode::invalid, "the e-mail address is missing", field);
  if (!mail::is_valid_address(e))
    return fail(ErrorCode::invalid, "this is not a valid e-mail address", field);
  return e;
}

Result<std::string> AccountService::checked_display_name(std::string_view name) const {
  std::string n = trim(name);
  long chars = text::utf8_length(n);
  if (chars < 0) return fail(ErrorCode::invalid, "the name is not valid UTF-8", "display_name");
  if (chars == 0) return fail(ErrorCode::invalid, "the name is missing", "display_name");
  if (static_cast<std::size_t>(chars) > settings_.display_name_max_chars)
    return fail(ErrorCode::invalid,
                "the name may have at most " + std::to_string(settings_.display_name_max_chars) +
                    " characters",
                "display_name");
  for (unsigned char c : n)
    if (c < 0x20 || c == 0x7f)
      return fail(ErrorCode::invalid, "the name contains control characters", "display_name");
  return n;
}

Result<std::string> AccountService::issue_token(std::int64_t account_id, TokenPurpose purpose,
                                                Millis ttl, std::string new_email,
                                                Registrant registrant) {
  std::string secret = random_secret();
  AccountToken t;
  t.hash = sha256_hex(secret);
  t.account_id = account_id;
  t.purpose = purpose;
  t.new_email = std::move(new_email);
  t.password_hash = std::move(registrant.password_hash);
  t.display_name = std::move(registrant.display_name);
  t.edition = std::move(registrant.edition);
  t.created_at = clock_();
  t.expires_at = t.created_at + ttl;
  if (auto r = store_.accounts().insert_token(t); !r) return std::unexpected(r.error());
  return secret;
}

Result<void> AccountService::mail(AccountMailKind kind, const Account& account,
                                  std::string link_path, std::string to, std::string new_email) {
  if (to.empty()) to = account.email;
  // A cap per address keeps Depesche from being used to flood a mailbox.
  if (mails_by_address_.hit(to) != 0) {
    log::warn("account mail dropped: too many for one address", {{"kind", to_string(kind)}});
    return {};
  }
  AccountMail m{kind,
                std::move(to),
                account.edition,
                account.display_name,
                std::move(link_path),
                std::move(new_email)};
  if (auto r = mails_.send(m); !r) {
    log::error("account mail not queued",
               {{"kind", to_string(kind)}, {"error", r.error().message}});
    return r;
  }
  return {};
}

Result<void> AccountService::register_account(const RegisterInput& in, const std::string& client) {
  auto email = checked_email(in.email, "email");
  if (!email) return std::unexpected(email.error());
  auto name = checked_display_name(in.display_name);
  if (!name) return std::unexpected(name.error());
  if (!editions_.contains(in.edition))
    return fail(ErrorCode::invalid, "unknown edition", "edition");
  if (auto ok = passwords_.check(in.password, *email, *name); !ok) return ok;
  if (auto wait = register_by_client_.hit(client); wait != 0)
    return rate_limited("too many registrations from your address; try again later", wait);
  // Every registration hashes its password, new address, unconfirmed or
  // confirmed alike: the same work, so the answer's time tells nothing
  // about the address. Before the unit of work: argon2 takes tens of
  // milliseconds and must not hold the store's writer.
  auto hash = passwords_.hash(in.password);
  if (!hash) return std::unexpected(hash.error());
  Registrant registrant{std::move(*hash), std::move(*name), in.edition};
  // The reader is told the mail is on its way only once the account, its
  // link and the mail are committed, together: a crash keeps all or none.
  auto create = [&] { return create_or_notify(*email, registrant); };
  auto done = store::in_transaction(store_, create);
  // Another node registered the address between our read and our insert:
  // the second attempt finds it and treats it as known.
  if (!done && done.error().code == ErrorCode::conflict)
    done = store::in_transaction(store_, create);
  if (!done) log::error("registration failed", {{"error", done.error().message}});
  return done;
}

Result<void> AccountService::create_or_notify(const std::string& email,
                                              const Registrant& registrant) {
  auto existing = store_.accounts().by_email(email);
  if (!existing && existing.error().code != ErrorCode::not_found)
    return std::unexpected(existing.error());
  if (!existing) {
    Account a;
    a.email = email;
    a.display_name = registrant.display_name;
    a.password_hash = registrant.password_hash;
    a.role = Role::reader;
    a.edition = registrant.edition;
    a.created_at = clock_();
    auto stored = store_.accounts().insert(a);
    if (!stored) return std::unexpected(stored.error());
    auto token =
        issue_token(stored->id, TokenPurpose::confirm, settings_.confirm_ttl_ms, {}, registrant);
    if (!token) return std::unexpected(token.error());
    if (auto m = mail(AccountMailKind::confirm, *stored, "/account/confirm?token=" + *token); !m)
      return m;
    store_.after_commit([id = stored->id] {
      log::info("account registered", {{"account_id", id}});
    });
    return {};
  }
  if (existing->confirmed())
    return mail(AccountMailKind::already_registered, *existing, "/account/login");
  // Someone registered this address before and never confirmed: this
  // registration's link carries this registration's password. Only the
  // newest registration's link works: an older one would set the password
  // someone else chose.
  if (auto r = store_.accounts().retire_tokens(existing->id, TokenPurpose::confirm, clock_()); !r)
    return r;
  auto token =
      issue_token(existing->id, TokenPurpose::confirm, settings_.confirm_ttl_ms, {}, registrant);
  if (!token) return std::unexpected(token.error());
  return mail(AccountMailKind::confirm, *existing, "/account/confirm?token=" + *token);
}

Result<AccountService::UsedToken> AccountService::use_token(std::string_view token,
                                                            TokenPurpose purpose) {
  if (token.empty() || token.size() > 100)
    return fail(ErrorCode::invalid, "this link is not valid", "token");
  auto t = store_.accounts().consume_token(sha256_hex(token), purpose, clock_());
  if (!t) {
    if (t.error().code == ErrorCode::not_found)
      return fail(ErrorCode::invalid, "this link is not valid", "token");
    return std::unexpected(Error{t.error().code, t.error().message, "token"});
  }
  auto account = store_.accounts().by_id(t->account_id);
  if (!account || account->deleted()) return fail(ErrorCode::invalid, "this link is not valid");
  if (purpose == TokenPurpose::email_change) account->email = t->new_email;
  return UsedToken{std::move(*account), std::move(*t)};
}

Result<Account> AccountService::confirm(std::string_view token) {
  // The link is used up together with what it changes, or not at all.
  return store::in_transaction(store_, [&] { return confirm_in_unit(token); });
}

Result<Account> AccountService::confirm_in_unit(std::string_view token) {
  auto used = use_token(token, TokenPurpose::confirm);
  if (!used) return std::unexpected(used.error());
  Account& a = used->account;
  Millis now = clock_();
  // Whoever follows the link proves the address; sessions opened before by
  // whoever registered it end, and the password becomes the one given with
  // the registration that asked for this link (an earlier registrant's
  // password, chosen without access to the mailbox, no longer works).
  if (!a.confirmed()) {
    if (!used->token.password_hash.empty()) {
      if (auto r = store_.accounts().set_password(a.id, used->token.password_hash); !r)
        return std::unexpected(r.error());
    } else if (auto r = store_.accounts().end_sessions(a.id); !r) {
      return std::unexpected(r.error());
    }
    // The name and edition are the confirming registrant's too, not a
    // squatter's.
    if (!used->token.display_name.empty() && editions_.contains(used->token.edition))
      if (auto r =
              store_.accounts().set_profile(a.id, used->token.display_name, used->token.edition);
          !r)
        return std::unexpected(r.error());
  }
  if (auto r = store_.accounts().set_confirmed(a.id, now); !r) return std::unexpected(r.error());
  store_.after_commit([id = a.id] { log::info("account confirmed", {{"account_id", id}}); });
  return store_.accounts().by_id(a.id);
}

bool AccountService::was_confirmed_by(std::string_view token) {
  if (token.empty() || token.size() > 100) return false;
  auto t = store_.accounts().peek_token(sha256_hex(token), TokenPurpose::confirm);
  if (!t || !t->used_at) return false;
  auto a = store_.accounts().by_id(t->account_id);
  return a && a->confirmed() && !a->deleted();
}

Result<void> AccountService::resend_confirmation(std::string_view email_in,
                                                 const std::string& client) {
  auto email = checked_email(email_in, "email");
  if (!email) return std::unexpected(email.error());
  if (auto wait = resend_by_email_.hit(*email); wait != 0)
    return rate_limited("a confirmation mail was sent recently; try again later", wait);
  if (auto wait = register_by_client_.hit(client); wait != 0)
    return rate_limited("too many requests from your address; try again later", wait);
  return store_.transact([&]() -> Result<void> {
    auto a = store_.accounts().by_email(*email);
    if (!a) return a.error().code == ErrorCode::not_found ? Result<void>{} : fail_with(a.error());
    if (a->confirmed()) return {};
    // The new link replaces the pending one and carries its password: a
    // link without one would confirm whichever password the first
    // registrant chose, and that may not be the owner of the mailbox.
    auto pending = store_.accounts().newest_unused_token(a->id, TokenPurpose::confirm);
    Registrant carried =
        pending ? Registrant{pending->password_hash, pending->display_name, pending->edition}
                : Registrant{a->password_hash, a->display_name, a->edition};
    if (auto r = store_.accounts().retire_tokens(a->id, TokenPurpose::confirm, clock_()); !r)
      return r;
    auto token = issue_token(a->id, TokenPurpose::confirm, settings_.confirm_ttl_ms, {}, carried);
    if (!token) return std::unexpected(token.error());
    return mail(AccountMailKind::confirm, *a, "/account/confirm?token=" + *token);
  });
}

Result<LoginResult> AccountService::open_session(const Account& account,
                                                 std::string_view user_agent) {
  std::string secret = random_secret();
  Session s;
  s.id_hash = sha256_hex(secret);
  s.account_id = account.id;
  s.created_at = clock_();
  s.last_seen_at = s.created_at;
  s.user_agent = std::string(user_agent.substr(0, kUserAgentChars));
  while (text::utf8_length(s.user_agent) < 0) s.user_agent.pop_back();  // cut mid-character
  if (auto r = store_.accounts().insert_session(s); !r) return std::unexpected(r.error());
  return LoginResult{account, std::move(secret)};
}

Result<LoginResult> AccountService::login(std::string_view email_in, std::string_view password,
                                          const std::string& client, std::string_view user_agent) {
  std::string email = normalise_email(email_in);
  if (email.empty() || email.size() > 254 || password.empty() || password.size() > 1024)
    return std::unexpected(wrong_credentials());
  // The client's budget first: attempts it refuses do not count against the
  // address, so one client cannot lock out an account it does not own.
  if (Millis wait = login_by_client_.hit(client); wait != 0)
    return rate_limited("too many login attempts; try again later", wait);
  if (Millis wait = login_by_email_.hit("login:" + email); wait != 0)
    return rate_limited("too many login attempts; try again later", wait);
  auto account = store_.accounts().by_email(email);
  if (!account && account.error().code != ErrorCode::not_found)
    return std::unexpected(account.error());
  // Verify against a decoy for unknown addresses: the same work, the same time.
  bool ok = passwords_.verify(account ? account->password_hash : passwords_.decoy_hash(), password);
  if (!account || !ok) return std::unexpected(wrong_credentials());
  login_by_email_.reset("login:" + email);
  log::info("login", {{"account_id", account->id}});
  return open_session(*account, user_agent);
}

Result<Authenticated> AccountService::authenticate(std::string_view secret) {
  if (secret.empty() || secret.size() > 100) return fail(ErrorCode::unauthorized, "not logged in");
  std::string hash = sha256_hex(secret);
  auto s = store_.accounts().session(hash);
  if (!s) {
    if (s.error().code == ErrorCode::not_found)
      return fail(ErrorCode::unauthorized, "not logged in");
    return std::unexpected(s.error());
  }
  Millis now = clock_();
  if (now - s->last_seen_at > settings_.session_idle_ms ||
      now - s->created_at > settings_.session_absolute_ms) {
    (void)store_.accounts().delete_session(hash);
    return fail(ErrorCode::unauthorized, "the session has expired; log in again");
  }
  auto a = store_.accounts().by_id(s->account_id);
  if (!a || a->deleted()) return fail(ErrorCode::unauthorized, "not logged in");
  if (now - s->last_seen_at > kTouchInterval) {
    (void)store_.accounts().touch_session(hash, now);
    s->last_seen_at = now;
  }
  return Authenticated{std::move(*a), std::move(*s)};
}

Result<void> AccountService::logout(std::string_view secret) {
  if (secret.empty() || secret.size() > 100) return {};
  return store_.accounts().delete_session(sha256_hex(secret));
}

Result<void> AccountService::request_reset(std::string_view email_in, const std::string& client) {
  auto email = checked_email(email_in, "email");
  if (!email) return std::unexpected(email.error());
  // Keyed by the address asked for, known or not, so the limit says nothing
  // about whether it has an account.
  Millis wait = std::max(reset_by_email_.hit(*email), reset_by_client_.hit(client));
  if (wait != 0) return rate_limited("too many reset requests; try again later", wait);
  return store_.transact([&]() -> Result<void> {
    auto a = store_.accounts().by_email(*email);
    if (!a) return a.error().code == ErrorCode::not_found ? Result<void>{} : fail_with(a.error());
    auto token = issue_token(a->id, TokenPurpose::reset, settings_.reset_ttl_ms);
    if (!token) return std::unexpected(token.error());
    return mail(AccountMailKind::reset, *a, "/account/reset?token=" + *token);
  });
}

Result<Account> AccountService::reset_password(std::string_view token,
                                               std::string_view new_password) {
  if (token.empty() || token.size() > 100)
    return fail(ErrorCode::invalid, "this link is not valid", "token");
  // Check the new password before using up the link, so a rejected password
  // can be corrected with the same link.
  auto peeked = store_.accounts().peek_token(sha256_hex(token), TokenPurpose::reset);
  if (!peeked) return fail(ErrorCode::invalid, "this link is not valid", "token");
  auto owner = store_.accounts().by_id(peeked->account_id);
  if (!owner || owner->deleted())
    return fail(ErrorCode::invalid, "this link is not valid", "token");
  if (!peeked->used_at && peeked->expires_at > clock_())
    if (auto ok = passwords_.check(new_password, owner->email, owner->display_name); !ok)
      return std::unexpected(ok.error());
  auto hash = passwords_.hash(new_password);  // before the unit: it is slow
  if (!hash) return std::unexpected(hash.error());
  return store::in_transaction(store_, [&]() -> Result<Account> {
    auto used = use_token(token, TokenPurpose::reset);
    if (!used) return std::unexpected(used.error());
    const Account& a = used->account;
    if (auto r = store_.accounts().set_password(a.id, *hash); !r) return std::unexpected(r.error());
    // Following a mailed link proves the address, as a confirmation does.
    if (!a.confirmed())
      if (auto r = store_.accounts().set_confirmed(a.id, clock_()); !r)
        return std::unexpected(r.error());
    if (auto m = mail(AccountMailKind::password_changed, a, "/account/reset-request"); !m)
      return std::unexpected(m.error());
    store_.after_commit([id = a.id] { log::info("password reset", {{"account_id", id}}); });
    return store_.accounts().by_id(a.id);
  });
}

Result<LoginResult> AccountService::change_password(std::int64_t account_id,
                                                    std::string_view current,
                                                    std::string_view new_password,
                                                    std::string_view user_agent) {
  auto a = store_.accounts().by_id(account_id);
  if (!a || a->deleted()) return fail(ErrorCode::unauthorized, "not logged in");
  if (auto wait = login_by_email_.hit("login:" + a->email); wait != 0)
    return rate_limited("too many attempts; try again later", wait);
  if (!passwords_.verify(a->password_hash, current))
    return fail(ErrorCode::invalid, "the current password is wrong", "current_password",
                reason::wrong_password);
  if (auto ok = passwords_.check(new_password, a->email, a->display_name); !ok)
    return std::unexpected(ok.error());
  auto hash = passwords_.hash(new_password);
  if (!hash) return std::unexpected(hash.error());
  return store::in_transaction(store_, [&]() -> Result<LoginResult> {
    if (auto r = store_.accounts().set_password(a->id, *hash); !r)
      return std::unexpected(r.error());
    if (auto m = mail(AccountMailKind::password_changed, *a, "/account/reset-request"); !m)
      return std::unexpected(m.error());
    store_.after_commit([id = a->id] { log::info("password changed", {{"account_id", id}}); });
    return open_session(*a, user_agent);
  });
}

Result<void> AccountService::request_email_change(std::int64_t account_id,
                                                  std::string_view password,
                                                  std::string_view new_email_in) {
  auto a = store_.accounts().by_id(account_id);
  if (!a || a->deleted()) return fail(ErrorCode::unauthorized, "not logged in");
  auto new_email = checked_email(new_email_in, "email");
  if (!new_email) return std::unexpected(new_email.error());
  if (*new_email == a->email)
    return fail(ErrorCode::invalid, "this is already your address", "email", reason::same_address);
  if (auto wait = login_by_email_.hit("login:" + a->email); wait != 0)
    return rate_limited("too many attempts; try again later", wait);
  if (!passwords_.verify(a->password_hash, password))
    return fail(ErrorCode::invalid, "the password is wrong", "password", reason::wrong_password);
  return store_.transact([&]() -> Result<void> {
    auto taken = store_.accounts().by_email(*new_email);
    if (taken)  // Tell the owner of that address, not the asker, that it has an account.
      return mail(AccountMailKind::already_registered, *taken, "/account/login");
    if (taken.error().code != ErrorCode::not_found) return std::unexpected(taken.error());
    auto token =
        issue_token(a->id, TokenPurpose::email_change, settings_.email_change_ttl_ms, *new_email);
    if (!token) return std::unexpected(token.error());
    if (auto m = mail(AccountMailKind::email_change, *a, "/account/confirm-email?token=" + *token,
                      *new_email);
        !m)
      return m;
    return mail(AccountMailKind::email_change_notice, *a, "/account/settings", {}, *new_email);
  });
}

Result<Account> AccountService::confirm_email_change(std::string_view token) {
  return store::in_transaction(store_, [&]() -> Result<Account> {
    auto used = use_token(token, TokenPurpose::email_change);
    if (!used) return std::unexpected(used.error());
    const Account& a = used->account;
    if (auto r = store_.accounts().set_email(a.id, a.email); !r) {
      if (r.error().code == ErrorCode::conflict)
        return fail(ErrorCode::invalid, "this address has an account by now", "token");
      return std::unexpected(r.error());
    }
    if (auto r = store_.accounts().set_confirmed(a.id, clock_()); !r)
      return std::unexpected(r.error());
    store_.after_commit([id = a.id] { log::info("e-mail address changed", {{"account_id", id}}); });
    return store_.accounts().by_id(a.id);
  });
}

Result<Account> AccountService::update_profile(std::int64_t account_id,
                                               std::string_view display_name,
                                               std::string_view edition) {
  auto name = checked_display_name(display_name);
  if (!name) return std::unexpected(name.error());
  if (!editions_.contains(edition)) return fail(ErrorCode::invalid, "unknown edition", "edition");
  if (auto r = store_.accounts().set_profile(account_id, *name, edition); !r)
    return std::unexpected(r.error());
  return store_.accounts().by_id(account_id);
}

Result<void> AccountService::delete_account(std::int64_t account_id, std::string_view password) {
  auto a = store_.accounts().by_id(account_id);
  if (!a || a->deleted()) return fail(ErrorCode::unauthorized, "not logged in");
  if (auto wait = login_by_email_.hit("login:" + a->email); wait != 0)
    return rate_limited("too many attempts; try again later", wait);
  if (!passwords_.verify(a->password_hash, password))
    return fail(ErrorCode::invalid, "the password is wrong", "password", reason::wrong_password);
  if (auto r = store_.accounts().mark_deleted(account_id, clock_()); !r) return r;
  log::info("account deleted", {{"account_id", account_id}});
  return {};
}

Result<AccountExport> AccountService::export_data(std::int64_t account_id) {
  auto a = store_.accounts().by_id(account_id);
  if (!a) return std::unexpected(a.error());
  auto sessions = store_.accounts().sessions_of(account_id);
  if (!sessions) return std::unexpected(sessions.error());
  return AccountExport{std::move(*a), std::move(*sessions)};
}

Result<Account> AccountService::set_role(const Account& actor, std::int64_t target_id, Role role) {
  if (actor.role != Role::admin) return fail(ErrorCode::forbidden, "only admins change roles");
  if (actor.id == target_id)
    return fail(ErrorCode::forbidden, "admins cannot change their own role");
  auto target = store_.accounts().by_id(target_id);
  if (!target || target->deleted()) return fail(ErrorCode::not_found, "no such account");
  if (auto r = store_.accounts().set_role(target_id, role); !r) return std::unexpected(r.error());
  log::info("role changed",
            {{"account_id", target_id}, {"role", to_string(role)}, {"by", actor.id}});
  return store_.accounts().by_id(target_id);
}

Result<Account> AccountService::create_confirmed(std::string_view email_in,
                                                 std::string_view password,
                                                 std::string_view display_name, Role role) {
  auto email = checked_email(email_in, "email");
  if (!email) return std::unexpected(email.error());
  auto name = checked_display_name(display_name);
  if (!name) return std::unexpected(name.error());
  if (auto ok = passwords_.check(password, *email, *name); !ok) return std::unexpected(ok.error());
  auto hash = passwords_.hash(password);
  if (!hash) return std::unexpected(hash.error());
  Account a;
  a.email = *email;
  a.display_name = *name;
  a.password_hash = std::move(*hash);
  a.role = role;
  a.edition = editions_.default_code();
  a.created_at = clock_();
  a.confirmed_at = a.created_at;
  return store_.accounts().insert(a);
}

Result<Account> AccountService::by_id(std::int64_t id) { return store_.accounts().by_id(id); }

}  // namespace depesche::domain
