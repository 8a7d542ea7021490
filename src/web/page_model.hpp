#pragma once
// Builds the data the Mustache templates render: plain JSON values whose
// strings are escaped by the template, except *_html fields.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "domain/article.hpp"
#include "domain/editions.hpp"
#include "web/i18n.hpp"

namespace depesche::web {

struct SiteInfo {
  std::string name;        // "Depesche"
  std::string public_url;  // "https://news.example", no trailing slash
  std::string asset_version;
};

std::string article_path(const domain::Article& a);
std::string section_path(std::string_view edition, std::string_view section_slug);

/// The frame every page shares: language, title, navigation, edition switch.
/// `edition_links` maps edition → path for the switcher (translations when
/// the page has them, else the edition's home).
nlohmann::json layout_model(const SiteInfo& site, const Catalog& cat,
                            const domain::Editions& editions, const std::string& title,
                            const std::vector<domain::Section>& sections,
                            std::string_view current_section,
                            const std::map<std::string, std::string>& edition_links);

/// A teaser card: headline, link, section, time, image.
nlohmann::json teaser_model(const domain::Article& a, const Catalog& cat);

/// schema.org NewsArticle for an article page, as JSON text safe for <script>.
std::string news_article_json_ld(const SiteInfo& site, const domain::Article& a);

}  // namespace depesche::web
