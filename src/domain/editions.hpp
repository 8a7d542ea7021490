#pragma once
// The language editions this site publishes, from config. An edition code is
// a lower-case language tag ("de", "en", "ru") and names its locale catalog.

#include <string>
#include <string_view>
#include <vector>

namespace depesche::domain {

class Editions {
 public:
  /// `codes` in display order; `default_code` must be one of them.
  Editions(std::vector<std::string> codes, std::string default_code);

  bool contains(std::string_view code) const;
  const std::vector<std::string>& codes() const { return codes_; }
  const std::string& default_code() const { return default_; }

  /// Picks the edition an Accept-Language header prefers (q-values honoured,
  /// "de-AT" matches "de"), or the default.
  std::string preferred(std::string_view accept_language) const;

  /// True for a syntactically valid edition code: 2-8 lower-case letters.
  static bool is_valid_code(std::string_view code);

 private:
  std::vector<std::string> codes_;
  std::string default_;
};

}  // namespace depesche::domain
