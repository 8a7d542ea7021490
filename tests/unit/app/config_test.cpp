#include "app/config.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "app/store_opener.hpp"
#include "store_fixture.hpp"

using depesche::app::load_config;

namespace {
std::vector<char*> env_of(std::vector<std::string>& storage) {
  std::vector<char*> out;
  for (auto& s : storage) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}
}  // namespace

TEST(Config, HasSaneDefaults) {
  auto c = load_config("", nullptr);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->server_listen, "127.0.0.1:8080");
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->server_max_body_bytes, 1024 * 1024);
  EXPECT_EQ(c->site_editions, (std::vector<std::string>{"de", "en", "ru"}));
}

TEST(Config, ReadsTomlThenEnvironment) {
  TempDir dir;
  auto path = (dir.path / "depesche.toml").string();
  std::ofstream(path) << "[server]\nlisten = \"0.0.0.0:9000\"\nmax_body_bytes = "
                         "2048\n[site]\neditions = [\"de\", \"en\"]\n"
                         "default_edition = \"de\"\n";
  std::vector<std::string> env = {"DEPESCHE_SERVER_LISTEN=127.0.0.1:0", "DEPESCHE_LOG_ACCESS=false",
                                  "PATH=/usr/bin", "DEPESCHE_BIN=/tmp/x"};
  auto e = env_of(env);
  auto c = load_config(path, e.data());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->port, 0);
  EXPECT_EQ(c->server_max_body_bytes, 2048);
  EXPECT_FALSE(c->log_access);
  EXPECT_EQ(c->site_default_edition, "de");
}

TEST(Config, RejectsUnknownKeysAndBadValues) {
  TempDir dir;
  auto path = (dir.path / "bad.toml").string();
  std::ofstream(path) << "[server]\nlisten = \"127.0.0.1:1\"\nlistn = 3\n";
  auto c = load_config(path, nullptr);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("server.listn"), std::string::npos);

  auto check_env = [](std::string var, std::string expect) {
    std::vector<std::string> env = {var};
    auto e = env_of(env);
    auto r = load_config("", e.data());
    ASSERT_FALSE(r) << var;
    EXPECT_NE(r.error().message.find(expect), std::string::npos) << r.error().message;
  };
  check_env("DEPESCHE_SERVER_THREADS=abc", "expected an integer");
  check_env("DEPESCHE_SERVER_THREADS=100000", "outside");
  check_env("DEPESCHE_SERVER_LISTN=x", "unknown config variable DEPESCHE_SERVER_LISTN");
  check_env("DEPESCHE_LOG_ACCESS=maybe", "true or false");
  check_env("DEPESCHE_SERVER_LISTEN=localhost", "host:port");
  check_env("DEPESCHE_SITE_DEFAULT_EDITION=fr", "site.default_edition");
  check_env("DEPESCHE_SITE_EDITIONS=de,EN", "not an edition code");
  check_env("DEPESCHE_LOG_LEVEL=loud", "log.level");
  check_env("DEPESCHE_SERVER_TRUSTED_PROXIES=10.0.0.1,10.0.0.0/33", "server.trusted_proxies");
  check_env("DEPESCHE_SERVER_TRUSTED_PROXIES=proxy.internal", "proxy.internal");
}

TEST(Config, RejectsMalformedToml) {
  TempDir dir;
  auto path = (dir.path / "broken.toml").string();
  std::ofstream(path) << "[server\nlisten = 1\n";
  EXPECT_FALSE(load_config(path, nullptr));
  auto typed = (dir.path / "typed.toml").string();
  std::ofstream(typed) << "[server]\nthreads = \"four\"\n";
  auto r = load_config(typed, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("server.threads"), std::string::npos);
}

TEST(Config, SelectsTheStoreByUrlScheme) {
  auto load = [](std::string url) {
    std::vector<std::string> env = {"DEPESCHE_STORE_URL=" + url};
    auto e = env_of(env);
    return load_config("", e.data());
  };
  EXPECT_TRUE(load(""));
  EXPECT_TRUE(load("postgres://depesche@127.0.0.1:5432/news"));
  EXPECT_TRUE(load("postgresql://depesche:secret@db.internal/news?sslmode=require"));
  auto c = load_config("", nullptr);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->store_pool_size, 0);
  EXPECT_EQ(depesche::app::postgres_pool_size(*c),
            std::min<std::size_t>(static_cast<std::size_t>(c->server_blocking_threads) + 2, 16));
  for (auto [url, expect] : std::vector<std::pair<std::string, std::string>>{
           {"mysql://root:hunter2@db/news", "'mysql' is not a store"},
           {"sqlite:///var/lib/depesche.db", "'sqlite' is not a store"},
           {"/var/lib/depesche.db", "no scheme"},
           {"postgres://db.internal/news?nosuchoption=1", "not a valid PostgreSQL URL"},
           {"postgres://db.internal:notaport/news%zz", "not a valid PostgreSQL URL"},
       }) {
    auto r = load(url);
    ASSERT_FALSE(r) << url;
    EXPECT_TRUE(r.error().message.starts_with("store.url: ")) << r.error().message;
    EXPECT_NE(r.error().message.find(expect), std::string::npos) << r.error().message;
    // A password in the URL is never repeated.
    EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
  }
}
