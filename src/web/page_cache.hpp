#pragma once
// Anonymous pages, rendered once and served from memory until content
// changes. An entry is valid while the content generation it was rendered at
// is current; any article write bumps the generation. Entries hold the body
// as is and gzip- and brotli-compressed, plus a pre-serialised header block, so a hit
// costs a hash lookup and two buffer writes.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "net/http.hpp"

namespace depesche::web {

struct CachedPage {
  int status = 200;
  std::uint64_t generation = 0;
  std::string etag;         // quoted strong validator of the identity body
  std::string gzip_etag;    // ... of the gzip body
  std::string brotli_etag;  // ... of the brotli body
  std::string cache_control;
  std::shared_ptr<const std::string> body;
  std::shared_ptr<const std::string> gzip_body;    // null when gzip would not help
  std::shared_ptr<const std::string> head;         // header lines without Content-Encoding
  std::shared_ptr<const std::string> gzip_head;    // header lines with Content-Encoding: gzip
  std::shared_ptr<const std::string> brotli_body;  // null when brotli would not help
  std::shared_ptr<const std::string> brotli_head;
};

class PageCache {
 public:
  /// `max_entries` bounds memory; at the bound the cache starts over.
  PageCache(std::size_t max_entries, std::function<std::uint64_t()> current_generation);

  /// A response for `req` from memory, or nullopt on a miss or stale entry.
  /// Honours If-None-Match (304) and Accept-Encoding (br, then gzip).
  std::optional<net::Response> lookup(const net::Request& req) const;

  /// Stores a rendered page under the request target; returns the response
  /// to send now. `generation` is the content generation read before rendering.
  net::Response store(const net::Request& req, std::uint64_t generation, int status,
                      std::string content_type, std::string body, const std::string& cache_control);

  std::size_t size() const;

 private:
  net::Response respond(const net::Request& req, const CachedPage& page) const;

  std::size_t max_entries_;
  std::function<std::uint64_t()> current_generation_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const CachedPage>> entries_;
};

/// gzip (RFC 1952) of `data` at the given level; empty on failure.
std::string gzip_compress(std::string_view data, int level = 6);

/// Brotli of `data` at the given quality (0-11); empty on failure.
std::string brotli_compress(std::string_view data, int quality = 9);

/// True when an Accept-Encoding header lists `coding` (lower-case; matched
/// without regard to case) with q > 0.
bool accepts_encoding(std::string_view accept_encoding, std::string_view coding);
bool accepts_gzip(std::string_view accept_encoding);

/// True when an If-None-Match header lists `etag` (or is "*").
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace depesche::web
