#pragma once
// JSON API v1 for tickers: an edition's ticker is named by the edition code,
// a live blog's by its slug. Reads are public; writes need an editor (bearer
// token, or an editor's session with the CSRF header).
//
//   GET    /api/v1/tickers?edition=de                 the edition's ticker and live blogs
//   POST   /api/v1/tickers {slug,edition,title,teaser} a live blog
//   GET    /api/v1/tickers/{id}/entries?order=newest|oldest&cursor=&limit=
//   POST   /api/v1/tickers/{id}/entries               an entry (body required)
//   GET    /api/v1/tickers/{id}/entries/{entry}
//   PATCH  /api/v1/tickers/{id}/entries/{entry}
//   DELETE /api/v1/tickers/{id}/entries/{entry}

#include "api/caller.hpp"
#include "domain/ticker_service.hpp"
#include "net/router.hpp"

namespace depesche::api {

class TickersApi {
 public:
  TickersApi(domain::TickerService& tickers, const CallerAuth& callers)
      : tickers_(tickers), callers_(callers) {}
  void register_routes(net::Router& router);

 private:
  net::Response list_tickers(net::Request& req);
  net::Response create_live_blog(net::Request& req);
  net::Response patch_live_blog(net::Request& req);
  net::Response list_entries(net::Request& req);
  net::Response list_pinned(net::Request& req);
  net::Response post_entry(net::Request& req);
  net::Response get_entry(net::Request& req);
  net::Response patch_entry(net::Request& req);
  net::Response delete_entry(net::Request& req);

  domain::TickerService& tickers_;
  const CallerAuth& callers_;
};

}  // namespace depesche::api
