"""Fixtures and small helpers for the black-box integration tests.

Every server here is the real `depesche` binary: a fresh temporary data
directory, `depesche demo` to fill it, then `depesche serve` on
127.0.0.1:0. Start-up waits for the JSON log line with "msg":"ready" (no
fixed sleeps) and takes the address from it. At teardown the server gets
SIGTERM and must exit with status 0 within a deadline, and nothing it wrote
to stderr or stdout may be a sanitizer report.

Only the Python standard library and pytest are used.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Callable, Iterable

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EDITIONS = ("de", "en", "ru")

READY_TIMEOUT_S = 30.0
CLI_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 15.0
# Servers started by the fixtures get a short drain budget so a teardown never
# waits long; the graceful-shutdown tests use their own settings.
FIXTURE_SHUTDOWN_TIMEOUT_MS = 500
# How long a SIGTERMed server may take to exit beyond its drain budget
# (sanitizer builds are slow to tear down).
EXIT_MARGIN_S = 15.0

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "SUMMARY: UndefinedBehaviorSanitizer",
    "WARNING: ThreadSanitizer",
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "server_bug(description): the test asserts the correct behaviour and fails "
        "because of a known, reported bug in the server; see the description",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # A failing test marked server_bug says which reported bug it shows.
    outcome = yield
    report = outcome.get_result()
    if report.when in ("call", "teardown") and report.failed:
        for mark in item.iter_markers("server_bug"):
            report.sections.append(("known server bug", mark.args[0] if mark.args else "(no description)"))


# --------------------------------------------------------------------------
# The binary and its environment
# --------------------------------------------------------------------------


def depesche_bin() -> Path:
    value = os.environ.get("DEPESCHE_BIN")
    path = Path(value) if value else Path("build/ci/depesche")
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


@pytest.fixture(scope="session")
def bin_path() -> Path:
    path = depesche_bin()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"Depesche binary not found or not executable at {path} (build it, or set DEPESCHE_BIN)")
    return path


def child_env(data_dir: Path | str | None, extra: dict | None = None) -> dict:
    """The environment for a depesche process: ours without any DEPESCHE_
    variable (a stray one would be read as configuration), plus the data dir
    and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPESCHE_")}
    # Leak checking stays on unless the caller chose otherwise: a clean exit
    # is part of what is tested.
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    env.setdefault("LC_ALL", "C.UTF-8")
    if data_dir is not None:
        env["DEPESCHE_DATA_DIR"] = str(data_dir)
        # Imported here: stored.py imports this module.
        from stored import store_url_for

        url = store_url_for(data_dir)
        if url is not None:
            env["DEPESCHE_STORE_URL"] = url
    if extra:
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
    return env


def printable(line: str) -> str:
    """A log line as text, invalid UTF-8 bytes shown as \\xNN."""
    return line.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_valid_utf8(line: str) -> bool:
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def sanitizer_reports(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKERS)]


def sanitizer_excerpt(text: str, lines: int = 40) -> str:
    """The first sanitizer report in `text`, from its first line on."""
    all_lines = text.splitlines()
    for i, line in enumerate(all_lines):
        if any(m in line for m in SANITIZER_MARKERS):
            return "\n".join(all_lines[max(0, i - 1): i + lines])
    return text[-4000:]


