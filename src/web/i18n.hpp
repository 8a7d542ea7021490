#pragma once
// Reader-visible text, per edition, from locales/<edition>/messages.json: a
// flat object of key → ICU MessageFormat pattern. Dates, numbers and plurals
// go through ICU, so "5 статей" and "21 статья" come out right.

#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/error.hpp"
#include "base/time.hpp"

#include <unicode/utypes.h>

U_NAMESPACE_BEGIN
class DateFormat;
U_NAMESPACE_END

namespace depesche::web {

using MessageArg = std::variant<std::string_view, std::int64_t>;

class Catalog {
 public:
  /// Reads `<locales_dir>/<edition>/messages.json`; fails on a missing file,
  /// bad JSON, a non-string value or an ICU pattern that does not parse.
  static Result<std::unique_ptr<Catalog>> load(const std::string& locales_dir,
                                               const std::string& edition,
                                               const std::string& time_zone);
  ~Catalog();

  const std::string& edition() const { return edition_; }
  const std::map<std::string, std::string, std::less<>>& entries() const { return entries_; }
  /// Every message without arguments, already formatted (for templates' {{t.key}}).
  const std::map<std::string, std::string, std::less<>>& plain_texts() const { return plain_; }
  bool has(std::string_view key) const { return entries_.find(key) != entries_.end(); }

  /// The pattern for `key` unformatted (for strings without arguments). A
  /// missing key yields the key itself and an error in the log; the catalog
  /// test keeps that from ever shipping.
  const std::string& text(std::string_view key) const;
  /// Formats `key` with named arguments ({count}, {name}, ...).
  std::string format(std::string_view key,
                     std::initializer_list<std::pair<std::string_view, MessageArg>> args) const;
  /// "25. November 2026, 08:15" in the edition's conventions and site time zone.
  std::string format_datetime(Millis t) const;
  std::string format_number(std::int64_t n) const;

 private:
  Catalog() = default;
  std::string edition_;
  std::string time_zone_;
  std::map<std::string, std::string, std::less<>> entries_;
  std::map<std::string, std::string, std::less<>> plain_;
  mutable std::mutex date_mutex_;  // ICU formatters are not safe to share unlocked
  std::unique_ptr<icu::DateFormat> date_format_;
};

class I18n {
 public:
  /// Loads one catalog per edition; the first failure stops start-up.
  static Result<std::unique_ptr<I18n>> load(const std::string& locales_dir,
                                            const std::vector<std::string>& editions,
                                            const std::string& time_zone);
  const Catalog& catalog(std::string_view edition) const;

 private:
  std::map<std::string, std::unique_ptr<Catalog>, std::less<>> catalogs_;
};

}  // namespace depesche::web
