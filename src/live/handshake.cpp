#include "live/handshake.hpp"

#include <algorithm>
#include <cctype>

#include "live/websocket_protocol.hpp"

namespace depesche::live {
namespace {

bool header_has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    auto item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.size() == token.size() &&
        std::equal(item.begin(), item.end(), token.begin(),
                   [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; }))
      return true;
  }
  return false;
}

net::Response handshake_error(int status, std::string message) {
  return net::Response(status, "text/plain; charset=utf-8", std::move(message) + "\n");
}

}  // namespace

std::string origin_of(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string out(url.substr(0, url.find_first_of("/?#", scheme_end + 3)));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<net::Response> check_handshake(const net::Request& req,
                                             std::string_view public_origin) {
  if (req.method != net::Method::get) return handshake_error(405, "WebSocket handshakes use GET");
  if (!header_has_token(req.header("upgrade"), "websocket") ||
      !header_has_token(req.header("connection"), "upgrade")) {
    auto r = handshake_error(426, "this endpoint speaks WebSocket only");
    r.header("Upgrade", "websocket");
    return r;
  }
  if (req.header("sec-websocket-version") != "13") {
    auto r = handshake_error(426, "WebSocket version 13 is required");
    r.header("Sec-WebSocket-Version", "13");
    return r;
  }
  if (!is_valid_client_key(req.header("sec-websocket-key")))
    return handshake_error(400, "missing or malformed Sec-WebSocket-Key");
  // Browsers always send Origin; a page of another site must not use its
  // readers' connections. Scripts without Origin may read (/live carries
  // public data) but not write: the hub makes such connections read-only.
  std::string_view origin = req.header("origin");
  if (!origin.empty()) {
    std::string o = origin_of(origin);
    std::string host(req.header("host"));
    for (char& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    bool same = (!public_origin.empty() && o == public_origin) ||
                (!host.empty() && (o == "http://" + host || o == "https://" + host));
    if (!same) return handshake_error(403, "cross-origin WebSocket refused");
  }
  return std::nullopt;
}

std::string handshake_response(const net::Request& req) {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         accept_key(req.header("sec-websocket-key")) + "\r\n\r\n";
}

}  // namespace depesche::live
