#include "api/ticker_codec.hpp"

#include "api/image_codec.hpp"

namespace depesche::api {

using nlohmann::json;

json entry_json(const domain::TickerEntry& e) {
  json j = {{"id", e.id},
            {"ticker", e.ticker},
            {"title", e.title},
            {"body", e.body},
            {"body_html", e.body_html},
            {"image", image_json(e.image)},
            {"article_id", e.article_id ? json(*e.article_id) : json(nullptr)},
            {"article_url", e.article_path.empty() ? json(nullptr) : json(e.article_path)},
            {"pinned", e.pinned},
            {"breaking", e.breaking},
            {"created_at", format_rfc3339(e.created_at)},
            {"updated_at", format_rfc3339(e.updated_at)}};
  return j;
}

json live_blog_json(const domain::LiveBlog& b) {
  return {{"id", b.slug},
          {"edition", b.edition},
          {"title", b.title},
          {"teaser", b.teaser},
          {"created_at", format_rfc3339(b.created_at)},
          {"ended_at", b.ended_at ? json(format_rfc3339(*b.ended_at)) : json(nullptr)},
          {"url", "/" + b.edition + "/live/" + b.slug}};
}

Result<domain::TickerEntryInput> parse_entry_input(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return fail(ErrorCode::invalid, "the body is not valid JSON");
  if (!j.is_object()) return fail(ErrorCode::invalid, "the body must be a JSON object");
  domain::TickerEntryInput in;
  for (auto& [key, v] : j.items()) {
    if (key == "title" || key == "body") {
      if (!v.is_string()) return fail(ErrorCode::invalid, key + " must be a string", key);
      (key == "title" ? in.title : in.body) = v.get<std::string>();
    } else if (key == "pinned" || key == "breaking") {
      if (!v.is_boolean()) return fail(ErrorCode::invalid, key + " must be true or false", key);
      (key == "pinned" ? in.pinned : in.breaking) = v.get<bool>();
    } else if (key == "article_id") {
      if (v.is_null()) {
        in.article_id = std::optional<std::int64_t>();
      } else if (v.is_number_integer() && v.get<std::int64_t>() > 0) {
        in.article_id = std::optional<std::int64_t>(v.get<std::int64_t>());
      } else {
        return fail(ErrorCode::invalid, "article_id must be an article's id or null", key);
      }
    } else if (key == "image") {
      auto img = parse_image(v);
      if (!img) return std::unexpected(domain::as_entry_image_error(img.error()));
      in.image = std::move(*img);
    } else {
      return fail(ErrorCode::invalid, "unknown field '" + key + "'", key);
    }
  }
  return in;
}

}  // namespace depesche::api
