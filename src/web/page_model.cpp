#include "web/page_model.hpp"

#include "text/html.hpp"

namespace depesche::web {

std::string article_path(const domain::Article& a) {
  return "/" + a.edition + "/articles/" + a.slug;
}

std::string section_path(std::string_view edition, std::string_view slug) {
  return "/" + std::string(edition) + "/" + std::string(slug) + "/";
}

namespace {
std::string absolute(const SiteInfo& site, const std::string& url) {
  if (url.starts_with("https://") || url.starts_with("http://")) return url;
  return site.public_url + url;
}
}  // namespace

nlohmann::json layout_model(const SiteInfo& site, const Catalog& cat,
                            const domain::Editions& editions, const std::string& title,
                            const std::vector<domain::Section>& sections,
                            std::string_view current_section,
                            const std::map<std::string, std::string>& edition_links) {
  nlohmann::json m;
  m["lang"] = cat.edition();
  m["edition"] = cat.edition();
  m["site_name"] = site.name;
  m["title"] = title.empty() ? site.name : title + " – " + site.name;
  m["asset_version"] = site.asset_version;
  m["t"] = nlohmann::json::object();
  for (const auto& [k, v] : cat.plain_texts()) m["t"][k] = v;
  m["footer_text"] = cat.format("footer_copyright", {{"site", std::string_view(site.name)}});
  auto& eds = m["editions"] = nlohmann::json::array();
  for (const auto& code : editions.codes()) {
    auto it = edition_links.find(code);
    eds.push_back({{"code", code},
                   {"label", cat.text("edition_" + code)},
                   {"href", it != edition_links.end() ? it->second : "/" + code + "/"},
                   {"current", code == cat.edition()}});
  }
  auto& secs = m["sections"] = nlohmann::json::array();
  for (const auto& s : sections)
    secs.push_back({{"name", s.name},
                    {"href", section_path(s.edition, s.slug)},
                    {"current", s.slug == current_section}});
  m["alternates"] = nlohmann::json::array();
  return m;
}

nlohmann::json teaser_model(const domain::Article& a, const Catalog& cat) {
  nlohmann::json t;
  t["href"] = article_path(a);
  t["headline"] = a.headline;
  t["teaser"] = a.teaser;
  t["section_name"] = a.section_name;
  t["section_href"] = section_path(a.edition, a.section_slug);
  Millis when = a.published_at.value_or(a.created_at);
  t["published_iso"] = format_rfc3339(when);
  t["published_text"] = cat.format_datetime(when);
  if (a.image)
    t["image"] = {{"url", a.image->url}, {"width", a.image->width}, {"height", a.image->height}};
  else
    t["image"] = false;
  return t;
}

std::string news_article_json_ld(const SiteInfo& site, const domain::Article& a) {
  nlohmann::json j;
  j["@context"] = "https://schema.org";
  j["@type"] = "NewsArticle";
  j["headline"] = a.headline;
  j["description"] = a.teaser;
  j["inLanguage"] = a.edition;
  j["url"] = site.public_url + article_path(a);
  j["mainEntityOfPage"] = site.public_url + article_path(a);
  if (a.published_at) j["datePublished"] = format_rfc3339(*a.published_at);
  j["dateModified"] = format_rfc3339(a.updated_at);
  j["articleSection"] = a.section_name;
  if (!a.tags.empty()) j["keywords"] = a.tags;
  if (!a.author.empty())
    j["author"] = {{"@type", "Person"}, {"name", a.author}};
  else
    j["author"] = {{"@type", "Organization"}, {"name", site.name}};
  j["publisher"] = {
      {"@type", "Organization"},
      {"name", site.name},
      {"logo", {{"@type", "ImageObject"}, {"url", site.public_url + "/static/logo.svg"}}}};
  if (a.image) {
    j["image"] = {{"@type", "ImageObject"},
                  {"url", absolute(site, a.image->url)},
                  {"width", a.image->width},
                  {"height", a.image->height},
                  {"caption", a.image->caption},
                  {"creditText", a.image->credit},
                  {"copyrightNotice", "© " + a.image->credit}};
  }
  return text::json_for_script(j.dump());
}

}  // namespace depesche::web
