#include "net/request_head.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace depesche::net {

namespace http = boost::beast::http;

namespace {

std::vector<std::string_view> field_values(const RequestMessage& msg, http::field f) {
  std::vector<std::string_view> out;
  auto [first, last] = msg.equal_range(f);
  for (auto it = first; it != last; ++it) out.emplace_back(it->value().data(), it->value().size());
  return out;
}

}  // namespace

std::optional<FramingError> check_head(const RequestMessage& msg) {
  bool http11 = msg.version() >= 11;
  if (auto e = check_host(field_values(msg, http::field::host), http11)) return e;
  return check_transfer_encoding(field_values(msg, http::field::transfer_encoding),
                                 msg.count(http::field::content_length) > 0, http11);
}

std::string_view origin_form(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() > scheme.size() &&
        std::equal(scheme.begin(), scheme.end(), target.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      auto slash = target.find('/', scheme.size());
      if (slash == std::string_view::npos) return "/";
      return target.substr(slash);
    }
  }
  return target;
}

std::optional<FramingError> read_target(std::string_view target, Request& req) {
  target = origin_form(target);
  auto qpos = target.find('?');
  std::string_view raw_path = target.substr(0, qpos);
  if (qpos != std::string_view::npos) req.query.assign(target.substr(qpos + 1));
  if (raw_path.empty() || raw_path[0] != '/' || !percent_decode(raw_path, req.path, false) ||
      req.path.find('\0') != std::string::npos) {
    req.path.assign(raw_path);  // for the log line and the error's path
    return FramingError{400, "Malformed request target"};
  }
  return std::nullopt;
}

}  // namespace depesche::net
