"""Shared helpers for the account tests (test_accounts.py,
test_account_security.py, test_account_mail.py).

- `SmtpSink`: a real SMTP server (Debian's aiosmtpd, in-process) on
  127.0.0.1 that keeps every message it receives, parsed with the `email`
  package (quoted-printable bodies and RFC 2047 headers decoded).
- `MaildirBox`: the same view of `<data dir>/outbox/new` (the default
  transport when `mail.smtp_url` is empty).
- `Browser`: one client with its own cookie jar, Origin header and, if
  wanted, its own loopback source address (127.0.0.x), so rate limits per
  client address can be told apart from limits per account.
- `register`, `register_confirmed`, `create_user`, and `Barrier` and
  `snapshot` for "nothing was written" (stored state comes from
  `stored.py`, through `depesche store dump`).

Waiting is always polling against a deadline; there are no fixed sleeps.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import http.client
import json
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

import stored
from conftest import HTTP_TIMEOUT_S, Resp, ServerProcess, run_cli, run_demo

MAIL_TIMEOUT_S = 15.0

# Limits high enough that no test which is not about limits ever meets one
# (every request comes from 127.0.0.1).
HIGH_LIMITS = {
    "DEPESCHE_ACCOUNTS_LOGIN_PER_MINUTE": "1000",
    "DEPESCHE_ACCOUNTS_REGISTER_PER_HOUR": "100000",
    "DEPESCHE_ACCOUNTS_RESET_PER_HOUR": "100000",
    "DEPESCHE_ACCOUNTS_RESEND_PER_HOUR": "100000",
    "DEPESCHE_ACCOUNTS_MAILS_PER_ADDRESS_PER_HOUR": "100000",
}

# Passwords that pass the server's rules (12..128 characters, not common,
# not containing the address's local part or the name).
PASSWORD = "Kestrel-Harbour-4471"
PASSWORD2 = "Quiet-Lantern-9083"
PASSWORD3 = "Copper-Meadow-5526"

_counter = [0]
_counter_lock = threading.Lock()


def unique_email(tag: str = "u") -> str:
    """A fresh address; the local part never appears in the test passwords."""
    with _counter_lock:
        _counter[0] += 1
        n = _counter[0]
    return f"{tag}{n}x{int(time.time() * 1000) % 100000}@example.org"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Polls `pred` until it returns something truthy; fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------
# Mail
# --------------------------------------------------------------------------

LINK_RE = re.compile(r"https?://[^\s\"'<>]+")


@dataclass
class Mail:
    raw: bytes
    envelope_to: list[str] = field(default_factory=list)
    envelope_from: str = ""

    def __post_init__(self):
        self.msg = email.message_from_bytes(self.raw, policy=email.policy.default)

    @property
    def to(self) -> str:
        return str(self.msg["To"] or "")

    @property
    def subject(self) -> str:
        return str(self.msg["Subject"] or "")

    @property
    def content_type(self) -> str:
        return self.msg.get_content_type()

    @property
    def text(self) -> str:
        part = self.msg.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @property
    def html(self) -> str:
        part = self.msg.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    def links(self) -> list[str]:
        return LINK_RE.findall(self.text)

    def link(self, path_prefix: str) -> str:
        for l in self.links():
            if urllib.parse.urlsplit(l).path == path_prefix:
                return l
        raise AssertionError(f"no link to {path_prefix} in mail {self.subject!r}:\n{self.text}")

    def token(self, path_prefix: str) -> str:
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.link(path_prefix)).query)
        assert q.get("token"), f"link without token: {self.link(path_prefix)}"
        return q["token"][0]

    def addressed_to(self, address: str) -> bool:
        address = address.lower()
        to = [a.lower() for _, a in email.utils.getaddresses([self.to])]
        return address in to or any(address == a.lower() for a in self.envelope_to)

    def __repr__(self) -> str:
        return f"<Mail to={self.to!r} subject={self.subject!r}>"


class MailSource:
    """What both transports offer: every mail so far, and waiting for one."""

    def all(self) -> list[Mail]:  # pragma: no cover - overridden
        raise NotImplementedError

    def for_address(self, address: str) -> list[Mail]:
        return [m for m in self.all() if m.addressed_to(address)]

    def wait_for(self, address: str, subject_contains: str | None = None, count: int = 1,
                 timeout: float = MAIL_TIMEOUT_S) -> Mail:
        """The `count`-th mail to `address` (whose subject contains the text,
        if given); waits for it with a deadline."""

        def found():
            ms = [m for m in self.for_address(address)
                  if subject_contains is None or subject_contains in m.subject]
            return ms[count - 1] if len(ms) >= count else None

        return wait_until(found, timeout, f"mail #{count} to {address} ({subject_contains!r}); "
                                          f"have {self.all()!r}")


class _Handler:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        if self.sink.delay_s:
            await asyncio.sleep(self.sink.delay_s)
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        mail = Mail(bytes(data), list(envelope.rcpt_tos), envelope.mail_from or "")
        with self.sink.cond:
            self.sink.messages.append(mail)
            self.sink.cond.notify_all()
        return "250 Message accepted for delivery"


class SmtpSink(MailSource):
    """A real SMTP server on 127.0.0.1 (aiosmtpd), keeping what it receives."""

    def __init__(self, port: int | None = None, delay_s: float = 0.0):
        self.port = port or free_port()
        self.delay_s = delay_s  # before each answer to DATA: a slow mail server
        self.messages: list[Mail] = []
        self.cond = threading.Condition()
        self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=off"

    def start(self) -> "SmtpSink":
        from aiosmtpd.controller import Controller  # Debian's python3-aiosmtpd

        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     ready_timeout=10)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def all(self) -> list[Mail]:
        with self.cond:
            return list(self.messages)


class MaildirBox(MailSource):
    """The maildir outbox of a server without mail.smtp_url."""

    def __init__(self, data_dir: Path):
        self.dir = Path(data_dir) / "outbox" / "new"
        self._cache: dict[str, Mail] = {}

    def all(self) -> list[Mail]:
        if not self.dir.is_dir():
            return []
        out = []
        for p in sorted(self.dir.iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name)):
            if p.name not in self._cache:
                self._cache[p.name] = Mail(p.read_bytes())
            out.append(self._cache[p.name])
        return out


# --------------------------------------------------------------------------
# A browser-like client
# --------------------------------------------------------------------------


def parse_set_cookie(value: str) -> tuple[str, str, dict]:
    parts = [p.strip() for p in value.split(";")]
    name, _, val = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip()
    return name.strip(), val.strip(), attrs




class Browser:
    """Keeps cookies like a browser, sends Origin with state changes, and can
    come from its own loopback address."""

    def __init__(self, srv: ServerProcess, source_ip: str | None = None):
        self.srv = srv
        self.source_ip = source_ip
        self.extra_headers: dict[str, str] = {}  # sent with every request (e.g. X-Forwarded-For)
        self.cookies: dict[str, str] = {}
        self.csrf: str | None = None

    @property
    def origin(self) -> str:
        return self.srv.base_url

    @property
    def session(self) -> str | None:
        return self.cookies.get("depesche_session")

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict | None = None, json_body=None, cookies: bool = True) -> Resp:
        hdrs = {**self.extra_headers, **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body)
            hdrs.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        if cookies and self.cookies and "Cookie" not in hdrs:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        src = (self.source_ip, 0) if self.source_ip else None
        conn = http.client.HTTPConnection(self.srv.address[0], self.srv.address[1],
                                          timeout=HTTP_TIMEOUT_S, source_address=src)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            resp = Resp(r.status, r.reason, list(r.getheaders()), r.read())
        finally:
            conn.close()
        if cookies:
            for v in resp.headers_named("set-cookie"):
                name, val, attrs = parse_set_cookie(v)
                if attrs.get("max-age") == "0" or val == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = val
        return resp

    def get(self, path: str, **kw) -> Resp:
        return self.request("GET", path, **kw)

    # -- pages ------------------------------------------------------------

    def form_post(self, path: str, fields: dict, origin: str | None = "same",
                  csrf: str | None = "auto", headers: dict | None = None) -> Resp:
        """POSTs a urlencoded form like a browser would: Origin of this site
        and the csrf field from the cookie, unless told otherwise."""
        fields = dict(fields)
        if csrf == "auto":
            csrf = self.cookies.get("depesche_csrf")
        if csrf is not None:
            fields.setdefault("csrf", csrf)
        hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
        if origin == "same":
            hdrs["Origin"] = self.origin
        elif origin is not None:
            hdrs["Origin"] = origin
        hdrs.update(headers or {})
        return self.request("POST", path, body=urllib.parse.urlencode(fields), headers=hdrs)

    # -- API --------------------------------------------------------------

    def api(self, method: str, path: str, json_body=None, csrf: bool = True,
            origin: str | None = "same", headers: dict | None = None) -> Resp:
        hdrs = {}
        if origin == "same":
            hdrs["Origin"] = self.origin
        elif origin is not None:
            hdrs["Origin"] = origin
        if csrf and self.cookies.get("depesche_csrf"):
            hdrs["X-CSRF-Token"] = self.cookies["depesche_csrf"]
        hdrs.update(headers or {})
        return self.request(method, path, json_body=json_body, headers=hdrs)


    def login(self, address: str, password: str) -> Resp:
        r = self.api("POST", "/api/v1/auth/login", {"email": address, "password": password},
                     csrf=False)
        if r.status == 200:
            self.csrf = r.json()["csrf_token"]
        return r

    def me(self) -> Resp:
        return self.get("/api/v1/me")


# --------------------------------------------------------------------------
# Stored state
# --------------------------------------------------------------------------


def account_row(srv, address: str) -> dict | None:
    """The stored account of an address, through the store dump."""
    return stored.account(srv, address)


def wait_account(srv, address: str, timeout: float = MAIL_TIMEOUT_S) -> dict:
    """Waits for the account of an address to be stored (accounts are
    created after the answer, on the background queue)."""
    return wait_until(lambda: account_row(srv, address), timeout, f"account row for {address}",
                      interval=0.2)


def create_user(srv, address: str, password: str, role: str = "reader", name: str | None = None) -> int:
    args = ["user", "create", "--email", address, "--password-stdin", "--role", role]
    if name:
        args += ["--name", name]
    proc = run_cli(args, srv.data_dir, input=password + "\n")
    assert proc.returncode == 0, f"user create failed: {proc.stdout}\n{proc.stderr}"
    return int(proc.stdout.split("\t")[0])


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------


def start_account_server(data_dir: Path, env: dict | None = None, demo: bool = True,
                         high_limits: bool = True, test_clock: bool = False) -> ServerProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    if demo:
        run_demo(data_dir)
    e = dict(HIGH_LIMITS) if high_limits else {}
    e.update(env or {})
    srv = ServerProcess(data_dir, e, test_clock=test_clock).start()
    try:
        srv.wait_ready()
    except BaseException:
        srv.kill()
        raise
    return srv


@pytest.fixture(scope="module")
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def smtp_server(bin_path, tmp_path_factory, smtp_sink) -> ServerProcess:
    """A demo server that mails through the module's SMTP sink; limits raised."""
    srv = start_account_server(tmp_path_factory.mktemp("acct"),
                               {"DEPESCHE_MAIL_SMTP_URL": smtp_sink.url})
    yield srv
    srv.assert_clean_exit()


