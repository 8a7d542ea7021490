#pragma once
// Maps (method, path) to a handler. Patterns are literal segments and
// `{name}` parameters; a pattern ending in `{*name}` takes the rest of the
// path. Literal segments win over parameters, so `/api/v1/articles/{id}` and
// `/{ed}/{section}/` can live side by side.
//
// Every route declares, when it is registered, who may use it and by which
// credentials (Access). The handler enforces it; the table only says it, so
// `depesche routes` can print it and the route sweeps
// (tests/integration/test_route_sweeps.py) can hold each route to it.

#include <cstdint>
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

/// The least a caller must be to use a route.
enum class Who : std::uint8_t {
  anyone,     // no account needed
  signed_in,  // any signed-in account, whatever its role
  moderator,  // an account or bearer token of at least this role
  editor,
  admin,
};

/// The credentials that decide what a route does for its caller, and so how
/// its state changes are kept from other sites (docs/accounts.md). Showing a
/// signed-in reader's name in a page's header does not count.
enum class Via : std::uint8_t {
  nothing,  // no one's: a state change needs JSON (API) or the CSRF token (form), and no
            // foreign Origin
  session,  // the session cookie: a state change needs this site's Origin and the CSRF token
  bearer,   // Authorization: Bearer only; cookies are ignored, so another site has nothing to use
  session_or_bearer,  // either; a session needs the CSRF checks, a bearer token none
};

/// Who may use a route, and by what. Router::add takes it without a
/// default, and it has no default value either (`{}` does not compile): no
/// route goes into the table undeclared.
struct Access {
  constexpr Access(Who w, Via v) : who(w), via(v) {}
  Who who;
  Via via;
};

const char* to_string(Who who);
const char* to_string(Via via);

struct Route {
  std::vector<Method> methods;
  std::string pattern;
  Access access;
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
  /// Registers a route; GET routes answer HEAD as well. `access` is what the
  /// handler enforces, declared here so the table can be checked against it.
  void add(std::vector<Method> methods, std::string pattern, Access access, Handler handler,
           FastHandler fast = {});
  /// Wraps the handler of every route registered so far that `which`
  /// picks: a cross-cutting rule (idempotent POSTs) covers every route it
  /// is meant for, including ones added later to the same table.
  void decorate(const std::function<bool(const Route&)>& which,
                const std::function<Handler(Handler)>& with) {
    for (auto& r : routes_)
      if (which(r)) r.handler = with(std::move(r.handler));
  }
  /// Serves `path` (exact) as an upgrade route; `access` as for add().
  void set_upgrade(std::string path, Access access, Upgrade upgrade) {
    upgrade_path_ = std::move(path);
    upgrade_access_ = access;
    upgrade_ = std::move(upgrade);
  }
  const Upgrade* upgrade_for(std::string_view path) const {
    return !upgrade_path_.empty() && path == upgrade_path_ ? &upgrade_ : nullptr;
  }
  /// The upgrade route's path (empty without one) and declared access.
  const std::string& upgrade_path() const { return upgrade_path_; }
  Access upgrade_access() const { return upgrade_access_; }
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
  Access upgrade_access_{Who::anyone, Via::nothing};
  Upgrade upgrade_;
};

}  // namespace depesche::net
