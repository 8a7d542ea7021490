#include "net/router.hpp"

#include <gtest/gtest.h>

using namespace depesche::net;

namespace {
constexpr Access kAnyone{Who::anyone, Via::nothing};
Handler named(std::string name) {
  return [name](Request&) { return Response(200, "text/plain", name); };
}
Request get(std::string path, Method m = Method::get) {
  Request r;
  r.method = m;
  r.path = std::move(path);
  return r;
}
std::string run(Router& router, Request req) {
  auto m = router.match(req);
  if (!m.route) return m.method_allowed ? "404" : "405:" + m.allow;
  return m.route->handler(req).body;
}
}  // namespace

TEST(Router, MatchesParametersAndPrefersLiteralSegments) {
  Router r;
  r.add({Method::get}, "/{ed}/{section}/", kAnyone, named("section"));
  r.add({Method::get}, "/{ed}/articles/{slug}", kAnyone, named("article"));
  r.add({Method::get}, "/api/v1/articles/{id}", kAnyone, named("api"));
  r.add({Method::get}, "/{ed}/", kAnyone, named("home"));
  EXPECT_EQ(run(r, get("/de/")), "home");
  EXPECT_EQ(run(r, get("/de/politik/")), "section");
  EXPECT_EQ(run(r, get("/de/articles/x")), "article");
  EXPECT_EQ(run(r, get("/api/v1/articles/7")), "api");
  EXPECT_EQ(run(r, get("/de/articles/")), "section");
  EXPECT_EQ(run(r, get("/de/articles/x/y")), "404");
  EXPECT_EQ(run(r, get("/")), "404");
}

TEST(Router, FillsNamedParameters) {
  Router r;
  r.add({Method::get}, "/{ed}/articles/{slug}", kAnyone, named("article"));
  Request req = get("/ru/articles/kubok");
  auto m = r.match(req);
  ASSERT_TRUE(m.route);
  EXPECT_EQ(req.param("ed"), "ru");
  EXPECT_EQ(req.param("slug"), "kubok");
  EXPECT_EQ(req.route, "/{ed}/articles/{slug}");
}

TEST(Router, TailParameterTakesTheRestOfThePath) {
  Router r;
  r.add({Method::get}, "/static/{*path}", kAnyone, named("static"));
  Request req = get("/static/js/live.js");
  ASSERT_TRUE(r.match(req).route);
  EXPECT_EQ(req.param("path"), "js/live.js");
  EXPECT_EQ(run(r, get("/static/")), "404");
}

TEST(Router, ReportsMethodNotAllowedWithAllow) {
  Router r;
  r.add({Method::get}, "/api/v1/articles", kAnyone, named("list"));
  r.add({Method::post}, "/api/v1/articles", kAnyone, named("create"));
  EXPECT_EQ(run(r, get("/api/v1/articles", Method::post)), "create");
  EXPECT_EQ(run(r, get("/api/v1/articles", Method::head)), "list");
  EXPECT_EQ(run(r, get("/api/v1/articles", Method::del)), "405:GET, HEAD, POST");
}

TEST(Router, AbsurdlyDeepPathsMatchNothing) {
  Router r;
  r.add({Method::get}, "/static/{*path}", kAnyone, named("static"));
  std::string deep = "/static";
  for (int i = 0; i < 40; ++i) deep += "/a";
  EXPECT_EQ(run(r, get(deep)), "404");
  EXPECT_EQ(run(r, get("/static/a/b/c")), "static");
  EXPECT_EQ(run(r, get("/static/")), "404");
  EXPECT_EQ(run(r, get("")), "404");
}

TEST(Router, KeepsEachRoutesDeclaredAccessThroughDecoration) {
  Router r;
  r.add({Method::get}, "/api/v1/me", {Who::signed_in, Via::session}, named("me"));
  r.add({Method::post}, "/api/v1/articles", {Who::editor, Via::bearer}, named("create"));
  r.set_upgrade("/live", {Who::anyone, Via::session}, Upgrade{});
  // A cross-cutting wrapper (idempotent POSTs) changes the handler only.
  r.decorate([](const Route& route) { return route.pattern == "/api/v1/articles"; },
             [](Handler inner) -> Handler {
               return [inner](Request& req) {
                 Response res = inner(req);
                 res.body += "+wrapped";
                 return res;
               };
             });
  ASSERT_EQ(r.routes().size(), 2u);
  EXPECT_EQ(r.routes()[0].access.who, Who::signed_in);
  EXPECT_EQ(r.routes()[0].access.via, Via::session);
  EXPECT_EQ(r.routes()[1].access.who, Who::editor);
  EXPECT_EQ(r.routes()[1].access.via, Via::bearer);
  EXPECT_EQ(run(r, get("/api/v1/articles", Method::post)), "create+wrapped");
  EXPECT_EQ(r.upgrade_path(), "/live");
  EXPECT_EQ(r.upgrade_access().via, Via::session);
  EXPECT_STREQ(to_string(Who::signed_in), "signed_in");
  EXPECT_STREQ(to_string(Via::session_or_bearer), "session_or_bearer");
}

TEST(Http, DecodesPercentEscapesAndRejectsBadOnes) {
  std::string out;
  EXPECT_TRUE(percent_decode("/a%20b+c", out, false));
  EXPECT_EQ(out, "/a b+c");
  EXPECT_TRUE(percent_decode("a+b", out, true));
  EXPECT_EQ(out, "a b");
  EXPECT_FALSE(percent_decode("%zz", out, false));
  EXPECT_FALSE(percent_decode("%4", out, false));
  EXPECT_FALSE(percent_decode("%", out, false));
}

TEST(Http, ReadsQueryParameters) {
  Request r;
  r.query = "edition=de&q=Gespr%C3%A4ch+heute&empty=&flag";
  EXPECT_EQ(r.query_param("edition"), "de");
  EXPECT_EQ(r.query_param("q"), "Gespräch heute");
  EXPECT_EQ(r.query_param("empty"), "");
  EXPECT_EQ(r.query_param("flag"), "");
  EXPECT_FALSE(r.query_param("missing"));
  EXPECT_EQ(parse_query(r.query).size(), 4u);
  EXPECT_EQ(url_encode("a b/ü"), "a%20b%2F%C3%BC");
}
