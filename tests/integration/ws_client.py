"""A small RFC 6455 WebSocket client over the standard library, for tests.

It speaks the protocol byte by byte so that tests can also break it on
purpose: unmasked frames, binary frames, oversized or fragmented messages,
raw handshakes with any headers. Every read has a deadline (socket
timeouts, never fixed sleeps): waiting for a frame that does not come
raises `WSTimeout`; the peer closing the TCP connection raises `WSClosed`.

    ws = WSClient.connect(server.address, origin=server.base_url)
    ws.send_json({"type": "subscribe", "topic": "ticker:de"})
    msg = ws.wait_json(lambda m: m["type"] == "subscribed")
    ...
    ws.close()

Server frames are checked as a client must (RFC 6455 5.1, 5.2, 5.5): they
must not be masked, must not set reserved bits, and control frames must be
final and at most 125 bytes; a violation raises `WSProtocolError`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Callable

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

CLOSE_NO_STATUS = 1005  # a close frame without a payload (RFC 6455 7.1.5)
CLOSE_ABNORMAL = 1006  # the connection ended without a close frame

DEFAULT_TIMEOUT_S = 10.0


class WSError(Exception):
    pass


class WSTimeout(WSError):
    """No frame (or not the expected one) before the deadline."""


class WSClosed(WSError):
    """The TCP connection ended (EOF or reset) before what was awaited."""


class WSProtocolError(WSError):
    """The server broke RFC 6455."""


class HandshakeRejected(WSError):
    """The server answered the upgrade request with something other than 101."""

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        super().__init__(f"handshake refused: {status} {reason} {body[:200]!r}")
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default


@dataclass
class Frame:
    opcode: int
    payload: bytes
    fin: bool = True

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8")

    def __repr__(self) -> str:
        head = self.payload[:120]
        more = f"... ({len(self.payload)} bytes)" if len(self.payload) > 120 else ""
        return f"Frame(opcode={self.opcode:#x}, fin={self.fin}, payload={head!r}{more})"


@dataclass
class Close:
    """A close frame the server sent (code 1005 when it carried no payload)."""

    code: int
    reason: str = ""


@dataclass
class HttpAnswer:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default


def make_key() -> str:
    return base64.b64encode(os.urandom(16)).decode("ascii")


def accept_for(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def encode_frame(opcode: int, payload: bytes, fin: bool = True, mask: bool = True,
                 rsv: int = 0, mask_key: bytes | None = None) -> bytes:
    """One frame on the wire; clients mask (RFC 6455 5.3) unless told not to."""
    head = bytearray()
    head.append((0x80 if fin else 0) | ((rsv & 0x7) << 4) | (opcode & 0x0F))
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head.append(mbit | n)
    elif n <= 0xFFFF:
        head.append(mbit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(mbit | 127)
        head += struct.pack("!Q", n)
    if not mask:
        return bytes(head) + payload
    key = mask_key if mask_key is not None else os.urandom(4)
    head += key
    # XOR with the key repeated; bytes.translate cannot do this, so use ints.
    k = int.from_bytes((key * (n // 4 + 1))[:n], "big") if n else 0
    masked = (int.from_bytes(payload, "big") ^ k).to_bytes(n, "big") if n else b""
    return bytes(head) + masked


def close_payload(code: int | None, reason: str = "") -> bytes:
    if code is None:
        return b""
    return struct.pack("!H", code) + reason.encode("utf-8")


def parse_close_payload(payload: bytes) -> Close:
    if len(payload) == 0:
        return Close(CLOSE_NO_STATUS, "")
    if len(payload) == 1:
        raise WSProtocolError("close frame with a one-byte payload")
    code = struct.unpack("!H", payload[:2])[0]
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError as e:
        raise WSProtocolError(f"close reason is not UTF-8: {payload[2:]!r}") from e
    return Close(code, reason)


def read_http_head(sock: socket.socket, deadline: float, max_bytes: int = 65536) -> tuple[bytes, bytes]:
    """Reads up to the end of an HTTP response head; returns (head, bytes after it)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        if len(buf) > max_bytes:
            raise WSProtocolError(f"response head too long: {buf[:200]!r}")
        chunk = _recv(sock, 65536, deadline, f"the handshake answer (so far {buf[:200]!r})")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


def parse_head(head: bytes) -> HttpAnswer:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise WSProtocolError(f"bad status line {lines[0]!r}")
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    return HttpAnswer(int(parts[1]), parts[2] if len(parts) > 2 else "", headers)


