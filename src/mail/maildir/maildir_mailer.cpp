#include "mail/maildir/maildir_mailer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "base/log.hpp"
#include "base/time.hpp"
#include "mail/address.hpp"
#include "mail/header_encoding.hpp"
#include "mail/random_token.hpp"

namespace depesche::mail {
namespace fs = std::filesystem;
namespace {
constexpr const char* kSubdirs[] = {"tmp", "new", "cur"};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  /// Closes now so the caller sees close()'s error, which can report a
  /// failed write on some file systems.
  int close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string errno_text() { return std::error_code(errno, std::system_category()).message(); }

Error unavailable(std::string_view what, const fs::path& path, std::string_view why) {
  std::string message(what);
  message += ' ';
  message += path.string();
  message += ": ";
  message += why;
  return Error{ErrorCode::unavailable, std::move(message)};
}

// The host part of a maildir name must not hold '/' or ':' (the flags
// separator); other unusual characters are dropped too, to keep names dull.
std::string host_label() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  std::string host;
  for (const char* p = buf; *p; ++p)
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        *p == '-' || *p == '.')
      host += *p;
  return host.empty() ? "localhost" : host;
}

// time.pid.random as the maildir convention suggests; the random part alone
// makes names unique across threads and processes sharing the directory.
std::string unique_name() {
  static const std::string host = host_label();
  Millis now = now_millis();
  return std::to_string(now / 1000) + ".M" + std::to_string(now % 1000 * 1000) + "P" +
         std::to_string(::getpid()) + "R" + random_hex(8) + "." + host;
}

Result<void> ensure_subdirs(const fs::path& directory) {
  for (const char* sub : kSubdirs) {
    std::error_code ec;
    fs::create_directories(directory / sub, ec);
    if (ec) return std::unexpected(unavailable("cannot create", directory / sub, ec.message()));
  }
  return {};
}

Result<void> write_synced(const fs::path& path, std::string_view data) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return std::unexpected(unavailable("cannot create", path, errno_text()));
  while (!data.empty()) {
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(unavailable("cannot write", path, errno_text()));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd.get()) != 0)
    return std::unexpected(unavailable("cannot sync", path, errno_text()));
  if (fd.close() != 0) return std::unexpected(unavailable("cannot close", path, errno_text()));
  return {};
}

// The rename is only durable once the directory entry is on disk.
Result<void> sync_directory(const fs::path& directory) {
  Fd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0)
    return std::unexpected(unavailable("cannot sync", directory, errno_text()));
  return {};
}

bool ends_url(unsigned char c) {
  return c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\'';
}
}  // namespace

std::string_view first_http_url(std::string_view text) {
  std::size_t http = text.find("http://");
  std::size_t https = text.find("https://");
  std::size_t start = std::min(http, https);
  if (start == std::string_view::npos) return {};
  std::size_t end = start;
  while (end < text.size() && !ends_url(static_cast<unsigned char>(text[end]))) ++end;
  std::string_view url = text.substr(start, end - start);
  while (!url.empty() && std::string_view(".,;:!?)]}").find(url.back()) != std::string_view::npos)
    url.remove_suffix(1);
  return url;
}

MaildirMailer::MaildirMailer(fs::path directory) : directory_(std::move(directory)) {
  for (const char* sub : kSubdirs) fs::create_directories(directory_ / sub);
}

Result<void> MaildirMailer::deliver(const Mail& mail) {
  // Recreated on each delivery so an outbox removed while running recovers.
  if (auto ok = ensure_subdirs(directory_); !ok) return ok;
  std::string name = unique_name();
  fs::path tmp = directory_ / "tmp" / name;
  fs::path final_path = directory_ / "new" / name;
  if (auto ok = write_synced(tmp, format_message(mail)); !ok) {
    ::unlink(tmp.c_str());
    return ok;
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    Error error = unavailable("cannot move the mail to", final_path, errno_text());
    ::unlink(tmp.c_str());
    return std::unexpected(std::move(error));
  }
  // Failing here may leave a mail in new/ that the outbox sends again: a
  // duplicate beats a mail lost in a crash.
  if (auto ok = sync_directory(directory_ / "new"); !ok) return ok;
  std::string to = sanitize_address(split_mailbox(mail.to).address);
  std::string path = final_path.string();
  // At any log level: without SMTP this line is how operators confirm accounts.
  log::lifecycle(
      "mail written",
      {{"to", to}, {"subject", mail.subject}, {"path", path}, {"link", first_http_url(mail.text)}});
  return {};
}

}  // namespace depesche::mail
