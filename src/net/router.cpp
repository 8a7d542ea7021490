#include "net/router.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace depesche::net {
namespace {

// Requests with more segments than this match no route (404).
constexpr std::size_t kMaxSegments = 32;

struct PathSegments {
  std::array<std::string_view, kMaxSegments> items;
  std::size_t count = 0;
  bool too_deep = false;
};

PathSegments split_request_path(std::string_view path) {
  PathSegments out;
  if (path.empty() || path[0] != '/') return out;
  path.remove_prefix(1);
  for (;;) {
    if (out.count == kMaxSegments) {
      out.too_deep = true;
      return out;
    }
    auto slash = path.find('/');
    out.items[out.count++] = path.substr(0, slash);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_param(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

// True when `route` matches the request path; literal segments must be equal,
// parameters non-empty, and a trailing {*rest} needs at least one character.
bool matches(const Route& route, const PathSegments& segs, std::string_view full_path) {
  const auto& pat = route.segments;
  std::size_t offset = 1;  // position in full_path of the current segment
  for (std::size_t i = 0; i < pat.size(); ++i) {
    const std::string& p = pat[i];
    if (route.takes_rest && i + 1 == pat.size()) return i < segs.count && offset < full_path.size();
    if (i >= segs.count) return false;
    if (is_param(p)) {
      if (segs.items[i].empty()) return false;
    } else if (p != segs.items[i]) {
      return false;
    }
    offset += segs.items[i].size() + 1;
  }
  return pat.size() == segs.count;
}

void extract_params(const Route& route, const PathSegments& segs, std::string_view full_path,
                    std::vector<std::pair<std::string, std::string>>& params) {
  params.clear();
  std::size_t offset = 1;
  for (std::size_t i = 0; i < route.segments.size(); ++i) {
    std::string_view p = route.segments[i];
    if (!is_param(p)) {
      offset += segs.items[i].size() + 1;
      continue;
    }
    if (p[1] == '*') {
      params.emplace_back(std::string(p.substr(2, p.size() - 3)),
                          std::string(full_path.substr(offset)));
      return;
    }
    params.emplace_back(std::string(p.substr(1, p.size() - 2)), std::string(segs.items[i]));
    offset += segs.items[i].size() + 1;
  }
}

}  // namespace

const char* to_string(Who who) {
  switch (who) {
    case Who::anyone: return "anyone";
    case Who::signed_in: return "signed_in";
    case Who::moderator: return "moderator";
    case Who::editor: return "editor";
    case Who::admin: return "admin";
  }
  return "?";
}

const char* to_string(Via via) {
  switch (via) {
    case Via::nothing: return "nothing";
    case Via::session: return "session";
    case Via::bearer: return "bearer";
    case Via::session_or_bearer: return "session_or_bearer";
  }
  return "?";
}

void Router::add(std::vector<Method> methods, std::string pattern, Access access, Handler handler,
                 FastHandler fast) {
  if (std::find(methods.begin(), methods.end(), Method::get) != methods.end() &&
      std::find(methods.begin(), methods.end(), Method::head) == methods.end())
    methods.push_back(Method::head);
  Route r{.methods = std::move(methods),
          .pattern = std::move(pattern),
          .access = access,
          .handler = std::move(handler),
          .fast = std::move(fast),
          .index = routes_.size()};
  std::string_view rest = r.pattern;
  if (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
  for (;;) {
    auto slash = rest.find('/');
    std::string seg(rest.substr(0, slash));
    if (is_param(seg) && seg[1] == '*') r.takes_rest = true;
    if (!is_param(seg)) ++r.literal_segments;
    r.segments.push_back(std::move(seg));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  routes_.push_back(std::move(r));
}

Router::Match Router::match(Request& req) const {
  auto segs = split_request_path(req.path);
  if (segs.too_deep || segs.count == 0) return Match{};
  const Route* best = nullptr;
  int best_score = -1;
  int path_best = -1;  // the best score of any route, whatever its methods
  for (const Route& r : routes_) {
    if (!matches(r, segs, req.path)) continue;
    int score = static_cast<int>(r.literal_segments);
    path_best = std::max(path_best, score);
    bool allowed = std::find(r.methods.begin(), r.methods.end(), req.method) != r.methods.end();
    if (allowed && score > best_score) {
      best_score = score;
      best = &r;
    }
  }
  Match result;
  if (best && best_score >= path_best) {
    extract_params(*best, segs, req.path, req.params);
    req.route = best->pattern;
    req.route_index = best->index;
    result.route = best;
    return result;
  }
  std::vector<const Route*> path_matches;
  for (const Route& r : routes_)
    if (matches(r, segs, req.path) && static_cast<int>(r.literal_segments) == path_best)
      path_matches.push_back(&r);
  if (!path_matches.empty()) {
    result.method_allowed = false;
    for (const Route* r : path_matches)
      for (Method m : r->methods) {
        std::string name = to_string(m);
        if (result.allow.find(name) == std::string::npos)
          result.allow += (result.allow.empty() ? "" : ", ") + name;
      }
  }
  return result;
}

}  // namespace depesche::net
