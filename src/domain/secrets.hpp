#pragma once
// Random secrets and their stored form. Every secret handed to a user (a
// session cookie, a mailed link, an API token) is 256 random bits, and the
// store keeps only its SHA-256: a leaked database opens nothing, and a fast
// hash is enough for secrets that cannot be guessed.

#include <cstddef>
#include <string>
#include <string_view>

namespace depesche::domain {

/// `bytes` bytes from libsodium's CSPRNG, base64url without padding.
std::string random_secret(std::size_t bytes = 32);

/// Lower-case hex SHA-256 of `secret`.
std::string sha256_hex(std::string_view secret);

/// Compares in time independent of where the strings differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace depesche::domain
