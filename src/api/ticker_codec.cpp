#include "api/ticker_codec.hpp"

namespace depesche::api {

using nlohmann::json;

json entry_json(const domain::TickerEntry& e) {
  json j = {{"id", e.id},
            {"ticker", e.ticker},
            {"title", e.title},
            {"body", e.body},
            {"body_html", e.body_html},
            {"image", nullptr},
            {"article_id", e.article_id ? json(*e.article_id) : json(nullptr)},
            {"article_url", e.article_path.empty() ? json(nullptr) : json(e.article_path)},
            {"pinned", e.pinned},
            {"breaking", e.breaking},
            {"created_at", format_rfc3339(e.created_at)},
            {"updated_at", format_rfc3339(e.updated_at)}};
  if (e.image)
    j["image"] = {{"url", e.image->url},
                  {"caption", e.image->caption},
                  {"credit", e.image->credit},
                  {"width", e.image->width},
                  {"height", e.image->height}};
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
      if (v.is_null()) {
        in.image = std::optional<domain::Image>();
        continue;
      }
      if (!v.is_object()) return fail(ErrorCode::invalid, "image must be an object or null", key);
      domain::Image img;
      for (auto& [ik, iv] : v.items()) {
        if (ik == "url" || ik == "caption" || ik == "credit") {
          if (!iv.is_string())
            return fail(ErrorCode::invalid, "image." + ik + " must be a string", key);
          (ik == "url"       ? img.url
           : ik == "caption" ? img.caption
                             : img.credit) = iv.get<std::string>();
        } else if (ik == "width" || ik == "height") {
          if (!iv.is_number_integer() || iv.get<std::int64_t>() < 0 ||
              iv.get<std::int64_t>() > 20000)
            return fail(ErrorCode::invalid, "image." + ik + " must be an integer from 0 to 20000",
                        key);
          (ik == "width" ? img.width : img.height) = static_cast<int>(iv.get<std::int64_t>());
        } else {
          return fail(ErrorCode::invalid, "unknown field 'image." + ik + "'", key);
        }
      }
      if (img.url.empty()) return fail(ErrorCode::invalid, "image.url is required", key);
      in.image = std::optional<domain::Image>(img);
    } else {
      return fail(ErrorCode::invalid, "unknown field '" + key + "'", key);
    }
  }
  return in;
}

}  // namespace depesche::api
