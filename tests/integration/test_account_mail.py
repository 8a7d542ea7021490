"""Bad input to the account API and forms, and mail delivery when the SMTP
server is away.

Bad input must get a clear 4xx JSON error (`{"error":{"code","message"}}`)
and write nothing: no account row, no token, no mail_queue row. Account work
runs after the answer on one background queue, in order, so "nothing was
written" is checked after a barrier (a sentinel's reset mail arriving),
never after a fixed sleep; stored state comes from `depesche store dump`.

Mail: when the SMTP server is down, registration still answers 202, the
mail waits in mail_queue as pending (attempts and last_error recorded) and
is delivered once an SMTP server listens on that port; after
mail.max_attempts it is kept as failed and `depesche mail list --state
failed` shows it."""

from __future__ import annotations

import html
import json
import time

import pytest

import stored
from account_helpers import (PASSWORD, PASSWORD2, Browser, SmtpSink, account_row, free_port,
                             make_barrier, register, register_confirmed, smtp_server, smtp_sink,
                             snapshot, start_account_server, unique_email, wait_until)
from conftest import catalog, run_cli

_ = (smtp_server, smtp_sink)  # fixtures used by name

RETRY_ENV = {"DEPESCHE_MAIL_RETRY_FIRST_MS": "200", "DEPESCHE_MAIL_RETRY_MAX_MS": "400"}
# Delivery is retried by a background worker; generous, since it is a deadline.
DELIVERY_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def barrier(smtp_server, smtp_sink):
    return make_barrier(smtp_server, smtp_sink)


def assert_json_error(r, status: int | tuple, field: str | None = None) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status in statuses, r
    e = r.json()["error"]
    assert isinstance(e["code"], str) and e["code"], e
    assert isinstance(e["message"], str) and e["message"], e
    assert "exception" not in e["message"].lower() and "sqlite" not in e["message"].lower(), e
    if field is not None:
        assert e.get("field") == field, e
    return e


# --------------------------------------------------------------------------
# Registration: each case must be refused and leave no trace
# --------------------------------------------------------------------------


def reg(**over):
    body = {"email": unique_email("bad"), "password": PASSWORD, "display_name": "Bad Input",
            "edition": "en"}
    body.update(over)
    return {k: v for k, v in body.items() if v is not ...}


BAD_EMAILS = {
    "empty": "", "blank": "   ", "no-at": "plainaddress", "no-domain": "a@",
    "no-local-part": "@example.org", "space": "a b@example.org", "domain-without-dot": "a@example",
    "two-ats": "a@@example.org", "double-dot-local": "a..b@example.org",
    "leading-dot": ".a@example.org", "double-dot-domain": "a@example..org",
    "header-injection": "a@example.org\r\nBcc: x@example.org", "angle-brackets": "<a@example.org>",
    "two-addresses": "a@example.org, b@example.org", "local-part-65": "x" * 65 + "@example.org",
    "over-254": "a@" + "b" * 250 + ".org", "quote": "a\"b@example.org",
}

REGISTER_CASES = [
    *[pytest.param(reg(email=e), 400, "email", id=f"email-{k}") for k, e in BAD_EMAILS.items()],
    pytest.param(reg(display_name="x" * 61), 400, "display_name", id="name-61-chars"),
    pytest.param(reg(display_name="я" * 61), 400, "display_name", id="name-61-cyrillic"),
    pytest.param(reg(display_name=""), 400, "display_name", id="name-empty"),
    pytest.param(reg(display_name="   "), 400, "display_name", id="name-blank"),
    pytest.param(reg(display_name="line\nbreak"), 400, "display_name", id="name-control-char"),
    pytest.param(reg(password="Ab1-" * 32 + "X"), 400, "password", id="password-129-chars"),
    pytest.param(reg(password="short-pw"), 400, "password", id="password-short"),
    pytest.param(reg(password="password1234"), 400, "password", id="password-common"),
    pytest.param(reg(password="zzzzzzzzzzzzzzzz"), 400, "password", id="password-one-char"),
    pytest.param(reg(edition="fr"), 400, "edition", id="edition-unknown"),
    pytest.param(reg(edition=""), 400, "edition", id="edition-empty"),
    pytest.param(reg(email=12345), 400, "email", id="type-email-number"),
    pytest.param(reg(email=None), 400, "email", id="type-email-null"),
    pytest.param(reg(email=["a@example.org"]), 400, "email", id="type-email-array"),
    pytest.param(reg(password=123456789012345), 400, "password", id="type-password-number"),
    pytest.param(reg(display_name={"x": 1}), 400, "display_name", id="type-name-object"),
    pytest.param(reg(edition=True), 400, "edition", id="type-edition-bool"),
    pytest.param(reg(email=...), 400, "email", id="missing-email"),
    pytest.param(reg(password=...), 400, "password", id="missing-password"),
    pytest.param(reg(display_name=...), 400, "display_name", id="missing-name"),
    pytest.param(reg(edition=...), 400, "edition", id="missing-edition"),
    pytest.param(reg(role="admin"), 400, "role", id="unknown-field-role"),
    pytest.param(reg(confirmed=True), 400, "confirmed", id="unknown-field-confirmed"),
]


