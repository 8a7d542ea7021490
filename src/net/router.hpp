#pragma once
// Maps (method, path) to a handler. Patterns are literal segments and
// `{name}` parameters; a pattern ending in `{*name}` takes the rest of the
// path. Literal segments win over parameters, so `/api/v1/articles/{id}` and
// `/{ed}/{section}/` can live side by side.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "net/http.hpp"

namespace depesche::net {

/// Runs on a blocking-work thread: may touch the store, render, hash.
using Handler = std::function<Response(Request&)>;
/// Runs on the I/O thread and must not block: answers from memory (a cached
/// page, a static asset) or returns nullopt to hand over to the Handler.
using FastHandler = std::function<std::optional<Response>(Request&)>;

struct Route {
  std::vector<Method> methods;
  std::string pattern;
  Handler handler;
  FastHandler fast;       // optional
  std::size_t index = 0;  // position in the table, for metrics
  // The pattern split once at registration, so matching a request allocates
  // nothing per route (this runs for every request, cached pages included).
  std::vector<std::string> segments;
  std::size_t literal_segments = 0;
  bool takes_rest = false;  // ends in {*name}
};

/// A route that leaves HTTP (WebSocket): `check` runs on the I/O thread and
/// returns the error response to send, or nullopt to accept; then the server
/// hands the connected socket to `adopt` and forgets it. `leftover` holds
/// bytes the client sent after the request.
struct Upgrade {
  std::function<std::optional<Response>(const Request&)> check;
  std::function<void(int fd, const Request& req, std::string leftover)> adopt;
};

class Router {
 public:
  /// Registers a route; GET routes answer HEAD as well.
  void add(std::vector<Method> methods, std::string pattern, Handler handler,
           FastHandler fast = {});
  /// Wraps the handler of every route registered so far that `which`
  /// picks: a cross-cutting rule (idempotent POSTs) covers every route it
  /// is meant for, including ones added later to the same table.
  void decorate(const std::function<bool(const Route&)>& which,
                const std::function<Handler(Handler)>& with) {
    for (auto& r : routes_)
      if (which(r)) r.handler = with(std::move(r.handler));
  }
  /// Serves `path` (exact) as an upgrade route.
  void set_upgrade(std::string path, Upgrade upgrade) {
    upgrade_path_ = std::move(path);
    upgrade_ = std::move(upgrade);
  }
  const Upgrade* upgrade_for(std::string_view path) const {
    return !upgrade_path_.empty() && path == upgrade_path_ ? &upgrade_ : nullptr;
  }
  /// The handler for unknown paths (a localised 404 page, a JSON error).
  void set_not_found(Handler handler) { not_found_ = std::move(handler); }

  struct Match {
    const Route* route = nullptr;  // null: no path matched
    bool method_allowed = true;    // false: path matched, method did not
    std::string allow;             // for 405's Allow header
  };
  /// Finds the route and fills `req.params` and `req.route`.
  Match match(Request& req) const;

  const Handler& not_found() const { return not_found_; }
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  Handler not_found_;
  std::string upgrade_path_;
  Upgrade upgrade_;
};

}  // namespace depesche::net
