#pragma once
// What the server makes of a request head Beast has parsed, before any
// handler sees it: the framing checks Beast leaves to us and the target
// split into path and query. Kept apart from the connection loop so that
// the fuzz targets (tests/fuzz) run exactly this code on hostile bytes.

#include <algorithm>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <optional>
#include <string_view>

#include "net/http.hpp"

namespace depesche::net {

/// Beast's string_body reserves the whole Content-Length before a byte of
/// the body has come, so a client's declared size alone cost the server
/// that much (and a megabyte hole in the heap per slow body). This one
/// reserves at most 64 KiB up front and grows with what arrives.
struct ArrivingStringBody : boost::beast::http::string_body {
  class reader : public boost::beast::http::string_body::reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>& h, value_type& body)
        : boost::beast::http::string_body::reader(h, body), body_(body) {}
    void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
      static constexpr std::uint64_t kUpFront = 64 * 1024;
      if (length) body_.reserve(static_cast<std::size_t>(std::min(*length, kUpFront)));
      ec = {};
    }

   private:
    value_type& body_;
  };
};

using RequestMessage = boost::beast::http::request<ArrivingStringBody>;

/// RFC 9112 3.2, 6.1, 6.3: Host and Transfer-Encoding. Checked before any
/// body is read or 100 Continue sent, since a head that fails leaves no
/// reliable way to find the body's end.
std::optional<FramingError> check_head(const RequestMessage& msg);

/// RFC 9112 3.2.2: the absolute form ("GET http://host/p") that proxies
/// send, reduced to its path and query; other targets as they are.
std::string_view origin_form(std::string_view target);

/// Fills `req.path` (percent-decoded) and `req.query` from a request
/// target; a target that is not a path, does not decode or holds a NUL is
/// a 400 (and the connection closes after it).
std::optional<FramingError> read_target(std::string_view target, Request& req);

}  // namespace depesche::net
