#pragma once
// Random names for Message-IDs, MIME boundaries and maildir files.

#include <cstddef>
#include <string>

namespace depesche::mail {

/// `bytes` random bytes from libsodium's CSPRNG as lowercase hex (2 * bytes
/// characters). Thread-safe. Throws std::runtime_error if libsodium cannot
/// initialise, which only happens on a broken system.
std::string random_hex(std::size_t bytes);

}  // namespace depesche::mail
