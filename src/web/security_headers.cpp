#include "web/security_headers.hpp"

#include <array>
#include <utility>

namespace depesche::web {
namespace {
constexpr std::array<std::pair<const char*, const char*>, 5> kHeaders = {{
    {"Content-Security-Policy",
     "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
     "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
     "form-action 'self'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "strict-origin-when-cross-origin"},
    {"X-Frame-Options", "DENY"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
}};
}  // namespace

void add_security_headers(net::Response& res) {
  for (const auto& [k, v] : kHeaders) res.header(k, v);
}

const std::string& security_header_lines() {
  static const std::string lines = [] {
    std::string s;
    for (const auto& [k, v] : kHeaders) s += std::string(k) + ": " + v + "\r\n";
    return s;
  }();
  return lines;
}

}  // namespace depesche::web