@pytest.mark.parametrize("body,status,field", REGISTER_CASES)
def test_register_bad_input_refused_and_nothing_written(smtp_server, smtp_sink, barrier, body,
                                                        status, field):
    srv = smtp_server
    before = snapshot(srv, barrier.address)
    r = Browser(srv).api("POST", "/api/v1/auth/register", body, csrf=False)
    assert_json_error(r, status, field)
    barrier.wait()
    assert snapshot(srv, barrier.address) == before
    if isinstance(body.get("email"), str) and "@" in body["email"]:
        assert not smtp_sink.for_address(body["email"].strip())


RAW_CASES = [
    pytest.param(b"{", "application/json", 400, id="invalid-json"),
    pytest.param(b"", "application/json", 400, id="empty-body"),
    pytest.param(b"[]", "application/json", 400, id="array"),
    pytest.param(b'"a@example.org"', "application/json", 400, id="string"),
    pytest.param(b"null", "application/json", 400, id="null"),
    pytest.param(json.dumps(reg(display_name="x" * 17000)).encode(), "application/json", (400, 413),
                 id="body-over-16KiB"),
    pytest.param(json.dumps(reg()).encode(), "text/plain", 415, id="text-plain"),
    pytest.param(b"email=a%40example.org&password=Kestrel-Harbour-4471&display_name=A&edition=en",
                 "application/x-www-form-urlencoded", 415, id="form-encoded"),
    pytest.param(json.dumps(reg()).encode(), None, 415, id="no-content-type"),
]


@pytest.mark.parametrize("raw,ctype,status", RAW_CASES)
def test_register_malformed_body_refused_and_nothing_written(smtp_server, barrier, raw, ctype,
                                                             status):
    srv = smtp_server
    before = snapshot(srv, barrier.address)
    headers = {"Origin": srv.base_url}
    if ctype:
        headers["Content-Type"] = ctype
    r = Browser(srv).request("POST", "/api/v1/auth/register", body=raw, headers=headers)
    assert_json_error(r, status)
    barrier.wait()
    assert snapshot(srv, barrier.address) == before


def test_register_limits_are_in_characters(smtp_server, smtp_sink):
    """The boundaries themselves are accepted: 60 characters of name (here
    120 bytes of Cyrillic) and 128 characters of password."""
    srv = smtp_server
    address = unique_email("edge")
    r = register(Browser(srv), address, password="Ab1-" * 32, name="я" * 60)
    assert r.status == 202, r
    m = smtp_sink.wait_for(address)
    assert "я" * 60 in m.text
    assert account_row(srv, address)["display_name"] == "я" * 60
    assert Browser(srv).login(address, "Ab1-" * 32).status == 200


# --------------------------------------------------------------------------
# Other endpoints
# --------------------------------------------------------------------------

