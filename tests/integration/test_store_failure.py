"""A store that cannot write is the server's fault, not the reader's, and
the server says so: the API answers 503 `unavailable` (never 202 "a mail
is on its way"), forms show the localised 503 page (never "your input is
wrong"), /readyz fails so a load balancer stops sending, pages that only
read keep working, and nothing half-written stays behind. When the disk
is writable again, everything works again without a restart.

On SQLite the files are made immutable with `chattr +i`, which stops
writes even through descriptors the server already holds (root
included). On PostgreSQL the server's database is made read-only
(`default_transaction_read_only`) and its sessions are ended, so the
server's pool reconnects into read-only sessions: what a standby or a
database put read-only by its operator looks like; thawing undoes both."""

from __future__ import annotations

import subprocess
import urllib.parse
from pathlib import Path

import pytest

import stored
from account_helpers import HIGH_LIMITS, PASSWORD, Browser, MaildirBox, unique_email, wait_until
from conftest import catalog, http_request


def db_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "depesche.db", data_dir / "depesche.db-wal") if p.exists()]


def chattr(flag: str, files: list[Path]) -> None:
    subprocess.run(["chattr", flag, *map(str, files)], check=True, capture_output=True)


def psql(sql: str) -> None:
    proc = subprocess.run(["psql", stored.TEST_STORE_URL, "-v", "ON_ERROR_STOP=1", "-qc", sql],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def postgres_read_only(srv, on: bool) -> None:
    db = urllib.parse.urlsplit(stored.store_url_for(srv.data_dir)).path.lstrip("/")
    if on:
        psql(f"ALTER DATABASE {db} SET default_transaction_read_only = on")
    else:
        psql(f"ALTER DATABASE {db} RESET default_transaction_read_only")
    # The setting reaches new sessions only: end the server's.
    psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'")


@pytest.fixture
def frozen(make_server):
    """A server whose store cannot take writes, and the function that makes
    it writable again (also run at the end)."""
    srv = make_server(dict(HIGH_LIMITS))
    if stored.store_kind() == "postgres":
        postgres_read_only(srv, True)
        thawed = []

        def thaw():
            if not thawed:
                postgres_read_only(srv, False)
                thawed.append(True)

        try:
            yield srv, thaw
        finally:
            thaw()
        return
    files = db_files(srv.data_dir)
    try:
        chattr("+i", files)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"chattr +i is not available here: {e}")
    try:
        yield srv, lambda: chattr("-i", files)
    finally:
        chattr("-i", files)


def ready(srv) -> int:
    return http_request(srv.address, "GET", "/readyz").status


def test_a_store_that_cannot_write_is_unavailable_not_the_readers_fault(frozen):
    srv, thaw = frozen
    address = unique_email("frozen")
    body = {"email": address, "password": PASSWORD, "display_name": "Frozen", "edition": "en"}

    r = Browser(srv).api("POST", "/api/v1/auth/register", body, csrf=False)
    assert r.status == 503, f"accepted while nothing can be stored: {r}"
    assert r.json()["error"]["code"] == "unavailable", r.body
    assert r.header("retry-after"), "a 503 says when to come back"

    # The form: the localised 503 page, not the register form with an error.
    b = Browser(srv)
    form = b.get("/account/register?ed=de")
    assert form.status == 200
    csrf = b.cookies["depesche_csrf"]
    form_body = urllib.parse.urlencode({"csrf": csrf, "ed": "de", "email": address,
                                        "password": PASSWORD, "display_name": "Frozen"})
    r = b.request("POST", "/account/register", body=form_body,
                  headers={"Content-Type": "application/x-www-form-urlencoded",
                           "Origin": b.origin})
    assert r.status == 503, r
    assert catalog("de")["error_503_title"] in r.text, r.text[:500]
    assert "<form" not in r.text.split("<main", 1)[-1], "the reader is not asked to fix their input"
    rid = r.header("x-request-id")
    assert rid and rid in r.text, "the page gives the reference its log line carries"

    wait_until(lambda: ready(srv) == 503, 5, "/readyz failing while the store cannot write")
    # Reading still works: the site stays up for readers.
    assert http_request(srv.address, "GET", "/en/").status == 200

    thaw()
    wait_until(lambda: ready(srv) == 200, 10, "/readyz ready again once the disk is writable")
    # Nothing of the refused registration was kept: the address has no
    # account (no login), and registering it now works end to end.
    b = Browser(srv)
    assert b.login(address, PASSWORD).status == 401, "a half-written account was left behind"
    r = b.api("POST", "/api/v1/auth/register", body, csrf=False)
    assert r.status == 202, r
    mail = MaildirBox(srv.data_dir).wait_for(address)
    r = b.api("POST", "/api/v1/auth/confirm", {"token": mail.token("/account/confirm")}, csrf=False)
    assert r.status == 200, r
