#pragma once
// JSON API v1 for sections and articles. Reads are public (published only);
// writes need `Authorization: Bearer <token>` of an editor or admin.

#include "domain/article_service.hpp"
#include "domain/token_service.hpp"
#include "net/router.hpp"

namespace depesche::api {

class ArticlesApi {
 public:
  ArticlesApi(domain::ArticleService& articles, domain::TokenService& tokens)
      : articles_(articles), tokens_(tokens) {}
  void register_routes(net::Router& router);

 private:
  /// The caller's role from a bearer token; nullopt for anonymous callers;
  /// an error for a token that is present but invalid.
  Result<std::optional<domain::Role>> caller_role(const net::Request& req);
  Result<void> require_editor(const net::Request& req);
  net::Response article_response(int status, const domain::Article& a);

  net::Response list(net::Request& req);
  net::Response get(net::Request& req);
  net::Response create(net::Request& req);
  net::Response patch(net::Request& req);
  net::Response publish(net::Request& req);
  net::Response sections(net::Request& req);
  net::Response create_section(net::Request& req);

  domain::ArticleService& articles_;
  domain::TokenService& tokens_;
};

/// The JSON 404 for unknown paths under /api/.
net::Response api_not_found(const net::Request& req);

}  // namespace depesche::api
