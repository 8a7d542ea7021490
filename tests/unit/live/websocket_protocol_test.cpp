// RFC 6455 on bytes: the handshake's accept key, server frames, client frame
// parsing (masking, length encodings, need-more, every rejection) and UTF-8.
// Expected bytes come from the RFC's own examples or are written out by hand.
#include "live/websocket_protocol.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

using namespace depesche::live;

namespace {

constexpr std::size_t kMax = 4096;
constexpr std::array<std::uint8_t, 4> kMask = {0x37, 0xfa, 0x21, 0x3d};

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out += static_cast<char>(b);
  return out;
}

enum class LengthForm { shortest, two_bytes, eight_bytes };

// A client frame, masked unless told otherwise, its length in `form`.
std::string client_frame(int first_byte, std::string_view payload,
                         LengthForm form = LengthForm::shortest, bool masked = true,
                         std::array<std::uint8_t, 4> mask = kMask) {
  std::string out;
  out += static_cast<char>(first_byte);
  const int mask_bit = masked ? 0x80 : 0;
  std::uint64_t len = payload.size();
  if (form == LengthForm::shortest)
    form = len < 126 ? LengthForm::shortest
                     : (len <= 0xffff ? LengthForm::two_bytes : LengthForm::eight_bytes);
  if (form == LengthForm::shortest) {
    out += static_cast<char>(mask_bit | static_cast<int>(len));
  } else if (form == LengthForm::two_bytes) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>((len >> 8) & 0xff);
    out += static_cast<char>(len & 0xff);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((len >> (i * 8)) & 0xff);
  }
  if (masked) {
    for (auto m : mask) out += static_cast<char>(m);
    for (std::size_t i = 0; i < payload.size(); ++i)
      out += static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ mask[i % 4]);
  } else {
    out.append(payload);
  }
  return out;
}

std::string client_frame(Opcode op, std::string_view payload, bool fin = true) {
  return client_frame((fin ? 0x80 : 0) | static_cast<int>(op), payload);
}

// Every byte value, repeated to `n` bytes: masking must not care what it hides.
std::string all_bytes(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 7 % 256);
  return s;
}

ParseResult parse(std::string_view data, Frame& out, std::size_t max = kMax) {
  return parse_client_frame(data, max, out);
}

void expect_error(std::string_view data, std::uint16_t code, std::size_t max = kMax) {
  Frame f;
  auto r = parse(data, f, max);
  EXPECT_EQ(r.status, ParseStatus::error);
  EXPECT_EQ(r.close_code, code);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_NE(std::string_view(r.reason), "") << "an error names its reason for the close frame";
}

// The server frame's header length for a payload of `n` bytes.
std::size_t header_size(std::size_t n) { return n < 126 ? 2 : (n <= 0xffff ? 4 : 10); }

// --- handshake ----------------------------------------------------------------

TEST(WebSocketHandshake, AcceptKeyMatchesTheRfcExample) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, AcceptKeyIsBase64OfSha1OverKeyAndGuidAtEveryPaddingBoundary) {
  // Reference values from Python's hashlib; the key plus the 36-byte GUID is
  // 36, 55 (one block, fullest), 56 (padding spills), 64 (exactly one block)
  // and 119 bytes long.
  EXPECT_EQ(accept_key(""), "Kfh9QIsMVZcl6xEPYxPHzW8SZ8w=");
  EXPECT_EQ(accept_key(std::string(19, 'x')), "qQsxh2Nb/vsnD9od6HBiP6Igif0=");
  EXPECT_EQ(accept_key(std::string(20, 'x')), "7jD6MP55bPPoLSNhT1mD/AE8sjc=");
  EXPECT_EQ(accept_key(std::string(28, 'x')), "atUL8kQGe4qplhq19Y5TKRw/Uj4=");
  EXPECT_EQ(accept_key(std::string(83, 'x')), "dkd2ySOIPSpsGLKtMj2xKG4ec9U=");
  EXPECT_EQ(accept_key("AAAAAAAAAAAAAAAAAAAAAA=="), "ICX+Yqv66kxgM0FcWaLWlFLwTAI=");
}

