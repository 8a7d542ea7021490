#include "app/cli.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/application.hpp"
#include "app/config.hpp"
#include "app/demo.hpp"
#include "base/log.hpp"
#include "domain/token_service.hpp"

namespace depesche::app {

int run_cli(int argc, char** argv, char** env) {
  CLI::App cli{"Depesche: a self-hosted real-time news platform"};
  cli.require_subcommand(1);
  std::string config_path;
  cli.add_option("-c,--config", config_path, "TOML config file")->check(CLI::ExistingFile);

  auto* serve = cli.add_subcommand("serve", "serve the site over HTTP");
  auto* migrate = cli.add_subcommand("migrate", "bring the database schema up to date and exit");
  auto* demo = cli.add_subcommand("demo", "load the sample content into an empty store");
  auto* config_cmd = cli.add_subcommand("config", "list every configuration key");
  auto* token = cli.add_subcommand("token", "manage API bearer tokens");
  token->require_subcommand(1);
  std::string token_name, token_role = "editor";
  auto* token_create = token->add_subcommand("create", "create a token and print its secret once");
  token_create->add_option("--name", token_name, "a name to recognise the token by")->required();
  token_create->add_option("--role", token_role, "editor or admin")
      ->check(CLI::IsMember({"reader", "moderator", "editor", "admin"}));
  auto* token_revoke = token->add_subcommand("revoke", "revoke a token by name");
  token_revoke->add_option("--name", token_name, "the token's name")->required();
  auto* token_list = token->add_subcommand("list", "list tokens (never their secrets)");
  for (auto* sub :
       {serve, migrate, demo, token, token_create, token_revoke, token_list, config_cmd})
    sub->fallthrough();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  if (config_cmd->parsed()) {
    std::cout << describe_config();
    return 0;
  }
  auto config = load_config(config_path, env);
  if (!config) {
    std::cerr << "depesche: " << config.error().message << "\n";
    return 2;
  }
  auto app = Application::open(std::move(*config));
  if (!app) {
    std::cerr << "depesche: " << app.error().message << "\n";
    return 1;
  }
  if (serve->parsed()) return (*app)->serve();
  if (migrate->parsed()) {
    log::info("schema is up to date");
    return 0;
  }
  if (demo->parsed()) {
    auto n = load_demo(**app);
    if (!n) {
      std::cerr << "depesche demo: " << n.error().message << "\n";
      return 1;
    }
    return 0;
  }
  auto& tokens = (*app)->tokens();
  if (token_create->parsed()) {
    auto t = tokens.create(token_name, *domain::parse_role(token_role));
    if (!t) {
      std::cerr << "depesche token create: " << t.error().message << "\n";
      return 1;
    }
    std::cout << t->secret << "\n";
    return 0;
  }
  if (token_revoke->parsed()) {
    if (auto r = tokens.revoke(token_name); !r) {
      std::cerr << "depesche token revoke: " << r.error().message << "\n";
      return 1;
    }
    return 0;
  }
  if (token_list->parsed()) {
    auto list = tokens.list();
    if (!list) return 1;
    for (const auto& t : *list)
      std::cout << t.name << "\t" << domain::to_string(t.role) << "\t"
                << format_rfc3339(t.created_at) << "\t"
                << (t.revoked_at ? "revoked " + format_rfc3339(*t.revoked_at) : "active") << "\n";
    return 0;
  }
  return 2;
}

}  // namespace depesche::app
