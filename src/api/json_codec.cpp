#include "api/json_codec.hpp"

#include "api/image_codec.hpp"

#include <nlohmann/json.hpp>
#include <set>

namespace depesche::api {

using nlohmann::json;

json article_json(const domain::Article& a, const std::map<std::string, std::int64_t>& translations,
                  const std::vector<std::int64_t>& related, bool with_body) {
  json j;
  j["id"] = a.id;
  j["edition"] = a.edition;
  j["slug"] = a.slug;
  j["section"] = a.section_slug;
  j["headline"] = a.headline;
  j["teaser"] = a.teaser;
  if (with_body) {
    j["body"] = a.body;
    j["body_html"] = a.body_html;
  }
  j["image"] = image_json(a.image);
  j["author"] = a.author;
  j["tags"] = a.tags;
  j["status"] = to_string(a.status);
  j["top"] = a.top;
  j["published_at"] = a.published_at ? json(format_rfc3339(*a.published_at)) : json(nullptr);
  j["updated_at"] = format_rfc3339(a.updated_at);
  j["version"] = a.version;
  j["translations"] = json::object();
  for (const auto& [ed, id] : translations) j["translations"][ed] = id;
  j["related"] = related;
  j["url"] = "/" + a.edition + "/articles/" + a.slug;
  return j;
}

namespace {

Result<std::string> get_string(const json& v, const char* field) {
  if (!v.is_string())
    return fail(ErrorCode::invalid, std::string(field) + " must be a string", field);
  return v.get<std::string>();
}

}  // namespace

Result<domain::ArticleInput> parse_article_input(std::string_view body, bool creating,
                                                 std::optional<int>& expected_version) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return fail(ErrorCode::invalid, "the body is not valid JSON");
  if (!j.is_object()) return fail(ErrorCode::invalid, "the body must be a JSON object");
  static const std::set<std::string> kFields = {
      "edition", "slug", "section", "headline", "teaser",         "body",         "image",
      "author",  "tags", "related", "top",      "translation_of", "published_at", "version"};
  domain::ArticleInput in;
  for (auto& [key, v] : j.items()) {
    if (!kFields.contains(key)) return fail(ErrorCode::invalid, "unknown field '" + key + "'", key);
    auto str_field = [&](std::optional<std::string>& target) -> Result<void> {
      auto s = get_string(v, key.c_str());
      if (!s) return std::unexpected(s.error());
      target = std::move(*s);
      return {};
    };
    Result<void> r;
    if (key == "edition")
      r = str_field(in.edition);
    else if (key == "slug")
      r = str_field(in.slug);
    else if (key == "section")
      r = str_field(in.section);
    else if (key == "headline")
      r = str_field(in.headline);
    else if (key == "teaser")
      r = str_field(in.teaser);
    else if (key == "body")
      r = str_field(in.body);
    else if (key == "author")
      r = str_field(in.author);
    else if (key == "top") {
      if (!v.is_boolean()) return fail(ErrorCode::invalid, "top must be true or false", key);
      in.top = v.get<bool>();
    } else if (key == "tags") {
      if (!v.is_array()) return fail(ErrorCode::invalid, "tags must be an array of strings", key);
      std::vector<std::string> tags;
      for (const auto& t : v) {
        if (!t.is_string())
          return fail(ErrorCode::invalid, "tags must be an array of strings", key);
        tags.push_back(t.get<std::string>());
      }
      in.tags = std::move(tags);
    } else if (key == "related") {
      if (!v.is_array())
        return fail(ErrorCode::invalid, "related must be an array of article ids", key);
      std::vector<std::int64_t> ids;
      for (const auto& t : v) {
        if (!t.is_number_integer())
          return fail(ErrorCode::invalid, "related must be an array of article ids", key);
        ids.push_back(t.get<std::int64_t>());
      }
      in.related = std::move(ids);
    } else if (key == "translation_of") {
      if (!v.is_number_integer())
        return fail(ErrorCode::invalid, "translation_of must be an article id", key);
      in.translation_of = v.get<std::int64_t>();
    } else if (key == "version") {
      if (!v.is_number_integer())
        return fail(ErrorCode::invalid, "version must be an integer", key);
      expected_version = v.get<int>();
    } else if (key == "published_at") {
      if (!v.is_string())
        return fail(ErrorCode::invalid, "published_at must be an RFC 3339 time", key);
      auto t = parse_rfc3339(v.get<std::string>());
      if (!t) return fail(ErrorCode::invalid, "published_at must be an RFC 3339 time", key);
      in.published_at = t;
    } else if (key == "image") {
      auto img = parse_image(v);
      if (!img) return std::unexpected(img.error());
      in.image = std::move(*img);
    }
    if (!r) return std::unexpected(r.error());
  }
  (void)creating;
  return in;
}

}  // namespace depesche::api
