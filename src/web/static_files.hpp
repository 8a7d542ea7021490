#pragma once
// The site's own assets (stylesheet, ES modules, icons), read into memory at
// start-up: a request never touches the file system, so no path it names can
// escape the static directory. URLs carry ?v=<asset version>; such requests
// are cached for a year as immutable.

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "net/http.hpp"

namespace depesche::web {

class StaticFiles {
 public:
  static Result<std::unique_ptr<StaticFiles>> load(const std::string& dir);

  /// The response for /static/<path>, or nullopt when there is no such asset.
  std::optional<net::Response> serve(const net::Request& req, std::string_view path) const;
  /// A short hash over every asset; changes whenever any asset changes.
  const std::string& version() const { return version_; }

 private:
  struct Asset {
    std::shared_ptr<const std::string> body;
    std::string content_type;
    std::string etag;
  };
  std::map<std::string, Asset, std::less<>> assets_;
  std::string version_;
};

/// The Content-Type for a file name by extension.
std::string content_type_for(std::string_view name);

/// True for a plain file name: [A-Za-z0-9][A-Za-z0-9._-]*, no "..", at most 200 bytes.
bool is_safe_file_name(std::string_view name);

}  // namespace depesche::web
