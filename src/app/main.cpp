#include <exception>
#include <iostream>

#include "app/cli.hpp"

extern char** environ;

int main(int argc, char** argv) {
  try {
    return depesche::app::run_cli(argc, argv, environ);
  } catch (const std::exception& e) {
    std::cerr << "depesche: fatal: " << e.what() << "\n";
    return 1;
  }
}
