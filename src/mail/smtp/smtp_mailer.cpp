#include "mail/smtp/smtp_mailer.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "mail/address.hpp"
#include "mail/header_encoding.hpp"

namespace depesche::mail {
namespace {
constexpr std::size_t kMaxReplyInError = 200;

void ensure_curl() {
  // A function-local static runs curl_global_init exactly once even when
  // the first deliveries race; curl_global_init itself is not thread-safe.
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK)
    throw std::runtime_error(std::string("libcurl failed to initialise: ") +
                             curl_easy_strerror(rc));
}

struct Upload {
  std::string_view rest;
};

std::size_t read_message(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  std::size_t n = std::min(size * count, upload->rest.size());
  std::memcpy(buffer, upload->rest.data(), n);
  upload->rest.remove_prefix(n);
  return n;
}

// Keeps the server's last error reply (4xx or 5xx): libcurl reports only a
// numeric code, and "550 5.1.1 no such user" is what an operator needs to
// see. Later lines are ignored unless they are errors too, so the "221 Bye"
// after a failure does not hide the reason. Only incoming lines are looked
// at: the AUTH line carrying the password goes out.
int keep_error_reply(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN || size == 0 || (data[0] != '4' && data[0] != '5')) return 0;
  std::string_view line(data, size);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  *static_cast<std::string*>(user) = line.substr(0, kMaxReplyInError);
  return 0;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

bool is_auth_failure(CURLcode rc, long code) {
  return rc == CURLE_LOGIN_DENIED || code == 530 || code == 534 || code == 535 || code == 538;
}

long use_ssl(const SmtpOptions& options) {
  if (options.implicit_tls) return CURLUSESSL_ALL;
  switch (options.starttls) {
    case StartTls::off: return CURLUSESSL_NONE;
    case StartTls::optional: return CURLUSESSL_TRY;
    case StartTls::required: return CURLUSESSL_ALL;
  }
  return CURLUSESSL_ALL;
}
}  // namespace

SmtpMailer::SmtpMailer(SmtpOptions options) : options_(std::move(options)) { ensure_curl(); }

Result<void> SmtpMailer::deliver(const Mail& mail) {
  ensure_curl();
  std::string sender = sanitize_address(split_mailbox(mail.from).address);
  std::string recipient = sanitize_address(split_mailbox(mail.to).address);
  if (!is_valid_address(recipient))
    return fail(ErrorCode::invalid, "not a valid recipient address", "to");
  if (!is_valid_address(sender))
    return fail(ErrorCode::invalid, "not a valid sender address", "from");

  std::string message = format_message(mail);
  Upload upload{message};
  std::string mail_from = "<" + sender + ">";
  std::unique_ptr<curl_slist, CurlDeleter> recipients(
      curl_slist_append(nullptr, ("<" + recipient + ">").c_str()));
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl || !recipients) return fail(ErrorCode::unavailable, "libcurl is out of memory");

  char error_buffer[CURL_ERROR_SIZE] = {};
  std::string error_reply;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  // Signals would break a multi-threaded server; timeouts then rely on the
  // threaded resolver, which Debian's libcurl uses.
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
  curl_easy_setopt(c, CURLOPT_USE_SSL, use_ssl(options_));
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_message);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, keep_error_reply);
  curl_easy_setopt(c, CURLOPT_DEBUGDATA, &error_reply);
  curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);  // needed for the debug function to see replies

  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) return {};
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
  if (!error_reply.empty()) detail += " (server said: " + error_reply + ")";
  if (!is_auth_failure(rc, code) && code >= 500 && code <= 599)
    return fail(ErrorCode::invalid,
                "SMTP server " + options_.endpoint + " refused the mail: " + detail);
  return fail(ErrorCode::unavailable,
              "SMTP delivery via " + options_.endpoint + " failed: " + detail);
}

}  // namespace depesche::mail
