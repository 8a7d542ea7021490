#include "web/static_files.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "web/page_cache.hpp"

namespace depesche::web {
namespace {
std::uint64_t fnv1a(std::string_view data, std::uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ULL;
  return h;
}
std::string hex16(std::uint64_t h) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}
}  // namespace

std::string content_type_for(std::string_view name) {
  auto dot = name.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "webp") return "image/webp";
  if (ext == "ico") return "image/x-icon";
  if (ext == "json") return "application/json";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "woff2") return "font/woff2";
  return "application/octet-stream";
}

bool is_safe_file_name(std::string_view name) {
  if (name.empty() || name.size() > 200 || name.find("..") != std::string_view::npos) return false;
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  };
  if (!ok(name[0]) || name[0] == '.' || name[0] == '-') return false;
  for (char c : name)
    if (!ok(c)) return false;
  return true;
}

Result<std::unique_ptr<StaticFiles>> StaticFiles::load(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return fail(ErrorCode::invalid, "static directory " + dir + " does not exist");
  auto s = std::make_unique<StaticFiles>();
  std::uint64_t all = 1469598103934665603ULL;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::string rel = fs::relative(entry.path(), dir).generic_string();
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string body = ss.str();
    std::uint64_t h = fnv1a(body);
    all = fnv1a(rel, all ^ h);
    s->assets_.emplace(rel, Asset{std::make_shared<const std::string>(std::move(body)),
                                  content_type_for(rel), "\"" + hex16(h) + "\""});
  }
  s->version_ = hex16(all).substr(0, 10);
  return s;
}

std::optional<net::Response> StaticFiles::serve(const net::Request& req,
                                                std::string_view path) const {
  auto it = assets_.find(path);
  if (it == assets_.end()) return std::nullopt;
  const Asset& a = it->second;
  net::Response res;
  auto v = req.query_param("v");
  res.header("Cache-Control",
             v && *v == version_ ? "public, max-age=31536000, immutable" : "public, max-age=300");
  res.header("ETag", a.etag);
  res.header("X-Content-Type-Options", "nosniff");
  if (etag_matches(req.header("if-none-match"), a.etag)) {
    res.status = 304;
    return res;
  }
  res.header("Content-Type", a.content_type);
  res.shared_body = a.body;
  return res;
}

}  // namespace depesche::web
