#pragma once
// RFC 6455 on bytes: the handshake's accept key, parsing client frames and
// building server frames. No sockets here, so it is fast to unit-test and
// fuzz. Server frames are never masked and never fragmented; client frames
// must be masked (RFC 6455 5.1), and control frames are at most 125 bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace depesche::live {

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

/// Close codes used by Depesche (RFC 6455 7.4.1).
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;  // binary frames
inline constexpr std::uint16_t invalid_payload = 1007;   // not UTF-8 / not our JSON
inline constexpr std::uint16_t policy_violation = 1008;  // too many subscriptions, idle
inline constexpr std::uint16_t too_big = 1009;
inline constexpr std::uint16_t try_again_later = 1013;  // too slow to keep up
}  // namespace close_code

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
std::string accept_key(std::string_view client_key);

/// True for a Sec-WebSocket-Key: base64 of 16 bytes (24 characters).
bool is_valid_client_key(std::string_view key);

struct Frame {
  bool fin = true;
  Opcode opcode = Opcode::text;
  std::string payload;  // unmasked
};

enum class ParseStatus { need_more, frame, error };

struct ParseResult {
  ParseStatus status = ParseStatus::need_more;
  std::size_t consumed = 0;      // bytes of `data` the frame took (status == frame)
  std::uint16_t close_code = 0;  // status == error
  const char* reason = "";       // status == error
};

/// Parses one client frame from the start of `data`. Frames with payloads
/// above `max_payload`, unmasked frames, reserved bits, unknown opcodes and
/// bad control frames are errors with the close code to send.
ParseResult parse_client_frame(std::string_view data, std::size_t max_payload, Frame& out);

/// A complete server frame (FIN set, unmasked) around `payload`.
std::string server_frame(Opcode opcode, std::string_view payload);
/// A close frame with a code and a reason (cut to fit 125 bytes).
std::string close_frame(std::uint16_t code, std::string_view reason);

/// True when `text` is well-formed UTF-8 (text frames must be).
bool is_utf8(std::string_view text);

/// The code to answer a client's close frame with (RFC 6455 5.5.1, 7.4):
/// its own code when valid (1000 when it sent none), 1002 for a 1-byte
/// payload or a code no endpoint may send (below 1000, 1004-1006, 1015,
/// 1016-2999, 5000 and up), 1007 for a reason that is not UTF-8.
std::uint16_t close_reply_code(std::string_view payload);

}  // namespace depesche::live