TEST(WebSocketHandshake, AcceptsBase64OfSixteenBytesAsAClientKey) {
  EXPECT_TRUE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(is_valid_client_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(is_valid_client_key("x3JJHMbDL1EzLkh9GBhXDw=="));
  EXPECT_TRUE(is_valid_client_key("+/+/+/+/+/+/+/+/+/+/+w=="));
}

TEST(WebSocketHandshake, RejectsMalformedClientKeys) {
  EXPECT_FALSE(is_valid_client_key(""));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ="));    // 23 characters
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ==="));  // 25 characters
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQAA"));   // no padding
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZ==="));   // padding inside
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBs-SBub25jZQ=="));   // base64url
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBs_SBub25jZQ=="));   // base64url
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBs SBub25jZQ=="));   // space
  EXPECT_FALSE(is_valid_client_key(std::string_view("dGhlIHNhbXBs\0SBub25jZQ==", 24)));
  EXPECT_FALSE(
      is_valid_client_key("dGhlIHNhbXBs\xc3\xa4"
                          "Bub25jZQ=="));  // non-ASCII
  EXPECT_FALSE(is_valid_client_key(" dGhlIHNhbXBsZSBub25jZQ=="));
}

// --- server frames --------------------------------------------------------------

TEST(WebSocketServerFrame, MatchesTheRfcExamples) {
  // RFC 6455 5.7: a single-frame unmasked text message and an unmasked ping.
  EXPECT_EQ(server_frame(Opcode::text, "Hello"), bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  EXPECT_EQ(server_frame(Opcode::ping, "Hello"), bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  EXPECT_EQ(server_frame(Opcode::pong, ""), bytes({0x8a, 0x00}));
  EXPECT_EQ(server_frame(Opcode::binary, "\x01"), bytes({0x82, 0x01, 0x01}));
}

TEST(WebSocketServerFrame, UsesTheShortestLengthEncoding) {
  struct Case {
    std::size_t size;
    std::string header;
  };
  const Case cases[] = {
      {0, bytes({0x81, 0})},
      {1, bytes({0x81, 1})},
      {125, bytes({0x81, 125})},
      {126, bytes({0x81, 126, 0x00, 0x7e})},
      {127, bytes({0x81, 126, 0x00, 0x7f})},
      {256, bytes({0x81, 126, 0x01, 0x00})},
      {65535, bytes({0x81, 126, 0xff, 0xff})},
      {65536, bytes({0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00})},
      {70000, bytes({0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70})},
  };
  for (const auto& c : cases) {
    std::string payload = all_bytes(c.size);
    std::string frame = server_frame(Opcode::text, payload);
    ASSERT_EQ(frame.size(), c.header.size() + c.size) << c.size;
    EXPECT_EQ(frame.substr(0, c.header.size()), c.header) << c.size;
    EXPECT_EQ(frame.substr(c.header.size()), payload) << c.size << ": payload sent unmasked";
    EXPECT_EQ(header_size(c.size), c.header.size());
  }
}

TEST(WebSocketServerFrame, CloseFrameCarriesTheCodeBigEndianAndTheReason) {
  EXPECT_EQ(close_frame(close_code::normal, "bye"), bytes({0x88, 0x05, 0x03, 0xe8, 'b', 'y', 'e'}));
  EXPECT_EQ(close_frame(close_code::try_again_later, ""), bytes({0x88, 0x02, 0x03, 0xf5}));
  EXPECT_EQ(close_frame(close_code::too_big, "x").substr(2, 2), bytes({0x03, 0xf1}));
  EXPECT_EQ(close_frame(4999, "").substr(2), bytes({0x13, 0x87}));
}

TEST(WebSocketServerFrame, CloseReasonIsCutToFitAControlFrame) {
  std::string long_reason(300, 'r');
  std::string f = close_frame(close_code::policy_violation, long_reason);
  ASSERT_EQ(f.size(), 2u + 125u);
  EXPECT_EQ(static_cast<std::uint8_t>(f[1]), 125) << "a control frame's payload is at most 125";
  EXPECT_EQ(f.substr(4), std::string(123, 'r'));

  std::string exactly(123, 'e');
  EXPECT_EQ(close_frame(close_code::normal, exactly).substr(4), exactly);
}

TEST(WebSocketServerFrame, CloseReasonIsNotCutInsideACharacter) {
  // 62 two-byte characters are 124 bytes: the cut at 123 falls inside the last.
  std::string umlauts;
  for (int i = 0; i < 62; ++i) umlauts += "\xc3\xa4";
  std::string f = close_frame(close_code::going_away, umlauts);
  std::string reason = f.substr(4);
  EXPECT_EQ(reason.size(), 122u);
  EXPECT_EQ(static_cast<std::uint8_t>(f[1]), 124);
  EXPECT_TRUE(is_utf8(reason));
  EXPECT_EQ(reason, umlauts.substr(0, 122));

  // A four-byte character straddling the cut goes entirely.
  std::string emoji = std::string(121, 'a') + "\xf0\x9f\x93\xb0";
  EXPECT_EQ(close_frame(close_code::normal, emoji).substr(4), std::string(121, 'a'));
}

TEST(WebSocketServerFrame, CloseReasonNeverCarriesInvalidUtf8) {
  std::string f = close_frame(close_code::normal, "ab\xff");
  EXPECT_EQ(f.substr(4), "ab");
  EXPECT_TRUE(is_utf8(close_frame(close_code::normal, "\xc3").substr(4)));
}

// --- client frames ----------------------------------------------------------------

TEST(WebSocketClientFrame, ParsesTheRfcMaskedHelloExample) {
  // RFC 6455 5.7: a single-frame masked text message containing "Hello".
  std::string wire = bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  EXPECT_EQ(client_frame(Opcode::text, "Hello"), wire) << "the test's own frame builder";
  Frame f;
  auto r = parse(wire, f);
  ASSERT_EQ(r.status, ParseStatus::frame);
  EXPECT_EQ(r.consumed, wire.size());
  EXPECT_EQ(r.close_code, 0);
  EXPECT_TRUE(f.fin);
  EXPECT_EQ(f.opcode, Opcode::text);
  EXPECT_EQ(f.payload, "Hello");
}

TEST(WebSocketClientFrame, UnmasksPayloadsOfEveryLengthAndEncoding) {
  const std::size_t sizes[] = {0, 1, 2, 3, 4, 5, 125, 126, 127, 1000, 65535, 65536, 70001};
  const std::array<std::uint8_t, 4> masks[] = {
      {0, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}, {0x01, 0x80, 0x7f, 0xfe}};
  for (std::size_t n : sizes) {
    std::string payload = all_bytes(n);
    for (auto form : {LengthForm::shortest, LengthForm::two_bytes, LengthForm::eight_bytes}) {
      if (form == LengthForm::two_bytes && n > 0xffff) continue;
      for (const auto& mask : masks) {
        std::string wire = client_frame(0x82, payload, form, true, mask);
        Frame f;
        auto r = parse(wire, f, 1 << 20);
        ASSERT_EQ(r.status, ParseStatus::frame) << n;
        EXPECT_EQ(r.consumed, wire.size()) << n;
        EXPECT_EQ(f.opcode, Opcode::binary);
        EXPECT_EQ(f.payload.size(), n);
        EXPECT_TRUE(f.payload == payload) << n << " bytes, mask " << int{mask[1]};
      }
    }
  }
}

TEST(WebSocketClientFrame, ReadsTheLengthFromTheRightBytes) {
  // 126 and 65535 in two bytes, 65536 in eight: each must be read big-endian.
  for (std::size_t n : {126u, 300u, 65535u, 65536u}) {
    std::string wire = client_frame(Opcode::text, std::string(n, 'q'));
    EXPECT_EQ(wire.size(), header_size(n) + 4 + n);
    Frame f;
    auto r = parse(wire, f, 1 << 20);
    ASSERT_EQ(r.status, ParseStatus::frame) << n;
    EXPECT_EQ(f.payload, std::string(n, 'q'));
  }
}

TEST(WebSocketClientFrame, ConsumesOnlyTheFirstFrame) {
  std::string first = client_frame(Opcode::text, R"({"type":"subscribe","topic":"ticker:de"})");
  std::string second = client_frame(Opcode::ping, "p");
  std::string third = client_frame(Opcode::text, std::string(200, 'z'));
  std::string wire = first + second + third;
  Frame f;
  auto r = parse(wire, f);
  ASSERT_EQ(r.status, ParseStatus::frame);
  EXPECT_EQ(r.consumed, first.size());
  EXPECT_EQ(f.payload, R"({"type":"subscribe","topic":"ticker:de"})");
  std::size_t pos = r.consumed;
  r = parse(std::string_view(wire).substr(pos), f);
  ASSERT_EQ(r.status, ParseStatus::frame);
  EXPECT_EQ(r.consumed, second.size());
  EXPECT_EQ(f.opcode, Opcode::ping);
  EXPECT_EQ(f.payload, "p");
  pos += r.consumed;
  r = parse(std::string_view(wire).substr(pos), f);
  ASSERT_EQ(r.status, ParseStatus::frame);
  EXPECT_EQ(r.consumed, third.size());
  EXPECT_EQ(f.payload, std::string(200, 'z'));
  EXPECT_EQ(pos + r.consumed, wire.size());
}

TEST(WebSocketClientFrame, AsksForMoreUntilTheWholeFrameIsThere) {
  for (std::size_t n : {0u, 5u, 125u, 126u, 65536u}) {
    std::string wire = client_frame(Opcode::text, std::string(n, 'm'));
    for (std::size_t cut = 0; cut < wire.size(); cut += (cut < 20 ? 1 : 997)) {
      Frame f;
      auto r = parse(std::string_view(wire).substr(0, cut), f, 1 << 20);
      ASSERT_EQ(r.status, ParseStatus::need_more) << n << " bytes cut at " << cut;
      EXPECT_EQ(r.consumed, 0u);
    }
    Frame f;
    auto r = parse(std::string_view(wire).substr(0, wire.size() - 1), f, 1 << 20);
    EXPECT_EQ(r.status, ParseStatus::need_more) << n << ": one byte short";
    EXPECT_EQ(parse(wire, f, 1 << 20).status, ParseStatus::frame) << n;
  }
}

TEST(WebSocketClientFrame, KeepsFragmentsAndTheirFinBit) {
  Frame f;
  auto r = parse(client_frame(Opcode::text, "Hel", false), f);
  ASSERT_EQ(r.status, ParseStatus::frame);
  EXPECT_FALSE(f.fin);
  EXPECT_EQ(f.opcode, Opcode::text);
  EXPECT_EQ(f.payload, "Hel");
  r = parse(client_frame(Opcode::continuation, "lo", true), f);
  ASSERT_EQ(r.status, ParseStatus::frame);
  EXPECT_TRUE(f.fin);
  EXPECT_EQ(f.opcode, Opcode::continuation);
  EXPECT_EQ(f.payload, "lo");
}

TEST(WebSocketClientFrame, AcceptsControlFramesUpTo125Bytes) {
  for (Opcode op : {Opcode::ping, Opcode::pong, Opcode::close}) {
    Frame f;
    std::string payload(125, 'c');
    auto r = parse(client_frame(op, payload), f);
    ASSERT_EQ(r.status, ParseStatus::frame);
    EXPECT_EQ(f.opcode, op);
    EXPECT_EQ(f.payload, payload);
  }
  // A close frame from a client: code 1000 and a reason.
  Frame f;
  ASSERT_EQ(parse(client_frame(Opcode::close, bytes({0x03, 0xe8, 'o', 'k'})), f).status,
            ParseStatus::frame);
  EXPECT_EQ(f.opcode, Opcode::close);
  EXPECT_EQ(f.payload, bytes({0x03, 0xe8, 'o', 'k'}));
}

TEST(WebSocketClientFrame, RejectsUnmaskedFrames) {
  expect_error(bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}), close_code::protocol_error);
  expect_error(client_frame(0x81, std::string(300, 'u'), LengthForm::shortest, false),
               close_code::protocol_error);
  expect_error(client_frame(0x89, "", LengthForm::shortest, false), close_code::protocol_error);
  // Rejected from the first two bytes, before the payload arrives.
  expect_error(bytes({0x81, 0x05}), close_code::protocol_error);
}

TEST(WebSocketClientFrame, RejectsReservedBits) {
  for (int rsv : {0x40, 0x20, 0x10, 0x70}) {
    SCOPED_TRACE(rsv);
    expect_error(client_frame(0x80 | rsv | 0x1, "Hello"), close_code::protocol_error);
  }
}

TEST(WebSocketClientFrame, RejectsUnknownOpcodes) {
  for (int op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf}) {
    SCOPED_TRACE(op);
    expect_error(client_frame(0x80 | op, "x"), close_code::protocol_error);
  }
}

