#include <malloc.h>

#include <exception>
#include <iostream>

#include "app/cli.hpp"

extern char** environ;

namespace {

// glibc raises its mmap threshold each time a mapped block is freed (up to
// 32 MiB), so after the first large request body is freed the next ones come
// from the heap and stay there: 2,000 slow bodies a round left RSS at 135,
// then 293, then 300 MiB. A fixed threshold keeps every buffer of 256 KiB or
// more (bodies, replays, queues) in its own mapping, returned when freed.
constexpr int kMmapThresholdBytes = 256 * 1024;

}  // namespace

int main(int argc, char** argv) {
  ::mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  try {
    return depesche::app::run_cli(argc, argv, environ);
  } catch (const std::exception& e) {
    std::cerr << "depesche: fatal: " << e.what() << "\n";
    return 1;
  }
}