ANON_CASES = [
    pytest.param("/api/v1/auth/confirm", {"token": "nope"}, 400, "token", id="confirm-unknown-token"),
    pytest.param("/api/v1/auth/confirm", {"token": "A" * 43}, 400, "token", id="confirm-token-shaped"),
    pytest.param("/api/v1/auth/confirm", {"token": ""}, 400, "token", id="confirm-empty-token"),
    pytest.param("/api/v1/auth/confirm", {"token": "x" * 5000}, 400, "token", id="confirm-huge-token"),
    pytest.param("/api/v1/auth/confirm", {"token": 5}, 400, "token", id="confirm-token-number"),
    pytest.param("/api/v1/auth/confirm", {}, 400, "token", id="confirm-missing-token"),
    pytest.param("/api/v1/auth/confirm", {"token": "x", "id": 1}, 400, "id", id="confirm-unknown-field"),
    pytest.param("/api/v1/auth/confirm-email", {"token": "A" * 43}, 400, "token", id="confirm-email-unknown"),
    pytest.param("/api/v1/auth/reset", {"token": "A" * 43, "password": PASSWORD2}, 400, "token",
                 id="reset-unknown-token"),
    pytest.param("/api/v1/auth/reset", {"token": "A" * 43}, 400, "password", id="reset-missing-password"),
    pytest.param("/api/v1/auth/reset", {"token": ["A"], "password": PASSWORD2}, 400, "token",
                 id="reset-token-array"),
    pytest.param("/api/v1/auth/reset-request", {"email": "not-an-address"}, 400, "email",
                 id="reset-request-bad-email"),
    pytest.param("/api/v1/auth/reset-request", {"email": 7}, 400, "email", id="reset-request-type"),
    pytest.param("/api/v1/auth/reset-request", {}, 400, "email", id="reset-request-missing"),
    pytest.param("/api/v1/auth/resend", {"email": "a@"}, 400, "email", id="resend-bad-email"),
    pytest.param("/api/v1/auth/resend", {"email": "a@example.org", "x": "y"}, 400, "x",
                 id="resend-unknown-field"),
    pytest.param("/api/v1/auth/login", {"email": "a@example.org"}, 400, "password", id="login-missing-password"),
    pytest.param("/api/v1/auth/login", {"email": 1, "password": PASSWORD}, 400, "email", id="login-email-number"),
    pytest.param("/api/v1/auth/login", {"email": "a@example.org", "password": PASSWORD, "remember": True},
                 400, "remember", id="login-unknown-field"),
]


@pytest.mark.parametrize("path,body,status,field", ANON_CASES)
def test_auth_endpoint_bad_input(smtp_server, barrier, path, body, status, field):
    srv = smtp_server
    before = snapshot(srv, barrier.address)
    assert_json_error(Browser(srv).api("POST", path, body, csrf=False), status, field)
    barrier.wait()
    assert snapshot(srv, barrier.address) == before


ANON_JSON_PATHS = ["/api/v1/auth/confirm", "/api/v1/auth/login", "/api/v1/auth/reset",
                   "/api/v1/auth/reset-request", "/api/v1/auth/resend", "/api/v1/auth/confirm-email"]


@pytest.mark.parametrize("path", ANON_JSON_PATHS)
def test_auth_endpoint_wrong_content_type(smtp_server, path, barrier):
    srv = smtp_server
    before = snapshot(srv, barrier.address)
    r = Browser(srv).request("POST", path, body="email=a%40example.org&token=x",
                             headers={"Content-Type": "text/plain", "Origin": srv.base_url})
    assert_json_error(r, (400, 415))
    barrier.wait()
    assert snapshot(srv, barrier.address) == before




def test_auth_endpoints_wrong_content_type_is_415(smtp_server):
    srv = smtp_server
    statuses = {}
    for path in ["/api/v1/auth/register", *ANON_JSON_PATHS]:
        r = Browser(srv).request("POST", path, body=json.dumps({"email": "a@example.org"}),
                                 headers={"Content-Type": "text/plain", "Origin": srv.base_url})
        assert_json_error(r, (400, 415))
        statuses[path] = r.status
    assert statuses == {p: 415 for p in statuses}


@pytest.fixture
def member(smtp_server, smtp_sink):
    b = register_confirmed(smtp_server, smtp_sink, unique_email("member"), name="Member Name")
    b.address = b.me().json()["email"]
    return b


