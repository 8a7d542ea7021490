// The driver for builds without libFuzzer (the ci preset: g++ with ASan
// and UBSan): runs a target over every file of its seed corpus, then over
// a fixed number of inputs mutated from them with a fixed seed, so the
// smoke test in `make test` is the same run every time. Long, coverage-
// guided runs are `make fuzz` (clang, libFuzzer).
//
//   <target> CORPUS_DIR [--runs=N] [--seed=S] [--max-len=BYTES]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "fuzz_target.hpp"

namespace {

using Input = std::vector<std::uint8_t>;

// Tokens that steer mutations towards the formats the targets read.
const std::vector<std::string> kTokens = {"\r\n",
                                          "\r\n\r\n",
                                          ": ",
                                          "Host: ",
                                          "Transfer-Encoding: chunked",
                                          "Content-Length: ",
                                          "{",
                                          "}",
                                          "[",
                                          "]",
                                          "\"",
                                          ":",
                                          ",",
                                          "null",
                                          "true",
                                          "-1",
                                          "18446744073709551616",
                                          "\\u0000",
                                          "\xff",
                                          "\xc3\xa9",
                                          "\xed\xa0\x80",
                                          "=",
                                          "[server]\n",
                                          "#ENV\n",
                                          "%00",
                                          "%2F",
                                          "../",
                                          "<script>",
                                          "javascript:",
                                          "](",
                                          "\x81\x85",
                                          "\x88\x82",
                                          std::string(1, '\0'),
                                          "type",
                                          "subscribe",
                                          "topic"};

Input mutate(const Input& base, const std::vector<Input>& corpus, std::mt19937_64& rng,
             std::size_t max_len) {
  Input out = base;
  int steps = 1 + static_cast<int>(rng() % 4);
  for (int s = 0; s < steps; ++s) {
    std::size_t pos = out.empty() ? 0 : rng() % (out.size() + 1);
    switch (rng() % 7) {
      case 0:  // flip a bit
        if (!out.empty()) out[pos % out.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // a random byte
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(pos),
                   static_cast<std::uint8_t>(rng()));
        break;
      case 2:  // drop a run
        if (!out.empty()) {
          std::size_t at = pos % out.size();
          std::size_t n = std::min<std::size_t>(out.size() - at, 1 + rng() % 16);
          out.erase(out.begin() + static_cast<std::ptrdiff_t>(at),
                    out.begin() + static_cast<std::ptrdiff_t>(at + n));
        }
        break;
      case 3: {  // a token
        const std::string& t = kTokens[rng() % kTokens.size()];
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(pos), t.begin(), t.end());
        break;
      }
      case 4: {  // splice from another input
        const Input& other = corpus[rng() % corpus.size()];
        if (!other.empty()) {
          std::size_t from = rng() % other.size();
          std::size_t n = std::min<std::size_t>(other.size() - from, 1 + rng() % 64);
          out.insert(out.begin() + static_cast<std::ptrdiff_t>(pos),
                     other.begin() + static_cast<std::ptrdiff_t>(from),
                     other.begin() + static_cast<std::ptrdiff_t>(from + n));
        }
        break;
      }
      case 5:  // repeat a run (long lines, deep nesting)
        if (!out.empty()) {
          std::size_t at = pos % out.size();
          std::size_t n = std::min<std::size_t>(out.size() - at, 1 + rng() % 8);
          Input run(out.begin() + static_cast<std::ptrdiff_t>(at),
                    out.begin() + static_cast<std::ptrdiff_t>(at + n));
          for (std::size_t k = rng() % 64; k > 0; --k)
            out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), run.begin(), run.end());
        }
        break;
      default:  // an interesting byte
        if (!out.empty()) {
          static constexpr std::uint8_t kBytes[] = {0, 0x7f, 0x80, 0xff, '\n', '\r', ' ', '0', '9'};
          out[pos % out.size()] = kBytes[rng() % std::size(kBytes)];
        }
    }
  }
  if (out.size() > max_len) out.resize(max_len);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [--runs=N] [--seed=S] [--max-len=BYTES]\n", argv[0]);
    return 2;
  }
  std::size_t runs = 10'000, max_len = 64 * 1024;
  std::uint64_t seed = 1;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.starts_with("--runs="))
      runs = std::stoul(a.substr(7));
    else if (a.starts_with("--seed="))
      seed = std::stoull(a.substr(7));
    else if (a.starts_with("--max-len="))
      max_len = std::stoul(a.substr(10));
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  std::vector<Input> corpus;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "%s: no seed inputs in %s\n", argv[0], argv[1]);
    return 2;
  }
  std::sort(corpus.begin(), corpus.end());  // the same order on every file system
  auto started = std::chrono::steady_clock::now();
  for (const Input& in : corpus) LLVMFuzzerTestOneInput(in.data(), in.size());
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < runs; ++i) {
    Input in = mutate(corpus[rng() % corpus.size()], corpus, rng, max_len);
    LLVMFuzzerTestOneInput(in.data(), in.size());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%s: %zu seeds and %zu mutations in %.1f s, no finding\n",
              std::filesystem::path(argv[0]).filename().c_str(), corpus.size(), runs, secs);
  return 0;
}
