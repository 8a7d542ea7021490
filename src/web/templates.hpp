#pragma once
// Mustache templates (kainjow), compiled once at start-up from
// templates/*.mustache. {{x}} is HTML-escaped; only fields named *_html,
// which hold cmark-gfm safe output or our own markup, use {{{x}}}.

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "base/error.hpp"

namespace depesche::web {

class Templates {
 public:
  /// Loads every *.mustache file in `dir`; each is also usable as a partial
  /// ({{>name}}). Fails on a missing directory or a template that does not parse.
  static Result<std::unique_ptr<Templates>> load(const std::string& dir);
  ~Templates();

  /// Renders template `name` with a JSON model (objects, arrays, strings,
  /// numbers, booleans map onto Mustache's data types).
  std::string render(const std::string& name, const nlohmann::json& model) const;
  bool has(const std::string& name) const { return sources_.contains(name); }

  struct Compiled;

 private:
  std::map<std::string, std::string> sources_;
  std::map<std::string, std::unique_ptr<Compiled>> compiled_;
};

}  // namespace depesche::web
