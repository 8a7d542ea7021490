#include "web/i18n.hpp"

#include <unicode/datefmt.h>
#include <unicode/msgfmt.h>
#include <unicode/numfmt.h>
#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "base/log.hpp"

namespace depesche::web {

Catalog::~Catalog() = default;

Result<std::unique_ptr<Catalog>> Catalog::load(const std::string& dir, const std::string& edition,
                                               const std::string& time_zone) {
  std::string path = dir + "/" + edition + "/messages.json";
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::invalid, "missing locale catalog " + path);
  std::unique_ptr<Catalog> c(new Catalog());
  c->edition_ = edition;
  c->time_zone_ = time_zone;
  try {
    auto j = nlohmann::json::parse(in);
    if (!j.is_object()) return fail(ErrorCode::invalid, path + ": must be a JSON object");
    for (auto& [k, v] : j.items()) {
      if (!v.is_string())
        return fail(ErrorCode::invalid, path + ": value of '" + k + "' is not a string");
      c->entries_.emplace(k, v.get<std::string>());
    }
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::invalid, path + ": " + e.what());
  }
  icu::Locale locale(edition.c_str());
  for (const auto& [k, v] : c->entries_) {
    UErrorCode status = U_ZERO_ERROR;
    icu::MessageFormat probe(icu::UnicodeString::fromUTF8(v), locale, status);
    if (U_FAILURE(status))
      return fail(ErrorCode::invalid, path + ": '" + k + "' is not a valid ICU message");
  }
  UErrorCode status = U_ZERO_ERROR;
  c->date_format_.reset(icu::DateFormat::createDateTimeInstance(icu::DateFormat::kLong,
                                                                icu::DateFormat::kShort, locale));
  if (!c->date_format_) return fail(ErrorCode::invalid, "ICU has no date format for " + edition);
  auto* tz = icu::TimeZone::createTimeZone(icu::UnicodeString::fromUTF8(time_zone));
  icu::UnicodeString id;
  tz->getID(id);
  if (*tz == icu::TimeZone::getUnknown()) {
    delete tz;
    return fail(ErrorCode::invalid, "unknown time zone '" + time_zone + "'", "time_zone");
  }
  c->date_format_->adoptTimeZone(tz);
  (void)status;
  for (const auto& [k, v] : c->entries_)
    if (v.find('{') == std::string::npos) c->plain_.emplace(k, c->format(k, {}));
  return c;
}

const std::string& Catalog::text(std::string_view key) const {
  auto it = entries_.find(key);
  if (it != entries_.end()) return it->second;
  log::error("missing locale key", {{"edition", edition_}, {"key", key}});
  static thread_local std::string fallback;
  fallback = std::string(key);
  return fallback;
}

std::string Catalog::format(
    std::string_view key,
    std::initializer_list<std::pair<std::string_view, MessageArg>> args) const {
  const std::string& pattern = text(key);
  UErrorCode status = U_ZERO_ERROR;
  icu::MessageFormat fmt(icu::UnicodeString::fromUTF8(pattern), icu::Locale(edition_.c_str()),
                         status);
  if (U_FAILURE(status)) return pattern;
  std::vector<icu::UnicodeString> names;
  std::vector<icu::Formattable> values;
  for (const auto& [name, value] : args) {
    names.push_back(icu::UnicodeString::fromUTF8(
        icu::StringPiece(name.data(), static_cast<int32_t>(name.size()))));
    if (auto s = std::get_if<std::string_view>(&value))
      values.emplace_back(icu::UnicodeString::fromUTF8(
          icu::StringPiece(s->data(), static_cast<int32_t>(s->size()))));
    else
      values.emplace_back(static_cast<int64_t>(std::get<std::int64_t>(value)));
  }
  icu::UnicodeString out;
  fmt.format(names.data(), values.data(), static_cast<int32_t>(values.size()), out, status);
  if (U_FAILURE(status)) {
    log::error("locale message failed to format", {{"edition", edition_}, {"key", key}});
    return pattern;
  }
  std::string utf8;
  out.toUTF8String(utf8);
  return utf8;
}

std::string Catalog::format_datetime(Millis t) const {
  icu::UnicodeString out;
  {
    std::lock_guard lock(date_mutex_);
    date_format_->format(static_cast<UDate>(t), out);
  }
  std::string utf8;
  out.toUTF8String(utf8);
  return utf8;
}

std::string Catalog::format_number(std::int64_t n) const {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::NumberFormat> nf(
      icu::NumberFormat::createInstance(icu::Locale(edition_.c_str()), status));
  if (U_FAILURE(status)) return std::to_string(n);
  icu::UnicodeString out;
  nf->format(static_cast<int64_t>(n), out);
  std::string utf8;
  out.toUTF8String(utf8);
  return utf8;
}

Result<std::unique_ptr<I18n>> I18n::load(const std::string& dir,
                                         const std::vector<std::string>& editions,
                                         const std::string& time_zone) {
  auto i = std::make_unique<I18n>();
  for (const auto& ed : editions) {
    auto c = Catalog::load(dir, ed, time_zone);
    if (!c) return std::unexpected(c.error());
    i->catalogs_.emplace(ed, std::move(*c));
  }
  return i;
}

const Catalog& I18n::catalog(std::string_view edition) const {
  auto it = catalogs_.find(edition);
  if (it == catalogs_.end()) return *catalogs_.begin()->second;
  return *it->second;
}

}  // namespace depesche::web
