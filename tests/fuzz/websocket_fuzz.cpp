// Bytes as a client sends them on a live connection: WebSocket frames
// parsed as the hub's loop parses them (live/websocket_protocol), each
// close frame answered with its reply code, and each text frame read as a
// client message (live/client_message). Every frame consumes at least one
// byte and never more than it was given; a refused frame names a close
// code; a reply code is one an endpoint may send.

#include <string>

#include "fuzz_target.hpp"
#include "live/client_message.hpp"
#include "live/websocket_protocol.hpp"

using namespace depesche::live;

namespace {

// The hub's default (live.max_message_bytes).
constexpr std::size_t kMaxPayload = 4096;

bool sendable_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = fuzz::as_text(data, size);
  std::string_view rest = input;
  while (!rest.empty()) {
    Frame frame;
    ParseResult r = parse_client_frame(rest, kMaxPayload, frame);
    if (r.status == ParseStatus::need_more) break;
    if (r.status == ParseStatus::error) {
      fuzz::expect(r.close_code >= 1000, "a refused frame names a close code", input);
      break;
    }
    fuzz::expect(r.consumed > 0 && r.consumed <= rest.size(), "a frame consumes its bytes", input);
    fuzz::expect(frame.payload.size() <= kMaxPayload, "payload within the limit", input);
    if (frame.opcode == Opcode::close)
      fuzz::expect(sendable_close_code(close_reply_code(frame.payload)), "reply code", input);
    if (frame.opcode == Opcode::text) {
      auto m = parse_client_message(frame.payload);
      if (m) {
        fuzz::expect(m->id.size() <= kMaxMessageIdChars, "id within the limit", input);
      } else {
        fuzz::expect(!m.error().reason.empty(), "a fault explains itself", input);
      }
    }
    rest.remove_prefix(r.consumed);
  }
  // The message reader on its own, without framing in the way.
  (void)parse_client_message(input);
  return 0;
}