SESSION_CASES = [
    pytest.param("PATCH", "/api/v1/me", {"display_name": "x" * 61}, 400, "display_name", id="me-name-61"),
    pytest.param("PATCH", "/api/v1/me", {"display_name": ""}, 400, "display_name", id="me-name-empty"),
    pytest.param("PATCH", "/api/v1/me", {"edition": "fr"}, 400, "edition", id="me-edition-unknown"),
    pytest.param("PATCH", "/api/v1/me", {"display_name": 5}, 400, "display_name", id="me-name-number"),
    pytest.param("PATCH", "/api/v1/me", {"role": "admin"}, 400, "role", id="me-role-field"),
    pytest.param("PATCH", "/api/v1/me", {"email": "new@example.org"}, 400, "email", id="me-email-field"),
    pytest.param("POST", "/api/v1/me/password", {"current_password": PASSWORD,
                                                 "new_password": "Ab1-" * 32 + "X"}, 400, "password",
                 id="password-129"),
    pytest.param("POST", "/api/v1/me/password", {"current_password": PASSWORD}, 400, "new_password",
                 id="password-missing-new"),
    pytest.param("POST", "/api/v1/me/email", {"email": "not an address", "password": PASSWORD}, 400,
                 "email", id="email-malformed"),
    pytest.param("POST", "/api/v1/me/email", {"email": "a@example.org"}, 400, "password",
                 id="email-missing-password"),
    pytest.param("POST", "/api/v1/me/delete", {"password": 1}, 400, "password", id="delete-password-number"),
]


@pytest.mark.parametrize("method,path,body,status,field", SESSION_CASES)
def test_session_endpoint_bad_input(smtp_server, barrier, member, method, path, body, status, field):
    srv = smtp_server
    before = snapshot(srv, barrier.address)
    assert_json_error(member.api(method, path, body), status, field)
    barrier.wait()
    assert snapshot(srv, barrier.address) == before
    assert member.me().status == 200


def test_session_endpoints_wrong_content_type_is_415(smtp_server, barrier, member):
    """A text/plain body (JSON inside) must not be acted on."""
    srv = smtp_server
    before = snapshot(srv, barrier.address)
    statuses = {}
    for method, path, body in (("PATCH", "/api/v1/me", {"display_name": "Plain Text"}),
                               ("POST", "/api/v1/me/email", {"email": unique_email("plain"),
                                                             "password": PASSWORD}),
                               ("POST", "/api/v1/me/password", {"current_password": PASSWORD,
                                                                "new_password": PASSWORD2}),
                               ("POST", "/api/v1/me/delete", {"password": PASSWORD})):
        r = member.api(method, path, body, headers={"Content-Type": "text/plain"})
        statuses[path] = r.status
    barrier.wait()
    assert statuses == {p: 415 for p in statuses}
    assert snapshot(srv, barrier.address) == before


def test_register_form_bad_input_shows_localised_errors(smtp_server, barrier):
    srv = smtp_server
    b = Browser(srv)
    b.get("/account/register?ed=de")
    before = snapshot(srv, barrier.address)
    for fields, key in (({"display_name": "x" * 61}, "error_name_invalid"),
                        ({"email": "kein-at-zeichen"}, "error_email_invalid"),
                        ({"password": "kurz"}, "error_password_invalid")):
        form = {"email": unique_email("formbad"), "display_name": "Formular", "password": PASSWORD,
                "ed": "de", **fields}
        r = b.form_post("/account/register", form)
        assert r.status == 400, r
        assert catalog("de")[key] in html.unescape(r.text)
        assert '<html lang="de">' in r.text
    barrier.wait()
    assert snapshot(srv, barrier.address) == before


# --------------------------------------------------------------------------
# SMTP server down
# --------------------------------------------------------------------------


def queue_rows(srv, address: str) -> list[dict]:
    """The stored outbox rows of mails to `address`, oldest first."""
    return stored.rows(srv, "mail_queue", mail_to=address)


