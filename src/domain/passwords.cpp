#include "domain/passwords.hpp"

#include <sodium.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "domain/secrets.hpp"
#include "text/html.hpp"

namespace depesche::domain {
namespace {

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

Passwords::Passwords(PasswordSettings settings, std::unordered_set<std::string> common)
    : settings_(settings), common_(std::move(common)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  auto decoy = hash(random_secret(24));
  if (!decoy) throw std::runtime_error("cannot hash passwords: " + decoy.error().message);
  decoy_ = std::move(*decoy);
}

Result<void> Passwords::check(std::string_view password, std::string_view email,
                              std::string_view display_name) const {
  long chars = text::utf8_length(password);
  if (chars < 0) return fail(ErrorCode::invalid, "the password is not valid UTF-8", "password");
  if (static_cast<std::size_t>(chars) < settings_.min_chars)
    return fail(
        ErrorCode::invalid,
        "the password needs at least " + std::to_string(settings_.min_chars) + " characters",
        "password");
  if (static_cast<std::size_t>(chars) > settings_.max_chars)
    return fail(
        ErrorCode::invalid,
        "the password may have at most " + std::to_string(settings_.max_chars) + " characters",
        "password");
  std::string lower = lower_ascii(password);
  if (common_.contains(lower))
    return fail(ErrorCode::invalid, "this password is too common; choose another", "password");
  // One character repeated, counted in characters, not bytes ("ЖЖЖЖ…").
  std::size_t first = 1;
  while (first < password.size() && (static_cast<unsigned char>(password[first]) & 0xC0) == 0x80)
    ++first;
  std::string_view unit = password.substr(0, first);
  bool repeated = password.size() % unit.size() == 0;
  for (std::size_t i = 0; repeated && i < password.size(); i += unit.size())
    repeated = password.substr(i, unit.size()) == unit;
  if (repeated)
    return fail(ErrorCode::invalid, "the password must not repeat one character", "password");
  std::string local = lower_ascii(email.substr(0, email.find('@')));
  if (local.size() >= 4 && lower.find(local) != std::string::npos)
    return fail(ErrorCode::invalid, "the password must not contain your e-mail address",
                "password");
  std::string name = lower_ascii(display_name);
  if (name.size() >= 4 && lower.find(name) != std::string::npos)
    return fail(ErrorCode::invalid, "the password must not contain your name", "password");
  return {};
}

Result<std::string> Passwords::hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), settings_.argon2_passes,
                            static_cast<std::size_t>(settings_.argon2_memory_kib) * 1024,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return fail(ErrorCode::internal, "out of memory while hashing a password");
  return std::string(out);
}

bool Passwords::verify(std::string_view stored, std::string_view password) const {
  if (stored.empty() || stored.size() >= crypto_pwhash_STRBYTES) return false;
  std::string s(stored);  // libsodium wants a NUL-terminated string
  return crypto_pwhash_str_verify(s.c_str(), password.data(), password.size()) == 0;
}

Result<std::unordered_set<std::string>> Passwords::load_list(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::invalid, "cannot read the common-password list " + path);
  std::unordered_set<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    out.insert(lower_ascii(line));
  }
  return out;
}

}  // namespace depesche::domain
