// Every reader-visible string comes from locales/<edition>: these tests fail
// when a catalog lacks a key another has, when a template uses a key no
// catalog has, or when a template carries hard-coded text.
#include "web/i18n.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace depesche::web;
namespace fs = std::filesystem;

namespace {
const std::string kRoot = DEPESCHE_SOURCE_DIR;
const std::vector<std::string> kEditions = {"de", "en", "ru"};

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<Catalog> load(const std::string& ed) {
  auto c = Catalog::load(kRoot + "/locales", ed, "Europe/Berlin");
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
  return std::move(*c);
}
}  // namespace

TEST(Catalogs, EveryEditionHasEveryKey) {
  std::map<std::string, std::set<std::string>> keys;
  std::set<std::string> all;
  for (const auto& ed : kEditions) {
    auto catalog = load(ed);
    for (const auto& [k, v] : catalog->entries()) {
      keys[ed].insert(k);
      all.insert(k);
      EXPECT_FALSE(v.empty()) << ed << ": " << k << " is empty";
    }
  }
  for (const auto& ed : kEditions)
    for (const auto& k : all)
      EXPECT_TRUE(keys[ed].contains(k)) << "locales/" << ed << " lacks " << k;
}

TEST(Catalogs, TemplatesUseOnlyKnownKeys) {
  auto en = load("en");
  std::regex key_ref(R"(\{\{\s*t\.([a-z0-9_]+)\s*\}\})");
  int refs = 0;
  for (const auto& entry : fs::directory_iterator(kRoot + "/templates")) {
    std::string src = read(entry.path());
    for (std::sregex_iterator it(src.begin(), src.end(), key_ref), end; it != end; ++it) {
      ++refs;
      EXPECT_TRUE(en->plain_texts().contains((*it)[1].str()))
          << entry.path().filename() << " uses t." << (*it)[1]
          << ", which is missing or takes arguments";
    }
  }
  EXPECT_GT(refs, 10);
}

TEST(Catalogs, TemplatesHoldNoHardCodedText) {
  // Strip Mustache tags, then HTML tags (keeping visible attribute values),
  // and require that no letters remain.
  std::regex mustache(R"(\{\{\{?[^}]*\}?\}\})");
  std::regex visible_attr(R"re(\b(alt|title|aria-label|placeholder|content)="([^"]*)")re");
  std::regex tag(R"(<[^>]*>)");
  // ASCII letters, or the lead byte of a Latin-1 letter (ä, é) or of Cyrillic.
  std::regex letters("[A-Za-z]|\xC3|\xD0|\xD1");
  for (const auto& entry : fs::directory_iterator(kRoot + "/templates")) {
    std::string src = std::regex_replace(read(entry.path()), mustache, "");
    std::string attrs;
    for (std::sregex_iterator it(src.begin(), src.end(), visible_attr), end; it != end; ++it) {
      std::string name = (*it)[1];
      std::string value = (*it)[2];
      // content="width=device-width..." and color-scheme values are not text.
      if (name == "content" &&
          (value.find('=') != std::string::npos || value == "light dark" || value == "noindex"))
        continue;
      attrs += value + " ";
    }
    std::string text = std::regex_replace(src, tag, " ") + attrs;
    std::smatch m;
    EXPECT_FALSE(std::regex_search(text, m, letters))
        << entry.path().filename() << " has hard-coded text near: '"
        << text.substr(std::max<long>(0, m.position() - 20), 60) << "'";
  }
}

TEST(Catalogs, RussianPluralsFollowCldrRules) {
  auto ru = load("ru");
  EXPECT_EQ(ru->format("article_reading_time", {{"minutes", std::int64_t{1}}}), "1 минута чтения");
  EXPECT_EQ(ru->format("article_reading_time", {{"minutes", std::int64_t{3}}}), "3 минуты чтения");
  EXPECT_EQ(ru->format("article_reading_time", {{"minutes", std::int64_t{5}}}), "5 минут чтения");
  EXPECT_EQ(ru->format("article_reading_time", {{"minutes", std::int64_t{21}}}),
            "21 минута чтения");
  EXPECT_EQ(ru->format("article_reading_time", {{"minutes", std::int64_t{11}}}), "11 минут чтения");
  auto de = load("de");
  EXPECT_EQ(de->format("article_reading_time", {{"minutes", std::int64_t{1}}}),
            "1 Minute Lesezeit");
  EXPECT_EQ(de->format("article_reading_time", {{"minutes", std::int64_t{2}}}),
            "2 Minuten Lesezeit");
}

TEST(Catalogs, DatesAndNumbersUseTheEditionsConventions) {
  const depesche::Millis t = 1'764'057'600'000;  // 2025-11-25 08:00 UTC = 09:00 in Berlin
  EXPECT_EQ(load("de")->format_datetime(t), "25. November 2025 um 09:00");
  EXPECT_NE(load("ru")->format_datetime(t).find("ноября 2025"), std::string::npos);
  EXPECT_NE(load("en")->format_datetime(t).find("November 25, 2025"), std::string::npos);
  EXPECT_EQ(load("de")->format_number(1234567), "1.234.567");
}

TEST(Catalogs, MissingKeysAndBadCatalogsAreReported) {
  auto en = load("en");
  EXPECT_EQ(en->text("no_such_key"), "no_such_key");
  EXPECT_FALSE(Catalog::load(kRoot + "/locales", "xx", "UTC").has_value());
  EXPECT_FALSE(Catalog::load(kRoot + "/locales", "en", "Not/AZone").has_value());
}
