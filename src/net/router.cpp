#include "net/router.hpp"

#include <algorithm>
#include <string_view>

namespace depesche::net {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path[0] != '/') return out;
  path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_param(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

// Scores how literal a match is, so the most specific pattern wins.
std::optional<int> match_pattern(std::string_view pattern,
                                 const std::vector<std::string_view>& segs,
                                 std::vector<std::pair<std::string, std::string>>& params,
                                 std::string_view full_path) {
  auto pat = split_path(pattern);
  params.clear();
  int literal = 0;
  std::size_t offset = 1;  // position in full_path of the current segment
  for (std::size_t i = 0; i < pat.size(); ++i) {
    std::string_view p = pat[i];
    if (is_param(p) && p[1] == '*') {
      if (i >= segs.size() || offset > full_path.size()) return std::nullopt;
      std::string_view rest = full_path.substr(offset);
      if (rest.empty()) return std::nullopt;
      params.emplace_back(std::string(p.substr(2, p.size() - 3)), std::string(rest));
      return literal;
    }
    if (i >= segs.size()) return std::nullopt;
    if (is_param(p)) {
      if (segs[i].empty()) return std::nullopt;
      params.emplace_back(std::string(p.substr(1, p.size() - 2)), std::string(segs[i]));
    } else {
      if (p != segs[i]) return std::nullopt;
      ++literal;
    }
    offset += segs[i].size() + 1;
  }
  if (pat.size() != segs.size()) return std::nullopt;
  return literal;
}

}  // namespace

void Router::add(std::vector<Method> methods, std::string pattern, Handler handler,
                 FastHandler fast) {
  if (std::find(methods.begin(), methods.end(), Method::get) != methods.end() &&
      std::find(methods.begin(), methods.end(), Method::head) == methods.end())
    methods.push_back(Method::head);
  Route r{std::move(methods), std::move(pattern), std::move(handler), std::move(fast),
          routes_.size()};
  routes_.push_back(std::move(r));
}

Router::Match Router::match(Request& req) const {
  auto segs = split_path(req.path);
  Match best;
  int best_score = -1;
  std::vector<std::pair<std::string, std::string>> params, best_params;
  std::vector<const Route*> path_matches;
  int path_best = -1;
  for (const Route& r : routes_) {
    auto score = match_pattern(r.pattern, segs, params, req.path);
    if (!score) continue;
    if (*score > path_best) {
      path_best = *score;
      path_matches.clear();
    }
    if (*score == path_best) path_matches.push_back(&r);
    bool allowed = std::find(r.methods.begin(), r.methods.end(), req.method) != r.methods.end();
    if (allowed && *score > best_score) {
      best_score = *score;
      best.route = &r;
      best_params = params;
    }
  }
  if (best.route && best_score >= path_best) {
    req.params = std::move(best_params);
    req.route = best.route->pattern;
    req.route_index = best.route->index;
    return best;
  }
  if (!path_matches.empty()) {
    best.route = nullptr;
    best.method_allowed = false;
    for (const Route* r : path_matches)
      for (Method m : r->methods) {
        std::string name = to_string(m);
        if (best.allow.find(name) == std::string::npos)
          best.allow += (best.allow.empty() ? "" : ", ") + name;
      }
    return best;
  }
  return Match{};
}

}  // namespace depesche::net
