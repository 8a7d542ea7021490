#pragma once
// The account life cycle: register, confirm by mailed link, log in and out,
// sessions with idle and absolute timeouts, password reset and change, new
// e-mail address with re-confirmation, deletion and export, roles.
//
// Answers never reveal whether an address has an account: register, resend
// and reset-request give the same answer for known and unknown addresses
// and do the same expensive work for both (registration hashes the
// password either way; login verifies against a decoy hash for unknown
// addresses). What they change, and the mail they send, is committed in one
// unit of work before they answer, so nothing a reader was told happened
// is lost in a crash.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "domain/account.hpp"
#include "domain/account_mails.hpp"
#include "domain/editions.hpp"
#include "domain/passwords.hpp"
#include "domain/rate_limiter.hpp"
#include "store/store.hpp"

namespace depesche::domain {

struct AccountSettings {
  Millis confirm_ttl_ms = 48LL * 3600'000;
  Millis reset_ttl_ms = 2LL * 3600'000;
  Millis email_change_ttl_ms = 48LL * 3600'000;
  Millis session_idle_ms = 14LL * 24 * 3600'000;
  Millis session_absolute_ms = 30LL * 24 * 3600'000;
  std::size_t display_name_max_chars = 60;
  // Rate limits: attempts per window, per key.
  int login_per_minute = 6;        // per account and per client address
  int register_per_hour = 10;      // per client address
  int reset_per_hour = 5;          // per address asked for and per client address
  int resend_per_hour = 3;         // per address asked for
  int account_mails_per_hour = 5;  // any account mail to one address
};

struct RegisterInput {
  std::string email;
  std::string password;
  std::string display_name;
  std::string edition;
};

/// A logged-in browser: the account and the secret for its cookie.
struct LoginResult {
  Account account;
  std::string session_secret;
};

struct Authenticated {
  Account account;
  Session session;
};

struct AccountExport {
  Account account;
  std::vector<Session> sessions;
};

class AccountService {
 public:
  using Clock = std::function<Millis()>;

  /// `budgets`: where the rate limits live when several nodes share them;
  /// null keeps them in this process.
  AccountService(store::Store& store, const Editions& editions, const Passwords& passwords,
                 AccountMails& mails, AccountSettings settings = {},
                 const Clock& clock = now_millis, SharedBudgets* budgets = nullptr);

  /// invalid for bad input, rate_limited (retry_after_ms set) when the client
  /// address has registered too often; otherwise success, whether or not
  /// the address is known. A known address gets a notice (or, when still
  /// unconfirmed, a fresh confirmation link) instead of a second account.
  Result<void> register_account(const RegisterInput& input, const std::string& client);
  /// Confirms the address behind a mailed token. invalid when the link is
  /// unknown, used or expired.
  Result<Account> confirm(std::string_view token);
  /// True when `token` is a confirmation link already used (or replaced)
  /// and its account is confirmed: mail scanners often open links before
  /// their reader does, who should then hear "already confirmed", not
  /// "not valid". Changes nothing.
  bool was_confirmed_by(std::string_view token);
  /// Mails a fresh confirmation link when the address has an unconfirmed
  /// account; the same answer otherwise.
  Result<void> resend_confirmation(std::string_view email, const std::string& client);

  /// unauthorized for a wrong address or password (one message for both),
  /// rate_limited after too many attempts for the address or the client.
  Result<LoginResult> login(std::string_view email, std::string_view password,
                            const std::string& client, std::string_view user_agent);
  /// The account behind a session cookie; unauthorized when the session is
  /// unknown, idle too long or too old (and then deleted).
  Result<Authenticated> authenticate(std::string_view session_secret);
  Result<void> logout(std::string_view session_secret);

  Result<void> request_reset(std::string_view email, const std::string& client);
  /// Sets a new password from a mailed link; ends every session.
  Result<Account> reset_password(std::string_view token, std::string_view new_password);
  /// Ends every session, then opens one for the browser that asked.
  Result<LoginResult> change_password(std::int64_t account_id, std::string_view current,
                                      std::string_view new_password, std::string_view user_agent);
  /// Mails a confirmation link to the new address and a notice to the old.
  Result<void> request_email_change(std::int64_t account_id, std::string_view password,
                                    std::string_view new_email);
  Result<Account> confirm_email_change(std::string_view token);
  Result<Account> update_profile(std::int64_t account_id, std::string_view display_name,
                                 std::string_view edition);
  /// Deletes the account after checking the password; content it wrote
  /// later shows "deleted user".
  Result<void> delete_account(std::int64_t account_id, std::string_view password);
  Result<AccountExport> export_data(std::int64_t account_id);

  /// Admins change roles of others (never their own, so one cannot lock out
  /// the last admin by accident).
  Result<Account> set_role(const Account& actor, std::int64_t target_id, Role role);
  /// For `depesche user create`: a confirmed account with a role.
  Result<Account> create_confirmed(std::string_view email, std::string_view password,
                                   std::string_view display_name, Role role);
  Result<Account> by_id(std::int64_t id);

  /// Only confirmed accounts may post comments and chat messages.
  static bool may_post(const Account& a) { return a.confirmed() && !a.deleted(); }
  /// Trimmed, lower-case; the form addresses are stored and compared in.
  static std::string normalise_email(std::string_view email);

 private:
  Result<std::string> checked_email(std::string_view email, const char* field) const;
  Result<std::string> checked_display_name(std::string_view name) const;
  /// What a confirmation link carries from the registration that asked for
  /// it; confirming applies it.
  struct Registrant {
    std::string password_hash;
    std::string display_name;
    std::string edition;
  };
  Result<std::string> issue_token(std::int64_t account_id, TokenPurpose purpose, Millis ttl,
                                  std::string new_email = {}, Registrant registrant = {});
  /// register_account's part inside its unit of work.
  Result<void> create_or_notify(const std::string& email, const Registrant& registrant);
  Result<Account> confirm_in_unit(std::string_view token);
  struct UsedToken {
    Account account;  // with the token's new e-mail applied for email_change
    AccountToken token;
  };
  Result<UsedToken> use_token(std::string_view token, TokenPurpose purpose);
  Result<LoginResult> open_session(const Account& account, std::string_view user_agent);
  /// Queues the mail in the caller's unit of work; success without a mail
  /// when the address had too many lately (on purpose: no mailbox floods).
  Result<void> mail(AccountMailKind kind, const Account& account, std::string link_path,
                    std::string to = {}, std::string new_email = {});

  store::Store& store_;
  const Editions& editions_;
  const Passwords& passwords_;
  AccountMails& mails_;
  AccountSettings settings_;
  Clock clock_;
  RateLimiter login_by_email_, login_by_client_, register_by_client_, reset_by_email_,
      reset_by_client_, resend_by_email_, mails_by_address_;
};

}  // namespace depesche::domain
