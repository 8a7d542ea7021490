#pragma once

namespace depesche::app {

/// The `depesche` command line: serve, migrate, demo, token create|revoke|list,
/// config. Returns the process exit code.
int run_cli(int argc, char** argv, char** environ);

}  // namespace depesche::app