TEST(WebSocketClientFrame, RejectsOversizedOrFragmentedControlFrames) {
  for (Opcode op : {Opcode::ping, Opcode::pong, Opcode::close}) {
    SCOPED_TRACE(static_cast<int>(op));
    // 126 bytes need the two-byte length, which a control frame may not use.
    expect_error(client_frame(op, std::string(126, 'c')), close_code::protocol_error);
    // A control frame may not be fragmented (FIN clear), however short.
    expect_error(client_frame(static_cast<int>(op), "abc"), close_code::protocol_error);
    expect_error(client_frame(0x80 | static_cast<int>(op), std::string(70000, 'c')),
                 close_code::protocol_error, 1 << 20);
  }
}

TEST(WebSocketClientFrame, RejectsPayloadsAboveTheLimitFromTheHeaderAlone) {
  Frame f;
  std::string at_limit = client_frame(Opcode::text, std::string(kMax, 'a'));
  ASSERT_EQ(parse(at_limit, f).status, ParseStatus::frame);
  EXPECT_EQ(f.payload.size(), kMax);

  std::string over = client_frame(Opcode::text, std::string(kMax + 1, 'a'));
  expect_error(over, close_code::too_big);
  // The header is enough: a server must not buffer a huge message to refuse it.
  expect_error(std::string_view(over).substr(0, 4), close_code::too_big);
  expect_error(client_frame(Opcode::continuation, std::string(kMax + 1, 'a')), close_code::too_big);

  // A 64-bit length far beyond any buffer.
  expect_error(bytes({0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
               close_code::too_big);
  expect_error(bytes({0x81, 0xff, 0, 0, 0, 0, 0, 0, 0x10, 0x01}), close_code::too_big);
  // With a small limit, 126 is already too big.
  expect_error(client_frame(Opcode::text, std::string(126, 'a')), close_code::too_big, 125);
  EXPECT_EQ(parse(client_frame(Opcode::text, std::string(125, 'a')), f, 125).status,
            ParseStatus::frame);
}

TEST(WebSocketClientFrame, RejectsA64BitLengthWithTheTopBitSet) {
  // RFC 6455 5.2: "the most significant bit MUST be 0"; such a frame is
  // never valid and must not leave the parser waiting for 2^63 bytes.
  std::string wire = bytes({0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0x05});
  Frame f;
  auto r = parse(wire, f, std::numeric_limits<std::size_t>::max());
  EXPECT_EQ(r.status, ParseStatus::error);
  EXPECT_EQ(r.close_code, close_code::protocol_error) << "even with no size limit";
}

TEST(WebSocketClientFrame, TooLittleDataIsNotAnError) {
  Frame f;
  EXPECT_EQ(parse("", f).status, ParseStatus::need_more);
  EXPECT_EQ(parse(bytes({0x81}), f).status, ParseStatus::need_more);
  EXPECT_EQ(parse(bytes({0x81, 0xfe, 0x01}), f).status, ParseStatus::need_more);
  EXPECT_EQ(parse(bytes({0x81, 0xff, 0, 0, 0, 0, 0, 0, 0}), f).status, ParseStatus::need_more);
  EXPECT_EQ(parse(bytes({0x81, 0x85, 0x37, 0xfa, 0x21}), f).status, ParseStatus::need_more)
      << "mask key incomplete";
}

// --- UTF-8 ---------------------------------------------------------------------------

TEST(WebSocketUtf8, AcceptsWellFormedText) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8(R"({"type":"subscribe","topic":"ticker:de"})"));
  EXPECT_TRUE(
      is_utf8("Gr\xc3\xbc\xc3\x9f"
              "e"));                                  // Grüße
  EXPECT_TRUE(is_utf8("\xd0\x9f\xd1\x80\xd0\xb8"));   // При
  EXPECT_TRUE(is_utf8("\xe6\x97\xa5\xe6\x9c\xac"));   // 日本
  EXPECT_TRUE(is_utf8("\xf0\x9f\x93\xb0"));           // U+1F4F0
  EXPECT_TRUE(is_utf8("\xc2\x80"));                   // U+0080, smallest two-byte
  EXPECT_TRUE(is_utf8("\xe0\xa0\x80"));               // U+0800, smallest three-byte
  EXPECT_TRUE(is_utf8("\xed\x9f\xbf"));               // U+D7FF, just below surrogates
  EXPECT_TRUE(is_utf8("\xee\x80\x80"));               // U+E000, just above
  EXPECT_TRUE(is_utf8("\xf0\x90\x80\x80"));           // U+10000
  EXPECT_TRUE(is_utf8("\xf4\x8f\xbf\xbf"));           // U+10FFFF, the largest
  EXPECT_TRUE(is_utf8(std::string_view("a\0b", 3)));  // NUL is a character
}