def run_cli(
    args: Iterable[str],
    data_dir: Path | str | None,
    extra_env: dict | None = None,
    input: str | None = None,
    timeout: float = CLI_TIMEOUT_S,
    cwd: Path | str | None = None,
) -> subprocess.CompletedProcess:
    """Runs `depesche ARGS` to completion; fails the test on a sanitizer report."""
    cmd = [str(depesche_bin()), *args]
    proc = subprocess.run(
        cmd,
        env=child_env(data_dir, extra_env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )
    reports = sanitizer_reports(proc.stdout + proc.stderr)
    assert not reports, f"sanitizer report from {cmd}:\n{sanitizer_excerpt(proc.stderr)}"
    return proc


def run_demo(data_dir: Path) -> None:
    proc = run_cli(["demo"], data_dir)
    assert proc.returncode == 0, f"depesche demo failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"


def create_token(data_dir: Path, name: str, role: str = "editor") -> str:
    proc = run_cli(["token", "create", "--role", role, "--name", name], data_dir)
    assert proc.returncode == 0, f"token create failed ({proc.returncode}):\n{proc.stderr}"
    lines = [l.strip() for l in proc.stdout.splitlines() if l.strip().startswith("dp_")]
    assert len(lines) == 1, f"expected one secret on stdout, got:\n{proc.stdout}"
    return lines[0]


def revoke_token(data_dir: Path, name: str) -> None:
    proc = run_cli(["token", "revoke", "--name", name], data_dir)
    assert proc.returncode == 0, f"token revoke failed ({proc.returncode}):\n{proc.stderr}"


# --------------------------------------------------------------------------
# HTTP helpers
# --------------------------------------------------------------------------


class Resp:
    """One HTTP response, fully read."""

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self.reason = reason
        self.header_list = headers
        self.body = body

    def header(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for k, v in self.header_list:
            if k.lower() == name:
                return v
        return default

    def headers_named(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.header_list if k.lower() == name]

    @property
    def text(self) -> str:
        body = self.body
        if (self.header("content-encoding") or "").lower() == "gzip":
            body = gzip.decompress(body)
        return body.decode("utf-8")

    def json(self):
        ctype = self.header("content-type") or ""
        assert ctype.startswith("application/json"), f"expected JSON, got {ctype!r}: {self.body[:300]!r}"
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Resp {self.status} {self.header('content-type')} {self.body[:200]!r}>"


def http_request(
    address: tuple[str, int],
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict | None = None,
    json_body=None,
    token: str | None = None,
    timeout: float = HTTP_TIMEOUT_S,
    conn: http.client.HTTPConnection | None = None,
) -> Resp:
    hdrs = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body)
        hdrs.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(address[0], address[1], timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, r.reason, list(r.getheaders()), data)
    finally:
        if own:
            conn.close()


def parse_raw_response(data: bytes) -> Resp:
    """Parses the first HTTP/1.1 response in `data` (Content-Length framing)."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    assert sep, f"no complete response head in {data[:500]!r}"
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)", lines[0])
    assert m, f"bad status line {lines[0]!r}"
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    resp = Resp(int(m.group(1)), m.group(2), headers, b"")
    length = resp.header("content-length")
    resp.body = rest[: int(length)] if length is not None else rest
    return resp


def split_raw_responses(data: bytes) -> list[Resp]:
    """All Content-Length framed responses in `data`, in order."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        r = parse_raw_response(data)
        length = int(r.header("content-length") or 0)
        if r.status in (204, 304) or 100 <= r.status < 200:
            length = 0
        out.append(r)
        data = rest[length:]
    return out


def raw_exchange(address: tuple[str, int], data: bytes, timeout: float = HTTP_TIMEOUT_S) -> bytes:
    """Sends raw bytes, half-closes nothing, and reads until the server closes
    the connection (requests should carry Connection: close, or be ones the
    server closes after)."""
    with socket.create_connection(address, timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                raise AssertionError(f"server kept the connection open; got so far: {b''.join(chunks)[:500]!r}")
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


# --------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------


class ServerProcess:
    """A running `depesche serve`, its log lines, and HTTP helpers."""

    def __init__(self, data_dir: Path, extra_env: dict | None = None, args: Iterable[str] = ("serve",),
                 test_clock: bool = False):
        self.data_dir = Path(data_dir)
        env = {"DEPESCHE_SERVER_LISTEN": "127.0.0.1:0",
               "DEPESCHE_SERVER_THREADS": "2",
               "DEPESCHE_SERVER_SHUTDOWN_TIMEOUT_MS": str(FIXTURE_SHUTDOWN_TIMEOUT_MS)}
        # The test clock (config testing.clock_file): the server adds the
        # milliseconds in this file to its clock; advance_clock() moves it.
        self.clock_file: Path | None = None
        if test_clock:
            self.clock_file = self.data_dir.parent / f"{self.data_dir.name}.clock"
            self._write_clock(0)
            env["DEPESCHE_TESTING_CLOCK_FILE"] = str(self.clock_file)
        env.update(extra_env or {})
        self.env = env
        self.shutdown_timeout_s = int(env.get("DEPESCHE_SERVER_SHUTDOWN_TIMEOUT_MS") or 10000) / 1000.0
        self.args = list(args)
        self.proc: subprocess.Popen | None = None
        self.lines: list[tuple[str, str]] = []  # (stream, line)
        self.cond = threading.Condition()
        self.readers: list[threading.Thread] = []
        self.address: tuple[str, int] | None = None
        self.ready_line: dict | None = None
        self.exit_code: int | None = None

    # -- process --------------------------------------------------------

    def start(self) -> "ServerProcess":
        self.proc = subprocess.Popen(
            [str(depesche_bin()), *self.args],
            env=child_env(self.data_dir, self.env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, stream in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            t = threading.Thread(target=self._pump, args=(name, stream), daemon=True)
            t.start()
            self.readers.append(t)
        return self

    def _pump(self, name: str, stream) -> None:
        for raw in iter(stream.readline, b""):
            # surrogateescape keeps invalid UTF-8 detectable (see printable()).
            line = raw.decode("utf-8", errors="surrogateescape").rstrip("\n")
            with self.cond:
                self.lines.append((name, line))
                self.cond.notify_all()
        with self.cond:
            self.lines.append((name, None))  # end of stream
            self.cond.notify_all()

    def output(self, last: int = 60) -> str:
        with self.cond:
            return self._output_unlocked(last)

    def stderr_text(self) -> str:
        with self.cond:
            return "\n".join(printable(l) for s, l in self.lines if s == "stderr" and l is not None)

    def all_text(self) -> str:
        with self.cond:
            return "\n".join(printable(l) for s, l in self.lines if l is not None)

    def log_records(self) -> list[dict]:
        out = []
        with self.cond:
            lines = [l for s, l in self.lines if s == "stdout" and l is not None]
        for l in lines:
            try:
                rec = json.loads(l)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    def wait_for_log(self, pred: Callable[[dict], bool], timeout: float, what: str = "log line") -> dict:
        """Waits until a JSON log line on stdout satisfies `pred`. Fails if the
        process exits (both streams closed) or the deadline passes first."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self.cond:
            while True:
                while seen < len(self.lines):
                    stream, line = self.lines[seen]
                    seen += 1
                    if stream != "stdout" or line is None:
                        continue
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(rec, dict) and pred(rec):
                        return rec
                ended = sum(1 for _, l in self.lines if l is None) == 2
                if ended:
                    raise AssertionError(f"server exited before {what}:\n{self._output_unlocked()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {what} within {timeout} s:\n{self._output_unlocked()}")
                self.cond.wait(remaining)

    def _output_unlocked(self, last: int = 60) -> str:
        lines = [f"[{s}] {printable(l)}" for s, l in self.lines if l is not None]
        return "\n".join(lines[-last:])

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> "ServerProcess":
        rec = self.wait_for_log(lambda r: r.get("msg") == "ready", timeout, 'the "ready" line')
        self.ready_line = rec
        host, _, port = rec["address"].rpartition(":")
        self.address = (host.strip("[]"), int(port))
        return self

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        try:
            self.exit_code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"server did not exit within {timeout} s:\n{self.output()}")
        for t in self.readers:
            t.join(timeout=10)
        return self.exit_code

    def stop(self, timeout: float | None = None) -> int:
        """SIGTERM, then wait for exit; returns the exit status."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        if timeout is None:
            timeout = self.shutdown_timeout_s + EXIT_MARGIN_S
        return self.wait_exit(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def assert_clean_exit(self, timeout: float | None = None) -> None:
        try:
            rc = self.stop(timeout)
        finally:
            self.kill()
        reports = sanitizer_reports(self.all_text())
        assert not reports, "sanitizer report from the server:\n" + sanitizer_excerpt(self.all_text())
        assert rc == 0, f"server exited with {rc} after SIGTERM:\n{self.output()}"

    # -- the test clock ---------------------------------------------------

    def _write_clock(self, offset_ms: int) -> None:
        # Atomically: the server reads the file on every clock reading.
        tmp = self.clock_file.with_name(self.clock_file.name + ".tmp")
        tmp.write_text(f"{offset_ms}\n")
        os.replace(tmp, self.clock_file)

    @property
    def clock_offset_ms(self) -> int:
        assert self.clock_file is not None, "server started without test_clock=True"
        return int(self.clock_file.read_text().strip())

    def advance_clock(self, seconds: float) -> None:
        """Moves the server's clock forward (it takes effect at its next
        clock reading: no waiting needed)."""
        self._write_clock(self.clock_offset_ms + int(seconds * 1000))

    # -- HTTP -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    def request(self, method: str, path: str, **kw) -> Resp:
        assert self.address, "server is not ready"
        return http_request(self.address, method, path, **kw)

    def get(self, path: str, **kw) -> Resp:
        return self.request("GET", path, **kw)

    def raw(self, data: bytes, timeout: float = HTTP_TIMEOUT_S) -> bytes:
        return raw_exchange(self.address, data, timeout)

    def connection(self, timeout: float = HTTP_TIMEOUT_S) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.address[0], self.address[1], timeout=timeout)

    def assert_alive(self) -> None:
        assert self.proc.poll() is None, f"server died:\n{self.output()}"
        r = self.get("/healthz")
        assert r.status == 200, r


def start_server(data_dir: Path, extra_env: dict | None = None, test_clock: bool = False) -> ServerProcess:
    srv = ServerProcess(data_dir, extra_env, test_clock=test_clock).start()
    try:
        srv.wait_ready()
    except BaseException:
        srv.kill()
        raise
    return srv


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_dir(bin_path, tmp_path_factory) -> Path:
    """A fresh data directory with the demo content, one per test module."""
    d = tmp_path_factory.mktemp("data")
    run_demo(d)
    return d


@pytest.fixture(scope="module")
def server(demo_dir) -> ServerProcess:
    """One server per module on the demo content; must shut down cleanly."""
    srv = start_server(demo_dir)
    yield srv
    srv.assert_clean_exit()


@pytest.fixture(scope="module")
def editor_token(server) -> str:
    return create_token(server.data_dir, "editor-fixture", "editor")


@pytest.fixture(scope="module")
def reader_token(server) -> str:
    return create_token(server.data_dir, "reader-fixture", "reader")


@pytest.fixture
def make_server(bin_path, tmp_path):
    """Factory for servers a test configures itself; every one is stopped
    (and checked for sanitizer reports) at the end of the test."""
    started: list[ServerProcess] = []

    def make(extra_env: dict | None = None, demo: bool = True, data_dir: Path | None = None,
             test_clock: bool = False) -> ServerProcess:
        d = data_dir or (tmp_path / f"data{len(started)}")
        d.mkdir(parents=True, exist_ok=True)
        if demo:
            run_demo(d)
        srv = ServerProcess(d, extra_env, test_clock=test_clock).start()
        started.append(srv)
        srv.wait_ready()
        return srv

    yield make
    for srv in started:
        if srv.exit_code is None:
            srv.assert_clean_exit()
        else:
            reports = sanitizer_reports(srv.all_text())
            assert not reports, "sanitizer report from the server:\n" + sanitizer_excerpt(srv.all_text())


# --------------------------------------------------------------------------
# Content helpers
# --------------------------------------------------------------------------


def catalog(edition: str) -> dict:
    with open(REPO_ROOT / "locales" / edition / "messages.json", encoding="utf-8") as f:
        return json.load(f)


def api_list_all(srv: ServerProcess, edition: str, token: str | None = None, **params) -> list[dict]:
    """Every article of an edition via the list API, following cursors."""
    items: list[dict] = []
    cursor = None
    for _ in range(100):
        q = {"edition": edition, "limit": "100", **params}
        if cursor:
            q["cursor"] = cursor
        r = srv.get("/api/v1/articles?" + urlencode(q), token=token)
        assert r.status == 200, r
        page = r.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the article list never ended")


def urlencode(params: dict) -> str:
    return urllib.parse.urlencode(params)
