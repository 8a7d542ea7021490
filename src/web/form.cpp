#include "web/form.hpp"

namespace depesche::web {

std::map<std::string, std::string> form_fields(const net::Request& req, std::size_t max_bytes) {
  std::map<std::string, std::string> out;
  if (!req.header("content-type").starts_with("application/x-www-form-urlencoded") ||
      req.body.size() > max_bytes)
    return out;
  for (auto& [k, v] : net::parse_query(req.body)) out.emplace(std::move(k), std::move(v));
  return out;
}

bool form_too_large(const net::Request& req, std::size_t max_bytes) {
  return req.body.size() > max_bytes;
}

std::string form_field(const std::map<std::string, std::string>& fields, const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() ? std::string() : it->second;
}

net::Response see_other(std::string location) {
  net::Response r(303, "text/plain; charset=utf-8", "");
  r.header("Location", std::move(location));
  r.header("Cache-Control", "no-store");
  return r;
}

}  // namespace depesche::web
