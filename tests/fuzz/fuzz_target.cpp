#include "fuzz_target.hpp"

#include <cstdio>
#include <cstdlib>

namespace fuzz {

void broken(const char* what, std::string_view input) {
  std::fprintf(stderr, "fuzz: property broken: %s (input of %zu bytes)\n", what, input.size());
  std::abort();
}

}  // namespace fuzz
