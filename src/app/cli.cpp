#include "app/cli.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "app/application.hpp"
#include "app/config.hpp"
#include "app/data_dir_lock.hpp"
#include "app/demo.hpp"
#include "base/log.hpp"
#include "domain/account_service.hpp"
#include "domain/token_service.hpp"
#include "store/store.hpp"

namespace depesche::app {
namespace {

// Ordered: a row's columns keep the table's order.
using Json = nlohmann::ordered_json;

Json hex_bytes(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return Json{{"hex", out}};
}

// A stored value as JSON: bytes, and text that is not UTF-8 (which JSON
// cannot carry), as {"hex": "..."}, so a dump loses nothing.
Json to_json(const store::StoredValue& v) {
  if (auto i = std::get_if<std::int64_t>(&v)) return *i;
  if (auto d = std::get_if<double>(&v)) return *d;
  if (auto b = std::get_if<store::StoredBytes>(&v)) return hex_bytes(b->bytes);
  if (auto t = std::get_if<std::string>(&v)) {
    Json j = *t;
    try {
      (void)j.dump();
    } catch (const Json::type_error&) {
      return hex_bytes(*t);
    }
    return j;
  }
  return nullptr;
}

// `depesche store dump`: one JSON object per stored row on stdout.
int dump_store(store::Store& store, const std::vector<std::string>& tables) {
  std::string line;
  auto r = store.dump(tables, [&](const store::StoredRow& row) {
    Json values = Json::object();
    for (const auto& [name, value] : row.columns) values[name] = to_json(value);
    line = Json{{"table", row.table}, {"row", std::move(values)}}.dump();
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  });
  std::fflush(stdout);
  if (!r) {
    std::cerr << "depesche store dump: " << r.error().message << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv, char** env) {
  CLI::App cli{"Depesche: a self-hosted real-time news platform"};
  cli.require_subcommand(1);
  std::string config_path;
  cli.add_option("-c,--config", config_path, "TOML config file")->check(CLI::ExistingFile);

  auto* serve = cli.add_subcommand("serve", "serve the site over HTTP");
  auto* routes = cli.add_subcommand(
      "routes",
      "print the route table serve would use, one JSON object per line (who may use each "
      "route, and by what), without serving");
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
  auto* user = cli.add_subcommand("user", "manage accounts");
  user->require_subcommand(1);
  std::string user_email, user_name, user_role = "reader";
  bool password_stdin = false;
  auto* user_create = user->add_subcommand(
      "create", "create a confirmed account (the password is read from stdin)");
  user_create->add_option("--email", user_email, "the account's e-mail address")->required();
  user_create->add_flag("--password-stdin", password_stdin, "read the password from stdin")
      ->required();
  user_create->add_option("--role", user_role, "reader, moderator, editor or admin")
      ->check(CLI::IsMember({"reader", "moderator", "editor", "admin"}));
  user_create->add_option("--name", user_name, "display name (default: the address's local part)");
  auto* user_role_cmd = user->add_subcommand("role", "change an account's role");
  user_role_cmd->add_option("--email", user_email, "the account's e-mail address")->required();
  user_role_cmd->add_option("--role", user_role, "reader, moderator, editor or admin")
      ->required()
      ->check(CLI::IsMember({"reader", "moderator", "editor", "admin"}));
  auto* mail_cmd = cli.add_subcommand("mail", "inspect and retry the mail outbox");
  mail_cmd->require_subcommand(1);
  std::string mail_state = "failed";
  auto* mail_list =
      mail_cmd->add_subcommand("list", "list mails in the outbox (never their bodies)");
  mail_list->add_option("--state", mail_state, "pending, sent or failed")
      ->check(CLI::IsMember({"pending", "sent", "failed"}));
  auto* mail_retry = mail_cmd->add_subcommand("retry", "queue failed mails again");
  auto* events_cmd = cli.add_subcommand("events", "inspect and reset the live event log");
  events_cmd->require_subcommand(1);
  std::string event_topic;
  auto* events_head =
      events_cmd->add_subcommand("head", "a topic's latest seq, epoch and oldest seq");
  events_head->add_option("--topic", event_topic, "e.g. ticker:de")->required();
  auto* events_reset = events_cmd->add_subcommand(
      "reset",
      "forget a topic's history: new epoch, so its readers refetch (best with the server stopped)");
  events_reset->add_option("--topic", event_topic, "e.g. ticker:de")->required();
  auto* store_cmd = cli.add_subcommand("store", "inspect what the store holds (read-only)");
  store_cmd->require_subcommand(1);
  std::vector<std::string> dump_tables;
  auto* store_tables = store_cmd->add_subcommand("tables", "list the tables the store keeps");
  auto* store_dump = store_cmd->add_subcommand(
      "dump", "print every stored row as one JSON object per line (secrets only as hashes)");
  store_dump->add_option("--table", dump_tables, "only this table (repeatable); default: all");
  for (auto* sub : {serve,        routes,       migrate,    demo,       token,       token_create,
                    token_revoke, token_list,   config_cmd, user,       user_create, user_role_cmd,
                    mail_cmd,     mail_list,    mail_retry, events_cmd, events_head, events_reset,
                    store_cmd,    store_tables, store_dump})
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
  // Their stdout is the dump or the table: log lines (a first run's
  // migrations) go to stderr.
  if (store_dump->parsed() || routes->parsed()) log::write_to_stderr();
  auto config = load_config(config_path, env);
  if (!config) {
    std::cerr << "depesche: " << config.error().message << "\n";
    return 2;
  }
  if (!config->testing_clock_file.empty()) {
    use_test_clock_file(config->testing_clock_file);
    log::warn(
        "test clock on: times are shifted by the milliseconds in testing.clock_file; "
        "for tests only",
        {{"file", config->testing_clock_file}});
  }
  // Before the store is opened: a second server must not even migrate.
  std::optional<DataDirLock> lock;
  for (auto* exclusive : {serve, migrate, demo}) {
    if (!exclusive->parsed()) continue;
    auto held = DataDirLock::acquire(config->data_dir, exclusive->get_name());
    if (!held) {
      std::cerr << "depesche " << exclusive->get_name() << ": " << held.error().message << "\n";
      return 1;
    }
    lock.emplace(std::move(*held));
  }
  auto app = Application::open(std::move(*config));
  if (!app) {
    std::cerr << "depesche: " << app.error().message << "\n";
    return 1;
  }
  if (serve->parsed()) return (*app)->serve();
  if (routes->parsed()) return (*app)->print_routes(std::cout);
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
  if (user_create->parsed()) {
    std::string password;
    std::getline(std::cin, password);
    if (user_name.empty()) user_name = user_email.substr(0, user_email.find('@'));
    auto a = (*app)->accounts().create_confirmed(user_email, password, user_name,
                                                 *domain::parse_role(user_role));
    if (!a) {
      std::cerr << "depesche user create: " << a.error().message << "\n";
      return 1;
    }
    std::cout << a->id << "\t" << a->email << "\t" << domain::to_string(a->role) << "\n";
    return 0;
  }
  if (user_role_cmd->parsed()) {
    auto& accounts = (*app)->store().accounts();
    auto a = accounts.by_email(domain::AccountService::normalise_email(user_email));
    if (!a) {
      std::cerr << "depesche user role: no account has that address\n";
      return 1;
    }
    if (auto r = accounts.set_role(a->id, *domain::parse_role(user_role)); !r) {
      std::cerr << "depesche user role: " << r.error().message << "\n";
      return 1;
    }
    return 0;
  }
  if (mail_list->parsed()) {
    domain::MailState state = mail_state == "pending" ? domain::MailState::pending
                              : mail_state == "sent"  ? domain::MailState::sent
                                                      : domain::MailState::failed;
    auto mails = (*app)->store().mail_queue().in_state(state, 1000);
    if (!mails) return 1;
    for (const auto& m : *mails)
      std::cout << m.id << "\t" << format_rfc3339(m.created_at) << "\t" << m.kind << "\t"
                << m.mail.to << "\tattempts=" << m.attempts << "\t" << m.last_error << "\n";
    return 0;
  }
  if (mail_retry->parsed()) {
    auto n = (*app)->store().mail_queue().retry_failed(now_millis());
    if (!n) return 1;
    std::cout << *n << " mails queued again; a running server sends them within a minute\n";
    return 0;
  }
  if (store_tables->parsed()) {
    auto names = (*app)->store().tables();
    if (!names) {
      std::cerr << "depesche store tables: " << names.error().message << "\n";
      return 1;
    }
    for (const auto& n : *names) std::cout << n << "\n";
    return 0;
  }
  if (store_dump->parsed()) return dump_store((*app)->store(), dump_tables);
  if (events_head->parsed()) {
    auto h = (*app)->store().events().head(event_topic);
    if (!h) {
      std::cerr << "depesche events head: " << h.error().message << "\n";
      return 1;
    }
    std::cout << event_topic << "\tseq=" << h->seq << "\tepoch=" << h->epoch
              << "\toldest=" << h->oldest << "\n";
    return 0;
  }
  if (events_reset->parsed()) {
    if (auto r = (*app)->store().events().reset_topic(event_topic); !r) {
      std::cerr << "depesche events reset: " << r.error().message << "\n";
      return 1;
    }
    std::cout << event_topic << ": history reset; readers resuming it will refetch\n";
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
