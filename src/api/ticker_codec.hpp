#pragma once
// Ticker entries and live blogs as JSON (DESIGN.md "Resources").

#include <nlohmann/json.hpp>
#include <string_view>

#include "base/error.hpp"
#include "domain/ticker.hpp"

namespace depesche::api {

nlohmann::json entry_json(const domain::TickerEntry& e);
nlohmann::json live_blog_json(const domain::LiveBlog& b);
/// Parses an entry from a request body; unknown fields and wrong types are
/// invalid, naming the field.
Result<domain::TickerEntryInput> parse_entry_input(std::string_view body);

}  // namespace depesche::api