TEST(WebSocketUtf8, RejectsMalformedText) {
  EXPECT_FALSE(is_utf8("\x80"));  // lone continuation byte
  EXPECT_FALSE(is_utf8("\xbf"));
  EXPECT_FALSE(is_utf8("\xff"));
  EXPECT_FALSE(is_utf8("\xfe"));
  EXPECT_FALSE(is_utf8("\xc0\x80"));          // overlong NUL
  EXPECT_FALSE(is_utf8("\xc1\xbf"));          // overlong U+007F
  EXPECT_FALSE(is_utf8("\xe0\x80\x80"));      // overlong three-byte
  EXPECT_FALSE(is_utf8("\xe0\x9f\xbf"));      // overlong U+07FF
  EXPECT_FALSE(is_utf8("\xf0\x80\x80\x80"));  // overlong four-byte
  EXPECT_FALSE(is_utf8("\xf0\x8f\xbf\xbf"));  // overlong U+FFFF
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));      // U+D800, a surrogate
  EXPECT_FALSE(is_utf8("\xed\xbf\xbf"));      // U+DFFF
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));  // U+110000, beyond Unicode
  EXPECT_FALSE(is_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(is_utf8("\xe2\x82"));        // truncated
  EXPECT_FALSE(is_utf8("ok\xf0\x9f\x93"));  // truncated at the end
  EXPECT_FALSE(is_utf8("\xc3\x28"));        // second byte not a continuation
  EXPECT_FALSE(is_utf8("\xe2\x28\xa1"));
  EXPECT_FALSE(is_utf8("\xf0\x9f\x28\xb0"));
}

std::string close_payload(std::uint16_t code, std::string_view reason = "") {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xff);
  p += reason;
  return p;
}

TEST(WebSocketClose, ValidCodesAreEchoed) {
  EXPECT_EQ(close_reply_code(""), 1000) << "no code: a plain normal closure";
  for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                             3000, 3999, 4000, 4999})
    EXPECT_EQ(close_reply_code(close_payload(code, "ok")), code) << code;
  EXPECT_EQ(close_reply_code(close_payload(1000, "schön")), 1000) << "UTF-8 reasons are fine";
}

TEST(WebSocketClose, CodesNoEndpointMaySendAreAProtocolError) {
  for (std::uint16_t code :
       {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
    EXPECT_EQ(close_reply_code(close_payload(code)), 1002) << code;
  EXPECT_EQ(close_reply_code(std::string(1, '\x03')), 1002) << "a 1-byte payload has no code";
}

TEST(WebSocketClose, AReasonThatIsNotUtf8Is1007) {
  EXPECT_EQ(close_reply_code(close_payload(1000, "\xff\xfe")), 1007);
  EXPECT_EQ(close_reply_code(close_payload(1000, "\xc3")), 1007) << "a cut sequence";
}

}  // namespace
