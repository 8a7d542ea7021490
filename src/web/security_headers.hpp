#pragma once

#include <string>

#include "net/http.hpp"

namespace depesche::web {

/// The headers every HTML page carries: a strict CSP without inline script
/// or style, no framing, no MIME sniffing, a privacy-preserving referrer policy.
void add_security_headers(net::Response& res);

/// The same headers pre-serialised as "Name: value\r\n" lines, for cached pages.
const std::string& security_header_lines();

}  // namespace depesche::web
