#pragma once
// The WebSocket handshake at /live (RFC 6455 4.2): checked on the HTTP I/O
// thread before the socket leaves the server for a hub loop.

#include <optional>
#include <string>
#include <string_view>

#include "net/http.hpp"

namespace depesche::live {

/// "scheme://host[:port]" of a URL, lower-cased; empty when it has none.
std::string origin_of(std::string_view url);

/// Checks method, Upgrade/Connection, version, key and Origin (when sent,
/// it must name this site: the Host header or `public_origin`). nullopt
/// to accept, else the error response to send.
std::optional<net::Response> check_handshake(const net::Request& req,
                                             std::string_view public_origin);

/// The 101 answer to a handshake that passed the check.
std::string handshake_response(const net::Request& req);

}  // namespace depesche::live
