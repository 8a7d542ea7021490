// Bytes as a client sends them, through what the server does before a
// handler runs: Beast's parser with the server's default limits, the
// framing checks (net/request_head), the target split and decoded, the
// query parsed, and the route matched in a table shaped like the site's.
// A request the checks let through has a path that starts with '/' and
// holds no NUL, whatever the bytes were.

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <string>

#include "fuzz_target.hpp"
#include "net/request_head.hpp"
#include "net/router.hpp"

using namespace depesche;
namespace http = boost::beast::http;

namespace {

// The server's defaults (app/config.hpp: server.max_header_bytes, server.max_body_bytes).
constexpr std::uint32_t kHeaderLimit = 16 * 1024;
constexpr std::uint64_t kBodyLimit = 1024 * 1024;

const net::Router& site_router() {
  static const net::Router router = [] {
    net::Router r;
    auto ok = [](net::Request&) { return net::Response(200, "text/plain", "ok"); };
    using M = net::Method;
    const net::Access open{net::Who::anyone, net::Via::nothing};
    for (const char* p :
         {"/", "/healthz", "/readyz", "/metrics", "/live", "/static/{*path}", "/{ed}/",
          "/{ed}/{section}/", "/{ed}/{section}/{slug}", "/{ed}/ticker/", "/{ed}/account/login",
          "/api/v1/articles", "/api/v1/articles/{id}", "/api/v1/tickers/{slug}/entries",
          "/api/v1/tickers/{slug}/entries/{id}", "/api/v1/auth/register"})
      r.add({M::get}, p, open, ok);
    r.add({M::post, M::patch, M::del}, "/api/v1/articles/{id}", open, ok);
    r.add({M::post}, "/api/v1/tickers/{slug}/entries", open, ok);
    return r;
  }();
  return router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = fuzz::as_text(data, size);
  http::request_parser<net::ArrivingStringBody> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(kBodyLimit);
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (used < input.size() && !parser.is_done()) {
    std::size_t n = parser.put(boost::asio::buffer(input.data() + used, input.size() - used), ec);
    if (ec == http::error::need_more) break;
    if (ec) return 0;  // refused by the parser: the server answers 4xx and closes
    if (n == 0) break;
    used += n;
  }
  if (!parser.is_header_done()) return 0;
  net::RequestMessage& msg = parser.get();
  if (net::check_head(msg)) return 0;
  net::Request req;
  req.method =
      net::parse_method(std::string_view(msg.method_string().data(), msg.method_string().size()));
  req.target.assign(msg.target().data(), msg.target().size());
  if (net::read_target(req.target, req)) return 0;
  fuzz::expect(!req.path.empty() && req.path[0] == '/', "path starts with /", input);
  fuzz::expect(req.path.find('\0') == std::string::npos, "path holds no NUL", input);
  for (const auto& [key, value] : net::parse_query(req.query))
    fuzz::expect(key.size() + value.size() <= req.query.size() + 1, "query no longer", input);
  auto match = site_router().match(req);
  if (match.route)
    fuzz::expect(match.method_allowed || !match.allow.empty(), "405 names Allow", input);
  return 0;
}
