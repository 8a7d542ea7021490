#include "live/websocket_protocol.hpp"

#include <array>
#include <cstring>

namespace depesche::live {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// SHA-1 (FIPS 180-4), only for the handshake, where RFC 6455 requires it;
// it protects nothing, so its weakness does not matter here.
std::array<std::uint8_t, 20> sha1(std::string_view data) {
  std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  std::string msg(data);
  std::uint64_t bit_len = static_cast<std::uint64_t>(data.size()) * 8;
  msg += static_cast<char>(0x80);
  while (msg.size() % 64 != 56) msg += '\0';
  for (int i = 7; i >= 0; --i) msg += static_cast<char>((bit_len >> (i * 8)) & 0xff);
  auto rol = [](std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); };
  for (std::size_t chunk = 0; chunk < msg.size(); chunk += 64) {
    std::uint32_t w[80];
    for (int i = 0; i < 16; ++i) {
      auto b = [&](int k) {
        return static_cast<std::uint32_t>(static_cast<std::uint8_t>(msg[chunk + i * 4 + k]));
      };
      w[i] = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
    }
    for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      std::uint32_t f, k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDC;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6;
      }
      std::uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rol(b, 30);
      b = a;
      a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
  std::array<std::uint8_t, 20> out{};
  for (int i = 0; i < 5; ++i)
    for (int k = 0; k < 4; ++k) out[i * 4 + k] = static_cast<std::uint8_t>(h[i] >> (24 - k * 8));
  return out;
}

std::string base64(const std::uint8_t* data, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; i += 3) {
    std::uint32_t v = static_cast<std::uint32_t>(data[i]) << 16;
    if (i + 1 < n) v |= static_cast<std::uint32_t>(data[i + 1]) << 8;
    if (i + 2 < n) v |= data[i + 2];
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < n ? kBase64[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kBase64[v & 63] : '=';
  }
  return out;
}

ParseResult error(std::uint16_t code, const char* reason) {
  return ParseResult{ParseStatus::error, 0, code, reason};
}

}  // namespace

std::string accept_key(std::string_view client_key) {
  std::string input(client_key);
  input += kGuid;
  auto digest = sha1(input);
  return base64(digest.data(), digest.size());
}

bool is_valid_client_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (char c : key.substr(0, 22))
    if (!std::strchr(kBase64, c) || c == '\0') return false;
  return true;
}

ParseResult parse_client_frame(std::string_view data, std::size_t max_payload, Frame& out) {
  if (data.size() < 2) return {};
  auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(data[i]); };
  bool fin = byte(0) & 0x80;
  if (byte(0) & 0x70) return error(close_code::protocol_error, "reserved bits set");
  auto op = byte(0) & 0x0f;
  bool control = op & 0x08;
  if (op != 0x0 && op != 0x1 && op != 0x2 && op != 0x8 && op != 0x9 && op != 0xA)
    return error(close_code::protocol_error, "unknown opcode");
  if (!(byte(1) & 0x80)) return error(close_code::protocol_error, "client frames must be masked");
  std::uint64_t len = byte(1) & 0x7f;
  std::size_t pos = 2;
  if (len == 126) {
    if (data.size() < 4) return {};
    len = (static_cast<std::uint64_t>(byte(2)) << 8) | byte(3);
    pos = 4;
  } else if (len == 127) {
    if (data.size() < 10) return {};
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | byte(2 + i);
    pos = 10;
    // RFC 6455 5.2: the most significant bit of a 64-bit length must be 0.
    if (len >> 63) return error(close_code::protocol_error, "bad payload length");
  }
  if (control && (len > 125 || !fin)) return error(close_code::protocol_error, "bad control frame");
  if (len > max_payload) return error(close_code::too_big, "message too big");
  // Compared as a difference: len is at most max_payload, but pos + 4 + len
  // could still wrap with a limit near SIZE_MAX.
  if (data.size() < pos + 4 || data.size() - pos - 4 < len) return {};
  const std::uint8_t* mask = reinterpret_cast<const std::uint8_t*>(data.data() + pos);
  pos += 4;
  out.fin = fin;
  out.opcode = static_cast<Opcode>(op);
  out.payload.assign(data.data() + pos, static_cast<std::size_t>(len));
  for (std::size_t i = 0; i < out.payload.size(); ++i)
    out.payload[i] = static_cast<char>(static_cast<std::uint8_t>(out.payload[i]) ^ mask[i % 4]);
  return ParseResult{ParseStatus::frame, pos + static_cast<std::size_t>(len), 0, ""};
}

std::string server_frame(Opcode opcode, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 10);
  out += static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode));
  std::uint64_t len = payload.size();
  if (len < 126) {
    out += static_cast<char>(len);
  } else if (len <= 0xffff) {
    out += static_cast<char>(126);
    out += static_cast<char>((len >> 8) & 0xff);
    out += static_cast<char>(len & 0xff);
  } else {
    out += static_cast<char>(127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((len >> (i * 8)) & 0xff);
  }
  out.append(payload);
  return out;
}

std::string close_frame(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xff);
  reason = reason.substr(0, 123);
  while (!reason.empty() && !is_utf8(reason)) reason.remove_suffix(1);
  payload.append(reason);
  return server_frame(Opcode::close, payload);
}

bool is_utf8(std::string_view s) {
  std::size_t i = 0;
  auto b = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  while (i < s.size()) {
    std::uint8_t c = b(i);
    std::size_t n = c < 0x80                   ? 1
                    : (c >= 0xC2 && c <= 0xDF) ? 2
                    : (c >= 0xE0 && c <= 0xEF) ? 3
                    : (c >= 0xF0 && c <= 0xF4) ? 4
                                               : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((b(i + k) & 0xC0) != 0x80) return false;
    if (n == 3 && ((c == 0xE0 && b(i + 1) < 0xA0) || (c == 0xED && b(i + 1) >= 0xA0))) return false;
    if (n == 4 && ((c == 0xF0 && b(i + 1) < 0x90) || (c == 0xF4 && b(i + 1) >= 0x90))) return false;
    i += n;
  }
  return true;
}

std::uint16_t close_reply_code(std::string_view payload) {
  if (payload.empty()) return close_code::normal;
  if (payload.size() == 1) return close_code::protocol_error;
  auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                         static_cast<unsigned char>(payload[1]));
  bool valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
               (code >= 3000 && code <= 4999);
  if (!valid) return close_code::protocol_error;
  if (!is_utf8(payload.substr(2))) return close_code::invalid_payload;
  return code;
}

}  // namespace depesche::live