def test_smtp_down_mail_waits_then_is_delivered(make_server):
    port = free_port()
    srv = make_server({"DEPESCHE_MAIL_SMTP_URL": f"smtp://127.0.0.1:{port}?starttls=off",
                       "DEPESCHE_ACCOUNTS_REGISTER_PER_HOUR": "1000", **RETRY_ENV}, demo=False)
    addresses = [unique_email("down"), unique_email("down")]
    b = Browser(srv)
    for a in addresses:
        r = register(b, a)
        assert r.status == 202, r
        assert r.json() == {"status": "accepted"}

    def failed_once():
        rows = [queue_rows(srv, a) for a in addresses]
        return all(len(rs) == 1 and rs[0]["attempts"] >= 1 for rs in rows) and rows

    rows = wait_until(failed_once, DELIVERY_TIMEOUT_S, "a failed first attempt for each mail",
                      interval=0.2)
    for (row,) in rows:
        assert row["state"] == "pending", dict(row)
        assert row["last_error"], dict(row)
        assert row["kind"] == "confirm"
        assert row["sent_at"] is None
    assert all(account_row(srv, a) is not None for a in addresses)

    sink = SmtpSink(port).start()
    try:
        mails = [sink.wait_for(a, timeout=DELIVERY_TIMEOUT_S) for a in addresses]
        for a in addresses:
            wait_until(lambda: queue_rows(srv, a)[0]["state"] == "sent", 10, "state sent", interval=0.2)
            (row,) = queue_rows(srv, a)
            assert row["attempts"] >= 2 and row["sent_at"] is not None, dict(row)
        # Nothing lost, nothing twice, and the link still works.
        assert [len(sink.for_address(a)) for a in addresses] == [1, 1]
        r = b.api("POST", "/api/v1/auth/confirm", {"token": mails[0].token("/account/confirm")},
                  csrf=False)
        assert r.status == 200, r
        assert r.json()["account"]["confirmed"] is True
    finally:
        sink.stop()


@pytest.fixture(scope="module")
def failing(bin_path, tmp_path_factory):
    """A server whose SMTP server never answers, with two attempts per mail;
    one registration, and the log times of its attempts."""
    port = free_port()
    srv = start_account_server(tmp_path_factory.mktemp("failing"), {
        "DEPESCHE_MAIL_SMTP_URL": f"smtp://127.0.0.1:{port}?starttls=off",
        "DEPESCHE_MAIL_MAX_ATTEMPTS": "2", **RETRY_ENV}, demo=False)
    address = unique_email("lost")
    assert register(Browser(srv), address).status == 202
    wait_until(lambda: [r for r in queue_rows(srv, address) if r["state"] == "failed"],
               DELIVERY_TIMEOUT_S, "the mail to be failed", interval=0.2)
    yield srv, address
    srv.assert_clean_exit()


def test_mail_failed_after_max_attempts_is_listed(failing):
    srv, address = failing
    (row,) = queue_rows(srv, address)
    assert (row["state"], row["attempts"]) == ("failed", 2)
    assert row["last_error"]
    # The account exists; only the mail could not be delivered.
    assert account_row(srv, address) is not None

    proc = run_cli(["mail", "list", "--state", "failed"], srv.data_dir)
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stdout.splitlines() if address in l]
    assert len(lines) == 1, proc.stdout
    assert "attempts=2" in lines[0]
    # It lists mails, never their bodies (which hold the link).
    token = row["body_text"].split("token=")[1].split("&")[0]
    assert token not in proc.stdout
    proc = run_cli(["mail", "list", "--state", "pending"], srv.data_dir)
    assert proc.returncode == 0 and address not in proc.stdout


def test_mail_retry_honours_configured_backoff(failing):
    srv, address = failing
    attempts = [r for r in srv.log_records()
                if r.get("msg") in ("mail not sent; will retry", "mail failed for good; kept in the outbox")]
    assert len(attempts) == 2, attempts
    assert attempts[0]["retry_in_ms"] <= 400

    def ms(rec):
        return time.mktime(time.strptime(rec["ts"][:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(rec["ts"][20:23])

    gap = ms(attempts[1]) - ms(attempts[0])
    assert gap <= 400 + 1500, f"second attempt {gap:.0f} ms after the first (retry_first_ms=200)"
