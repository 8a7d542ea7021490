#include "net/trusted_proxies.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <optional>

namespace depesche::net {
namespace ip = boost::asio::ip;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<ip::address> parse_address(std::string_view s) {
  boost::system::error_code ec;
  auto a = ip::make_address(std::string(s), ec);
  if (ec) return std::nullopt;
  // An IPv4 client seen through an IPv6 socket is the same client.
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::address(a.to_v6().to_v4());
  return a;
}

// The address as the rest of the server names clients (IPv4 unmapped).
std::string canonical(std::string_view s) {
  auto a = parse_address(s);
  return a ? a->to_string() : std::string(s);
}

struct Bytes {
  bool v4;
  std::array<std::uint8_t, 16> bytes{};
};

Bytes bytes_of(const ip::address& a) {
  Bytes b{a.is_v4(), {}};
  if (a.is_v4()) {
    auto v = a.to_v4().to_bytes();
    std::copy(v.begin(), v.end(), b.bytes.begin());
  } else {
    b.bytes = a.to_v6().to_bytes();
  }
  return b;
}

bool prefix_matches(const std::array<std::uint8_t, 16>& x, const std::array<std::uint8_t, 16>& y,
                    unsigned prefix) {
  for (unsigned i = 0; 8 * i < prefix; ++i) {
    unsigned bits = std::min(8u, prefix - 8 * i);
    auto mask = static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((x[i] & mask) != (y[i] & mask)) return false;
  }
  return true;
}

}  // namespace

Result<TrustedProxies> TrustedProxies::parse(const std::vector<std::string>& entries) {
  TrustedProxies t;
  for (const auto& raw : entries) {
    std::string_view entry = trim(raw);
    if (entry.empty()) continue;
    auto slash = entry.find('/');
    auto base = parse_address(entry.substr(0, slash));
    if (!base) return fail(ErrorCode::invalid, "'" + raw + "' is not an IP address or network");
    unsigned max = base->is_v4() ? 32 : 128;
    unsigned prefix = max;
    if (slash != std::string_view::npos) {
      auto bits = entry.substr(slash + 1);
      auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
      if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || prefix > max)
        return fail(ErrorCode::invalid,
                    "'" + raw + "': the prefix length must be 0 to " + std::to_string(max));
    }
    Bytes b = bytes_of(*base);
    t.networks_.push_back({b.v4, b.bytes, prefix});
  }
  return t;
}

bool TrustedProxies::contains(bool v4, const std::array<std::uint8_t, 16>& bytes) const {
  for (const auto& n : networks_)
    if (n.v4 == v4 && prefix_matches(bytes, n.base, n.prefix)) return true;
  return false;
}

bool TrustedProxies::contains(std::string_view address) const {
  auto a = parse_address(address);
  if (!a) return false;
  Bytes b = bytes_of(*a);
  return contains(b.v4, b.bytes);
}

std::string TrustedProxies::client_address(std::string_view peer,
                                           std::string_view forwarded_for) const {
  if (networks_.empty()) return std::string(peer);
  auto believed = parse_address(peer);
  auto trusted = [&](const ip::address& a) {
    Bytes b = bytes_of(a);
    return contains(b.v4, b.bytes);
  };
  if (!believed || !trusted(*believed)) return canonical(peer);
  while (!forwarded_for.empty()) {
    auto comma = forwarded_for.rfind(',');
    std::string_view element =
        trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for =
        comma == std::string_view::npos ? std::string_view{} : forwarded_for.substr(0, comma);
    auto a = parse_address(element);
    if (!a) break;
    believed = a;
    if (!trusted(*a)) break;
  }
  return believed->to_string();
}

}  // namespace depesche::net
