"""HTTP framing and lifecycle hardening (issue 8): bounded chunked framing,
Transfer-Encoding, Host and line folding rules of RFC 9112, slow requests on
kept-alive connections, the CSRF Origin requirement, the drain on SIGTERM
and SIGHUP."""

from __future__ import annotations

import select
import signal
import socket
import time

import pytest

from account_helpers import Browser, create_user
from conftest import create_token, parse_raw_response, split_raw_responses

MIB = 1024 * 1024
NEXT = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"  # pipelined after a refused request


def vm_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def read_until_closed(s: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes; fails if it keeps the
    connection open past the deadline."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data
        except socket.timeout:
            raise AssertionError(f"connection still open after {timeout} s; got {data[:300]!r}")
        if not chunk:
            return data
        data += chunk


def exchange(server, data: bytes, timeout: float = 5.0) -> list:
    with socket.create_connection(server.address, timeout=timeout) as s:
        s.sendall(data)
        return split_raw_responses(read_until_closed(s, timeout))


def assert_refused_and_closed(resps, status: int) -> None:
    # One answer, Connection: close, and nothing for the pipelined request.
    assert [r.status for r in resps] == [status], resps
    assert (resps[0].header("connection") or "").lower() == "close"


# --------------------------------------------------------------------------
# Chunked framing is bounded
# --------------------------------------------------------------------------


def send_until_answered(server, head: bytes, piece: bytes, limit: int) -> tuple[bytes, int]:
    """Sends `head`, then `piece` again and again until the server answers,
    closes or `limit` bytes are sent; returns (answer, bytes sent)."""
    sent = 0
    with socket.create_connection(server.address, timeout=10) as s:
        s.sendall(head)
        deadline = time.monotonic() + 30
        while sent < limit:
            assert time.monotonic() < deadline, "neither answer nor progress"
            readable, writable, _ = select.select([s], [s], [], 1.0)
            if readable:
                break
            if writable:
                try:
                    sent += s.send(piece)
                except (BrokenPipeError, ConnectionResetError):
                    break
        return read_until_closed(s), sent


@pytest.mark.parametrize("where", ["extension", "trailer"])
def test_endless_chunk_line_or_trailer_is_refused_early_with_little_memory(server, where):
    head = b"POST /api/v1/articles HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    head += b"1;ext=" if where == "extension" else b"1\r\na\r\n0\r\nX-Trailer: "
    before = vm_rss_bytes(server.proc.pid)
    data, sent = send_until_answered(server, head, b"a" * 65536, 64 * MIB)
    grown = vm_rss_bytes(server.proc.pid) - before
    r = parse_raw_response(data)
    assert r.status == 400, data[:300]
    assert b"too long" in r.body
    assert (r.header("connection") or "").lower() == "close"
    # The limit is 16 KiB; socket buffers account for the rest.
    assert sent < 16 * MIB, f"the server read {sent} bytes of framing before refusing"
    assert grown < 16 * MIB, f"RSS grew by {grown} bytes"
    server.assert_alive()


def test_short_chunk_extensions_and_trailers_are_still_accepted(server):
    body = b"4;name=value;x=\"quoted\"\r\nabcd\r\n0\r\nX-Trailer: ok\r\n\r\n"
    resps = exchange(server, b"POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                     b"Connection: close\r\n\r\n" + body)
    assert [r.status for r in resps] == [405]  # framing fine; /healthz is GET only


def test_many_chunks_over_the_body_limit_are_413(server):
    head = b"POST /api/v1/articles HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"10000\r\n" + b"a" * 0x10000 + b"\r\n"
    data, sent = send_until_answered(server, head, chunk, 8 * MIB)
    assert parse_raw_response(data).status == 413, data[:300]


# --------------------------------------------------------------------------
# Transfer-Encoding (RFC 9112 6.1, 6.3)
# --------------------------------------------------------------------------

TE_CASES = [
    ("xchunked", b"Transfer-Encoding: xchunked\r\n", 400),
    ("identity", b"Transfer-Encoding: identity\r\n", 400),
    ("chunked-identity", b"Transfer-Encoding: chunked, identity\r\n", 400),
    ("empty", b"Transfer-Encoding: \r\n", 400),
    ("chunked-twice", b"Transfer-Encoding: chunked, chunked\r\n", 400),
    ("gzip-chunked", b"Transfer-Encoding: gzip, chunked\r\n", 501),
    ("gzip-then-chunked-lines", b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", 501),
    ("identity-with-length", b"Transfer-Encoding: identity\r\nContent-Length: 5\r\n", 400),
    ("length-with-identity", b"Content-Length: 5\r\nTransfer-Encoding: identity\r\n", 400),
]


@pytest.mark.parametrize("fields,status", [c[1:] for c in TE_CASES], ids=[c[0] for c in TE_CASES])
def test_transfer_encoding_not_ending_in_chunked_is_refused_and_closes(server, fields, status):
    data = b"POST /healthz HTTP/1.1\r\nHost: t\r\n" + fields + b"\r\n0\r\n\r\n" + NEXT
    assert_refused_and_closed(exchange(server, data), status)


def test_transfer_encoding_in_http_1_0_is_refused(server):
    data = b"POST /healthz HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + NEXT
    assert_refused_and_closed(exchange(server, data), 400)


def vm_size_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize")


def test_a_declared_body_size_costs_nothing_until_the_body_comes(make_server):
    # 300 slow bodies that each declare almost 1 MiB: the server must not
    # set that memory aside before the bytes arrive.
    srv = make_server({"DEPESCHE_SERVER_THREADS": "1"}, demo=False)
    before = vm_size_bytes(srv.proc.pid)
    head = (b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % (MIB - 1)) + b"x" * 10
    socks = []
    try:
        for _ in range(300):
            s = socket.create_connection(srv.address, timeout=10)
            s.sendall(head)
            socks.append(s)
        # One I/O thread: once a later request is answered, it has read the heads.
        assert srv.get("/healthz").status == 200
        grown = vm_size_bytes(srv.proc.pid) - before
        assert grown < 64 * MIB, f"address space grew by {grown // MIB} MiB for 300 bodies of 10 bytes"
    finally:
        for s in socks:
            s.close()


# --------------------------------------------------------------------------
# Obsolete line folding (RFC 9112 5.2, 2.2)
# --------------------------------------------------------------------------

FOLDED = [
    ("transfer-encoding", b"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"),
    ("content-length", b"Content-Length:\r\n 0\r\n\r\n"),
    ("other-field", b"Content-Length: 0\r\nX-A: 1\r\n\t2\r\n\r\n"),
]


@pytest.mark.parametrize("fields", [c[1] for c in FOLDED], ids=[c[0] for c in FOLDED])
def test_folded_field_line_is_refused_and_closes(server, fields):
    # Beast would join the lines; a proxy in front may not, and then the two
    # disagree on the framing.
    data = b"POST /healthz HTTP/1.1\r\nHost: t\r\n" + fields + NEXT
    resps = exchange(server, data)
    assert_refused_and_closed(resps, 400)
    assert b"folding" in resps[0].body


def test_whitespace_line_after_the_request_line_is_refused(server):
    data = b"GET /healthz HTTP/1.1\r\n Host: t\r\n\r\n" + NEXT
    assert_refused_and_closed(exchange(server, data), 400)


# --------------------------------------------------------------------------
# Slow requests on kept-alive connections
# --------------------------------------------------------------------------


def test_next_request_sent_slowly_is_closed_at_the_read_timeout(make_server):
    # idle_timeout is how long a kept-alive connection may wait for its next
    # request; once that request has started, read_timeout applies, as it
    # does to a first request.
    srv = make_server({"DEPESCHE_SERVER_READ_TIMEOUT_MS": "1000",
                       "DEPESCHE_SERVER_IDLE_TIMEOUT_MS": "30000"}, demo=False)
    with keep_alive_connection(srv) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        started = time.monotonic()
        s.settimeout(0.2)
        while True:
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                assert time.monotonic() - started < 10, "still open after 10 s"
                s.sendall(b"a")  # a byte now and then, never the end of the head
                continue
            except ConnectionResetError:
                chunk = b""
            assert chunk == b"", chunk
            break
        took = time.monotonic() - started
    assert 0.8 < took < 3, f"closed after {took:.2f} s, read_timeout is 1 s"


def test_kept_alive_connection_may_wait_longer_than_the_read_timeout(make_server):
    srv = make_server({"DEPESCHE_SERVER_READ_TIMEOUT_MS": "300",
                       "DEPESCHE_SERVER_IDLE_TIMEOUT_MS": "30000"}, demo=False)
    with keep_alive_connection(srv) as s:
        time.sleep(1.0)  # idle, longer than the read timeout: the point of the test
        s.sendall(FULL)
        data = b""
        while b"\r\n\r\nok\n" not in data:
            chunk = s.recv(4096)
            assert chunk, "the idle connection was closed at the read timeout"
            data += chunk


# --------------------------------------------------------------------------
# Host (RFC 9112 3.2)
# --------------------------------------------------------------------------

BAD_HOSTS = [
    ("missing", b""),
    ("two", b"Host: t\r\nHost: u\r\n"),
    ("space", b"Host: a b\r\n"),
    ("control", b"Host: a\x01b\r\n"),
    ("del", b"Host: a\x7fb\r\n"),
    ("bad-port", b"Host: t:8o\r\n"),
    ("open-bracket", b"Host: [::1\r\n"),
    ("userinfo", b"Host: u@t\r\n"),
    ("empty", b"Host: \r\n"),
]


@pytest.mark.parametrize("fields", [c[1] for c in BAD_HOSTS], ids=[c[0] for c in BAD_HOSTS])
def test_bad_host_is_400(server, fields):
    data = b"GET /healthz HTTP/1.1\r\n" + fields + b"\r\n" + NEXT
    assert_refused_and_closed(exchange(server, data), 400)


@pytest.mark.parametrize("host", [b"news.example", b"127.0.0.1:8080", b"[::1]:8080", b"[::1]",
                                  b"xn--mnchen-3ya.example:80"])
def test_valid_hosts_are_served(server, host):
    resps = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
    assert [r.status for r in resps] == [200]


def test_http_1_0_without_host_is_served(server):
    resps = exchange(server, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert [r.status for r in resps] == [200]


# --------------------------------------------------------------------------
# CSRF: a session's state change must name its origin
# --------------------------------------------------------------------------


def test_form_post_with_token_but_neither_origin_nor_referer_is_refused(server):
    address, password = "csrf-origin@example.org", "Tintenfass-Leuchtturm-48"
    create_user(server, address, password, name="Before")
    b = Browser(server)
    assert b.login(address, password).status == 200
    fields = {"display_name": "Changed", "edition": "en", "ed": "en"}

    r = b.form_post("/account/settings/profile", fields, origin=None)
    assert r.status == 403, r
    assert b.me().json()["display_name"] == "Before"
    r = b.api("PATCH", "/api/v1/me", {"display_name": "Changed"}, origin=None)
    assert r.status == 403, r
    assert b.me().json()["display_name"] == "Before"

    # A Referer of this site is what an old browser sends instead: accepted.
    r = b.form_post("/account/settings/profile", fields, origin=None,
                    headers={"Referer": server.base_url + "/account/settings?ed=en"})
    assert r.status == 303, r
    assert b.me().json()["display_name"] == "Changed"


def test_bearer_token_clients_need_no_origin(server):
    token = create_token(server.data_dir, "csrf-origin-machine", "editor")
    r = server.request("POST", "/api/v1/tickers/en/entries", json_body={"body": "From a script."},
                       token=token)
    assert r.status == 201, r


# --------------------------------------------------------------------------
# Drain on SIGTERM, SIGHUP
# --------------------------------------------------------------------------

FULL = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"


def keep_alive_connection(srv) -> socket.socket:
    s = socket.create_connection(srv.address, timeout=15)
    s.sendall(FULL)
    data = b""
    while b"\r\n\r\nok\n" not in data:
        chunk = s.recv(4096)
        assert chunk, "closed a keep-alive connection"
        data += chunk
    return s


def test_sigterm_answers_every_request_already_received(make_server):
    srv = make_server({"DEPESCHE_SERVER_SHUTDOWN_TIMEOUT_MS": "5000"}, demo=False)
    socks = [keep_alive_connection(srv) for _ in range(8)]
    try:
        # Half send a whole request, half only the start of one: both are
        # requests in flight on a keep-alive connection.
        for i, s in enumerate(socks):
            s.sendall(FULL if i % 2 == 0 else FULL[:20])
        srv.signal(signal.SIGTERM)
        srv.wait_for_log(lambda r: r.get("msg") == "shutdown requested", 10, "the shutdown line")
        for i, s in enumerate(socks):
            if i % 2:
                s.sendall(FULL[20:])
        for i, s in enumerate(socks):
            resps = split_raw_responses(read_until_closed(s))
            assert [r.status for r in resps] == [200], (i, resps)
            if i % 2:  # answered in the drain (a whole request may have been answered before it)
                assert (resps[0].header("connection") or "").lower() == "close"
    finally:
        for s in socks:
            s.close()
    assert srv.wait_exit(timeout=20) == 0
    # New connections were refused (nothing left listening).
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(srv.address, timeout=5).close()


def test_sighup_is_logged_and_the_server_keeps_serving(make_server):
    srv = make_server(demo=False)
    srv.signal(signal.SIGHUP)
    srv.wait_for_log(lambda r: "SIGHUP" in str(r.get("msg")), 10, "the SIGHUP line")
    assert srv.get("/healthz").status == 200
    assert srv.proc.poll() is None
