// A config file and environment as an operator might get them wrong:
// `app::load_config` reads the TOML and the DEPESCHE_ variables and
// answers a config or an error that says what is wrong; it never crashes,
// and an accepted config holds only values inside each option's range.
// The input is the file; lines after a line "#ENV" become the environment.

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "fuzz_target.hpp"

namespace {

std::string config_path() {
  std::filesystem::path dir =
      std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  return (dir / ("depesche-config-fuzz-" + std::to_string(::getpid()) + ".toml")).string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = fuzz::as_text(data, size);
  std::string_view file = input;
  std::vector<std::string> env;
  if (auto at = input.find("\n#ENV\n"); at != std::string_view::npos) {
    file = input.substr(0, at);
    std::string_view rest = input.substr(at + 6);
    while (!rest.empty()) {
      auto nl = rest.find('\n');
      std::string line(rest.substr(0, nl));
      if (line.find('\0') == std::string::npos) env.push_back(std::move(line));
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
  }
  static const std::string path = config_path();
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(file.data(), 1, file.size(), f);
    std::fclose(f);
  } else {
    return 0;
  }
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  auto config = depesche::app::load_config(path, envp.data());
  if (!config) fuzz::expect(!config.error().message.empty(), "an error explains itself", input);
  if (config) {
    fuzz::expect(config->server_max_header_bytes > 0, "header limit positive", input);
    fuzz::expect(!config->host.empty(), "a host to listen on", input);
  }
  return 0;
}
