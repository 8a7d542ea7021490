"""A store that cannot write is the server's fault, not the reader's, and
the server says so: the API answers 503 `unavailable` (never 202 "a mail
is on its way"), forms show the localised 503 page (never "your input is
wrong"), /readyz fails so a load balancer stops sending, pages that only
read keep working, and nothing half-written stays behind. When the disk
is writable again, everything works again without a restart.

The files are made immutable with `chattr +i`, which stops writes even
through descriptors the server already holds (root included). That is
the SQLite store's own files; another store gets its own way to fail."""

from __future__ import annotations

import subprocess
import urllib.parse
from pathlib import Path

import pytest

from account_helpers import HIGH_LIMITS, PASSWORD, Browser, MaildirBox, unique_email, wait_until
from conftest import catalog, http_request
from stored import sqlite_files_only


def db_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "depesche.db", data_dir / "depesche.db-wal") if p.exists()]


def chattr(flag: str, files: list[Path]) -> None:
    subprocess.run(["chattr", flag, *map(str, files)], check=True, capture_output=True)


@pytest.fixture
def frozen(make_server):
    """A server whose database files cannot be written; thawed at the end."""
    srv = make_server(dict(HIGH_LIMITS))
    files = db_files(srv.data_dir)
    try:
        chattr("+i", files)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"chattr +i is not available here: {e}")
    try:
        yield srv, files
    finally:
        chattr("-i", files)


def ready(srv) -> int:
    return http_request(srv.address, "GET", "/readyz").status


@sqlite_files_only
def test_a_store_that_cannot_write_is_unavailable_not_the_readers_fault(frozen):
    srv, files = frozen
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

    chattr("-i", files)
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