def _recv(sock: socket.socket, n: int, deadline: float, what: str) -> bytes:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise WSTimeout(f"timed out waiting for {what}")
    sock.settimeout(remaining)
    try:
        chunk = sock.recv(n)
    except socket.timeout:
        raise WSTimeout(f"timed out waiting for {what}") from None
    except (ConnectionResetError, BrokenPipeError) as e:
        raise WSClosed(f"connection reset while waiting for {what}: {e}") from None
    if not chunk:
        raise WSClosed(f"connection closed while waiting for {what}")
    return chunk


def handshake_request(host: str, path: str = "/live", key: str | None = None,
                      origin: str | None = None, version: str | None = "13",
                      extra_headers: dict | None = None, omit: tuple[str, ...] = ()) -> bytes:
    """The bytes of an upgrade request; `omit` drops named default headers."""
    headers = {
        "Host": host,
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key if key is not None else make_key(),
        "Sec-WebSocket-Version": version,
    }
    if origin is not None:
        headers["Origin"] = origin
    for k, v in (extra_headers or {}).items():
        headers[k] = v
    lines = [f"GET {path} HTTP/1.1"]
    for k, v in headers.items():
        if v is None or k in omit:
            continue
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def raw_upgrade(address: tuple[str, int], request: bytes, timeout: float = DEFAULT_TIMEOUT_S) -> HttpAnswer:
    """Sends an upgrade request as given and returns the answer (its body
    read by Content-Length). The socket is closed afterwards."""
    deadline = time.monotonic() + timeout
    with socket.create_connection(address, timeout=timeout) as s:
        s.sendall(request)
        head, rest = read_http_head(s, deadline)
        ans = parse_head(head)
        length = ans.header("content-length")
        if ans.status != 101 and length is not None:
            need = int(length)
            while len(rest) < need:
                rest += _recv(s, 65536, deadline, "the answer's body")
            ans.body = rest[:need]
        else:
            ans.body = rest
        return ans


