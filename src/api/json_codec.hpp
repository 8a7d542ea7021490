#pragma once
// Article resources as JSON (DESIGN.md "Resources") and strict parsing of
// editors' input: unknown fields and wrong types are errors, not ignored.

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "domain/article.hpp"
#include "domain/article_service.hpp"

namespace depesche::api {

/// The article resource; `translations` maps edition → id, `related` are ids.
nlohmann::json article_json(const domain::Article& a,
                            const std::map<std::string, std::int64_t>& translations,
                            const std::vector<std::int64_t>& related, bool with_body);

/// Parses a create (POST) or change (PATCH) body. On PATCH, `edition` may
/// appear but must not change; `version` is returned separately.
Result<domain::ArticleInput> parse_article_input(std::string_view body, bool creating,
                                                 std::optional<int>& expected_version);

}  // namespace depesche::api
