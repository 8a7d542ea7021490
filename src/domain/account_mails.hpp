#pragma once
// What the account service asks to be mailed. The service decides who gets
// which mail and makes the links; an AccountMails implementation (web/)
// writes the text in the account's edition and queues it in the outbox.

#include <string>

#include "base/error.hpp"

namespace depesche::domain {

enum class AccountMailKind {
  confirm,              // confirm a new registration
  already_registered,   // someone registered with an address that has an account
  reset,                // a password reset link
  password_changed,     // notice after a reset or change
  email_change,         // confirm a new address (sent to the new one)
  email_change_notice,  // the address is being changed (sent to the old one)
};

const char* to_string(AccountMailKind kind);

struct AccountMail {
  AccountMailKind kind = AccountMailKind::confirm;
  std::string to;
  std::string edition;
  std::string display_name;
  std::string link_path;  // "/account/confirm?token=...": the site's public URL goes in front
  std::string new_email;  // email_change_notice only
};

class AccountMails {
 public:
  virtual ~AccountMails() = default;
  /// Composes and queues the mail; blocks on the store.
  virtual Result<void> send(const AccountMail& mail) = 0;
};

}  // namespace depesche::domain