class WSClient:
    """One client connection. Not thread-safe: one thread reads and writes
    (a reader thread alone is fine if nobody else uses the object)."""

    def __init__(self, sock: socket.socket, leftover: bytes = b"", timeout: float = DEFAULT_TIMEOUT_S):
        self.sock = sock
        self.buf = bytearray(leftover)
        self.timeout = timeout
        self.close_received: Close | None = None
        self.eof = False
        self._fragments: list[Frame] = []
        self.auto_pong = True

    # -- opening ----------------------------------------------------------

    @classmethod
    def connect(cls, address: tuple[str, int], path: str = "/live", origin: str | None = None,
                timeout: float = DEFAULT_TIMEOUT_S, rcvbuf: int | None = None,
                extra_headers: dict | None = None, send_after: bytes = b"") -> "WSClient":
        """Opens a connection and completes the handshake, checking the 101
        answer and Sec-WebSocket-Accept. `rcvbuf` sets SO_RCVBUF before
        connecting (a small receive window makes a slow reader). `send_after`
        is written in the same send() as the request (pipelined frames)."""
        deadline = time.monotonic() + timeout
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if rcvbuf is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.settimeout(timeout)
            sock.connect(address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            key = make_key()
            host = f"{address[0]}:{address[1]}"
            sock.sendall(handshake_request(host, path, key, origin, extra_headers=extra_headers) + send_after)
            head, rest = read_http_head(sock, deadline)
            ans = parse_head(head)
            if ans.status != 101:
                length = ans.header("content-length")
                if length is not None:
                    while len(rest) < int(length):
                        try:
                            rest += _recv(sock, 65536, deadline, "the refusal's body")
                        except WSClosed:
                            break
                    rest = rest[: int(length)]
                raise HandshakeRejected(ans.status, ans.reason, ans.headers, rest)
            if (ans.header("upgrade") or "").lower() != "websocket":
                raise WSProtocolError(f"101 without Upgrade: websocket: {ans.headers}")
            if "upgrade" not in (ans.header("connection") or "").lower():
                raise WSProtocolError(f"101 without Connection: Upgrade: {ans.headers}")
            if ans.header("sec-websocket-accept") != accept_for(key):
                raise WSProtocolError(
                    f"wrong Sec-WebSocket-Accept {ans.header('sec-websocket-accept')!r}, expected {accept_for(key)!r}")
            return cls(sock, rest, timeout)
        except BaseException:
            sock.close()
            raise

    def __enter__(self) -> "WSClient":
        return self

    def __exit__(self, *exc) -> None:
        self.abort()

    # -- writing ----------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def send_frame(self, opcode: int, payload: bytes = b"", fin: bool = True, mask: bool = True,
                   rsv: int = 0) -> None:
        self.send_raw(encode_frame(opcode, payload, fin=fin, mask=mask, rsv=rsv))

    def send_text(self, text: str) -> None:
        self.send_frame(OP_TEXT, text.encode("utf-8"))

    def send_json(self, obj) -> None:
        self.send_text(json.dumps(obj))

    def send_binary(self, data: bytes) -> None:
        self.send_frame(OP_BINARY, data)

    def ping(self, payload: bytes = b"") -> None:
        self.send_frame(OP_PING, payload)

    def subscribe(self, topic: str, since: int | None = None, epoch: int | None = None) -> None:
        msg = {"type": "subscribe", "topic": topic}
        if since is not None:
            msg["since"] = since
        if epoch is not None:
            msg["epoch"] = epoch
        self.send_json(msg)

    def unsubscribe(self, topic: str) -> None:
        self.send_json({"type": "unsubscribe", "topic": topic})

    # -- reading ----------------------------------------------------------

    def _fill(self, deadline: float, what: str) -> None:
        if self.eof:
            raise WSClosed(f"connection already closed while waiting for {what}")
        try:
            chunk = _recv(self.sock, 65536, deadline, what)
        except WSClosed:
            self.eof = True
            raise
        self.buf += chunk

    def _need(self, n: int, deadline: float, what: str) -> None:
        while len(self.buf) < n:
            self._fill(deadline, what)

    def recv_frame(self, timeout: float | None = None) -> Frame:
        """The next frame as sent (control frames included, no reassembly)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        what = "a frame"
        self._need(2, deadline, what)
        b0, b1 = self.buf[0], self.buf[1]
        fin = bool(b0 & 0x80)
        if b0 & 0x70:
            raise WSProtocolError(f"server frame with reserved bits set: {b0:#x}")
        opcode = b0 & 0x0F
        if opcode not in (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG):
            raise WSProtocolError(f"server frame with unknown opcode {opcode:#x}")
        if b1 & 0x80:
            raise WSProtocolError("server frame is masked (RFC 6455 5.1 forbids it)")
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            self._need(4, deadline, what)
            n = struct.unpack("!H", self.buf[2:4])[0]
            if n < 126:
                raise WSProtocolError(f"16-bit length {n} not minimal")
            pos = 4
        elif n == 127:
            self._need(10, deadline, what)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            if n >> 63:
                raise WSProtocolError("64-bit length with the top bit set")
            if n <= 0xFFFF:
                raise WSProtocolError(f"64-bit length {n} not minimal")
            pos = 10
        if opcode & 0x8 and (n > 125 or not fin):
            raise WSProtocolError(f"bad control frame: opcode {opcode:#x}, length {n}, fin {fin}")
        self._need(pos + n, deadline, what)
        payload = bytes(self.buf[pos:pos + n])
        del self.buf[:pos + n]
        return Frame(opcode, payload, fin)

    def recv_message(self, timeout: float | None = None) -> Frame | Close:
        """The next data message (fragments joined) or the server's Close.
        Pings are answered with pongs (unless auto_pong is off) and skipped,
        as are pongs."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            if self.close_received is not None:
                raise WSClosed(f"the server already closed with {self.close_received}")
            f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode == OP_CLOSE:
                self.close_received = parse_close_payload(f.payload)
                return self.close_received
            if f.opcode == OP_PING:
                if self.auto_pong:
                    self.send_frame(OP_PONG, f.payload)
                continue
            if f.opcode == OP_PONG:
                continue
            if f.opcode == OP_CONT:
                if not self._fragments:
                    raise WSProtocolError("continuation frame without a message")
                self._fragments.append(f)
            else:
                if self._fragments:
                    raise WSProtocolError("new data frame inside a fragmented message")
                self._fragments = [f]
            if f.fin:
                first = self._fragments[0]
                msg = Frame(first.opcode, b"".join(x.payload for x in self._fragments), True)
                self._fragments = []
                if msg.opcode == OP_TEXT:
                    try:
                        msg.payload.decode("utf-8")
                    except UnicodeDecodeError as e:
                        raise WSProtocolError(f"text message is not UTF-8: {msg.payload[:100]!r}") from e
                return msg

    def recv_json(self, timeout: float | None = None, skip_presence: bool = True):
        """The next JSON text message; presence updates are skipped unless
        asked for. The server closing the connection raises WSClosed with its
        close code in the message."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            m = self.recv_message(max(0.0, deadline - time.monotonic()))
            if isinstance(m, Close):
                raise WSClosed(f"server closed the WebSocket: {m.code} {m.reason!r}")
            if m.opcode != OP_TEXT:
                raise WSProtocolError(f"expected a text message, got opcode {m.opcode:#x}")
            obj = json.loads(m.payload)
            if skip_presence and isinstance(obj, dict) and obj.get("type") == "presence":
                continue
            return obj

    def wait_json(self, pred: Callable[[dict], bool], timeout: float | None = None,
                  skip_presence: bool = True, seen: list | None = None):
        """Reads messages until one satisfies `pred`; those before it are
        appended to `seen` if given."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WSTimeout(f"no matching message; skipped so far: {seen!r}"[:2000])
            obj = self.recv_json(remaining, skip_presence)
            if pred(obj):
                return obj
            if seen is not None:
                seen.append(obj)

    def barrier(self, timeout: float | None = None) -> list:
        """Sends a ping and returns every JSON message (presence excluded)
        that arrives before its pong. The server handles a connection's
        frames in order, so whatever its earlier messages caused has been
        sent by then: a deterministic "nothing more is coming"."""
        token = os.urandom(8)
        self.ping(token)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        out = []
        while True:
            f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode == OP_PONG and f.payload == token:
                if self._fragments:
                    raise WSProtocolError("pong arrived inside a fragmented message")
                return out
            if f.opcode == OP_CLOSE:
                self.close_received = parse_close_payload(f.payload)
                raise WSClosed(f"server closed the WebSocket: {self.close_received}")
            if f.opcode == OP_PING:
                self.send_frame(OP_PONG, f.payload)
                continue
            if f.opcode == OP_PONG:
                continue
            if f.opcode != OP_TEXT or not f.fin:
                raise WSProtocolError(f"unexpected frame before the pong: opcode {f.opcode:#x}")
            obj = json.loads(f.payload)
            if isinstance(obj, dict) and obj.get("type") == "presence":
                continue
            out.append(obj)

    def wait_close(self, timeout: float | None = None, collect: list | None = None) -> Close:
        """Reads until the server's close frame, answering it, and then until
        the server ends the TCP connection. Data messages on the way are
        appended to `collect` (JSON decoded) if given. Returns the Close;
        Close(1006) when the connection ended (EOF or reset) without one."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        if self.close_received is None:
            while True:
                try:
                    m = self.recv_message(max(0.0, deadline - time.monotonic()))
                except WSClosed:
                    return Close(CLOSE_ABNORMAL, "")
                if isinstance(m, Close):
                    break
                if collect is not None:
                    collect.append(json.loads(m.payload) if m.opcode == OP_TEXT else m)
            try:
                self.send_frame(OP_CLOSE, close_payload(self.close_received.code if self.close_received.code != CLOSE_NO_STATUS else None))
            except OSError:
                pass
        # After its close frame the server sends nothing more and ends the
        # connection (RFC 6455 7.1.1: the server closes TCP first).
        while not self.eof:
            try:
                f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            except WSClosed:
                break
            raise WSProtocolError(f"frame after the close frame: {f}")
        return self.close_received

    def at_eof(self, timeout: float | None = None) -> bool:
        """True once the server has ended the TCP connection (waits for it
        until the deadline; bytes arriving meanwhile are kept)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.eof:
            try:
                self._fill(deadline, "the end of the connection")
            except WSClosed:
                return True
            except WSTimeout:
                return False
        return True

    # -- closing ----------------------------------------------------------

    def close(self, code: int | None = 1000, reason: str = "", timeout: float | None = None) -> Close | None:
        """The closing handshake: sends Close, waits for the server's Close
        and for the end of the connection, then closes the socket."""
        try:
            self.send_frame(OP_CLOSE, close_payload(code, reason))
            deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
            while self.close_received is None:
                m = self.recv_message(max(0.0, deadline - time.monotonic()))
                if isinstance(m, Close):
                    break
            self.at_eof(max(0.0, deadline - time.monotonic()))
            return self.close_received
        finally:
            self.abort()

    def abort(self) -> None:
        """Drops the TCP connection without a closing handshake."""
        try:
            self.sock.close()
        except OSError:
            pass