def register(b: Browser, address: str, password: str = PASSWORD, name: str = "Reader",
             edition: str = "en") -> Resp:
    return b.api("POST", "/api/v1/auth/register",
                 {"email": address, "password": password, "display_name": name, "edition": edition},
                 csrf=False)


def register_confirmed(srv, mails: MailSource, address: str, password: str = PASSWORD,
                       name: str = "Reader", edition: str = "en") -> Browser:
    """Registers, confirms by the mailed token and logs in; the logged-in
    browser is returned."""
    b = Browser(srv)
    r = register(b, address, password, name, edition)
    assert r.status == 202, r
    m = mails.wait_for(address)
    r = b.api("POST", "/api/v1/auth/confirm", {"token": m.token("/account/confirm")}, csrf=False)
    assert r.status == 200, r
    r = b.login(address, password)
    assert r.status == 200, r
    return b


# --------------------------------------------------------------------------
# "Nothing changed": a barrier for the deferred account work, and snapshots
# --------------------------------------------------------------------------


class Barrier:
    """Account work is committed before the answer, and the outbox sends
    mails in the order they were queued. A reset request for a sentinel
    account posted last, and its mail arriving, proves that every mail
    queued before it has been sent (or tried)."""

    def __init__(self, srv, mails: "MailSource", address: str):
        self.srv = srv
        self.mails = mails
        self.address = address

    def wait(self) -> None:
        before = len(self.mails.for_address(self.address))
        r = Browser(self.srv).api("POST", "/api/v1/auth/reset-request", {"email": self.address},
                                  csrf=False)
        assert r.status == 202, r
        self.mails.wait_for(self.address, count=before + 1)


def make_barrier(srv, mails: "MailSource") -> Barrier:
    address = unique_email("sentinel")
    create_user(srv, address, PASSWORD3)
    return Barrier(srv, mails, address)


def snapshot(srv, exclude: str | None = None) -> dict:
    """Everything the account system stores (through the store dump),
    except what belongs to the address `exclude` (the barrier's sentinel)."""
    d = stored.dump(srv, "accounts", "sessions", "account_tokens", "mail_queue")
    ex = next((a for a in d["accounts"] if exclude and a["email"] == exclude.lower()), None)
    ex_id = ex["id"] if ex else -1
    return {
        "accounts": [a for a in d["accounts"] if a["id"] != ex_id],
        # Not last_seen_at: reading a page with a session touches it.
        "sessions": sorted((r["id_hash"], r["account_id"], r["created_at"])
                           for r in d["sessions"] if r["account_id"] != ex_id),
        "tokens": sorted((r for r in d["account_tokens"] if r["account_id"] != ex_id),
                         key=lambda r: r["hash"]),
        "mail_queue": [(r["id"], r["kind"], r["mail_to"]) for r in d["mail_queue"]
                       if r["mail_to"] != (exclude or "")],
    }
