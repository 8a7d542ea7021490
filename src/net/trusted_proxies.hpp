#pragma once
// Which peers may tell us the client's address. Behind a reverse proxy the
// TCP peer is the proxy; it names the client in X-Forwarded-For. Only a
// proxy the operator listed is believed, or any client could pick the
// address its rate limits are counted against.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace depesche::net {

class TrustedProxies {
 public:
  /// Addresses and CIDR networks: "127.0.0.1", "10.0.0.0/8", "::1",
  /// "fd00::/8". invalid for anything else.
  static Result<TrustedProxies> parse(const std::vector<std::string>& entries);

  bool empty() const { return networks_.empty(); }
  /// True when `address` (text, IPv4 or IPv6) is in a listed network.
  bool contains(std::string_view address) const;

  /// The client's address: the peer itself unless it is a trusted proxy;
  /// then X-Forwarded-For read from the right, skipping trusted proxies, up
  /// to the first address that is not one (a client can put anything at the
  /// left end, so that end is never believed past a stranger). A malformed
  /// element ends the walk at the last address believed.
  std::string client_address(std::string_view peer, std::string_view forwarded_for) const;

 private:
  // An address as 16 bytes (IPv4 in the first 4), so Asio stays in the .cpp.
  struct Network {
    bool v4;
    std::array<std::uint8_t, 16> base;
    unsigned prefix;
  };
  bool contains(bool v4, const std::array<std::uint8_t, 16>& bytes) const;
  std::vector<Network> networks_;
};

}  // namespace depesche::net
