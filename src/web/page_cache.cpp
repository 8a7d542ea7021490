#include "web/page_cache.hpp"

#include <brotli/encode.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "web/security_headers.hpp"

namespace depesche::web {

std::string gzip_compress(std::string_view data, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out;
  out.resize(deflateBound(&zs, data.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string();
}

std::string brotli_compress(std::string_view data, int quality) {
  std::string out(BrotliEncoderMaxCompressedSize(data.size()), '\0');
  if (out.empty()) return {};
  std::size_t size = out.size();
  if (!BrotliEncoderCompress(quality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, data.size(),
                             reinterpret_cast<const std::uint8_t*>(data.data()), &size,
                             reinterpret_cast<std::uint8_t*>(out.data())))
    return {};
  out.resize(size);
  return out;
}

bool accepts_encoding(std::string_view ae, std::string_view coding) {
  // Walk the comma-separated codings; a match needs the whole token (so "br"
  // is not found inside "gzip, brotli-x") and a q-value other than zero.
  while (!ae.empty()) {
    auto comma = ae.find(',');
    auto item = ae.substr(0, comma);
    ae = comma == std::string_view::npos ? std::string_view{} : ae.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    auto semi = item.find(';');
    auto name = item.substr(0, semi);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name.size() != coding.size() ||
        !std::equal(name.begin(), name.end(), coding.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        }))
      continue;
    if (semi == std::string_view::npos) return true;
    auto q = item.find("q=", semi);
    if (q == std::string_view::npos) return true;
    auto value = item.substr(q + 2);
    return !(value.starts_with("0") && value.find_first_of("123456789") == std::string_view::npos);
  }
  return false;
}

bool accepts_gzip(std::string_view ae) { return accepts_encoding(ae, "gzip"); }

bool etag_matches(std::string_view inm, std::string_view etag) {
  if (inm.empty()) return false;
  if (inm == "*") return true;
  while (!inm.empty()) {
    auto comma = inm.find(',');
    auto item = inm.substr(0, comma);
    inm = comma == std::string_view::npos ? std::string_view{} : inm.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag) return true;
  }
  return false;
}

PageCache::PageCache(std::size_t max_entries, std::function<std::uint64_t()> current_generation)
    : max_entries_(max_entries), current_generation_(std::move(current_generation)) {}

std::size_t PageCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::optional<net::Response> PageCache::lookup(const net::Request& req) const {
  std::shared_ptr<const CachedPage> page;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(req.target);
    if (it == entries_.end()) return std::nullopt;
    page = it->second;
  }
  if (page->generation != current_generation_()) return std::nullopt;
  return respond(req, *page);
}

net::Response PageCache::respond(const net::Request& req, const CachedPage& page) const {
  auto accept_encoding = req.header("accept-encoding");
  bool brotli = page.brotli_body && accepts_encoding(accept_encoding, "br");
  bool gzip = !brotli && page.gzip_body && accepts_encoding(accept_encoding, "gzip");
  // Each encoding is its own representation with its own strong validator.
  const std::string& etag = brotli ? page.brotli_etag : gzip ? page.gzip_etag : page.etag;
  net::Response res;
  if (etag_matches(req.header("if-none-match"), etag)) {
    res.status = 304;
    res.header("ETag", etag);
    res.header("Cache-Control", page.cache_control);
    res.header("Vary", "Accept-Encoding");
    return res;
  }
  res.status = page.status;
  res.shared_body = brotli ? page.brotli_body : gzip ? page.gzip_body : page.body;
  res.shared_head = brotli ? page.brotli_head : gzip ? page.gzip_head : page.head;
  return res;
}

net::Response PageCache::store(const net::Request& req, std::uint64_t generation, int status,
                               std::string content_type, std::string body,
                               const std::string& cache_control) {
  auto page = std::make_shared<CachedPage>();
  page->status = status;
  page->generation = generation;
  // FNV-1a is enough for a validator: collisions only cost a needless 304.
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : body) h = (h ^ c) * 1099511628211ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  page->etag = "\"" + std::string(hex) + "\"";
  page->gzip_etag = "\"" + std::string(hex) + "-gz\"";
  page->brotli_etag = "\"" + std::string(hex) + "-br\"";
  page->cache_control = cache_control;
  auto head_for = [&](const std::string& etag, const char* encoding) {
    std::string head = "Content-Type: " + content_type + "\r\nCache-Control: " + cache_control +
                       "\r\nETag: " + etag + "\r\nVary: Accept-Encoding\r\n" +
                       security_header_lines();
    if (encoding) head += std::string("Content-Encoding: ") + encoding + "\r\n";
    return std::make_shared<const std::string>(std::move(head));
  };
  // Pages are rendered rarely and served often: compress hard, once.
  std::string gz = body.size() > 1024 ? gzip_compress(body, 9) : std::string();
  std::string br = body.size() > 1024 ? brotli_compress(body, 9) : std::string();
  page->body = std::make_shared<const std::string>(std::move(body));
  page->head = head_for(page->etag, nullptr);
  if (!gz.empty() && gz.size() < page->body->size()) {
    page->gzip_body = std::make_shared<const std::string>(std::move(gz));
    page->gzip_head = head_for(page->gzip_etag, "gzip");
  }
  if (!br.empty() && br.size() < page->body->size()) {
    page->brotli_body = std::make_shared<const std::string>(std::move(br));
    page->brotli_head = head_for(page->brotli_etag, "br");
  }
  {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= max_entries_) entries_.clear();
    entries_[req.target] = page;
  }
  return respond(req, *page);
}

}  // namespace depesche::web
