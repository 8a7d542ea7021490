#pragma once
// What every fuzz target defines: libFuzzer's entry point. Built with
// clang's -fsanitize=fuzzer (`make fuzz`), libFuzzer drives it; built with
// the ci preset (g++, ASan + UBSan), tests/fuzz/replay.cpp drives it over
// the seed corpus and a fixed number of mutations, as a smoke test in
// `make test`.

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// A property the code under test must keep, whatever the input: a broken
/// one is a finding, reported as a crash so both drivers stop on it.
[[noreturn]] void broken(const char* what, std::string_view input);

inline void expect(bool ok, const char* what, std::string_view input) {
  if (!ok) broken(what, input);
}

}  // namespace fuzz
