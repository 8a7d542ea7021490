"""Account security, black box: no account enumeration (answers and time),
single-use and expiring links, rate limits (per account, per client
address), CSRF (Origin/Referer check plus double-submit token) on forms and
on the API, sessions ending, secrets at rest, escaping of display names,
security headers, roles, and redirects after login.

Tests that need their own client address connect from 127.0.0.x (any
loopback address reaches the server on 127.0.0.1), so limits per client
address and per account can be told apart."""

from __future__ import annotations

import html
import re
import secrets
import statistics
import time
import urllib.parse

import pytest

import stored
from stored import sqlite_files_only
from account_helpers import (PASSWORD, PASSWORD2, PASSWORD3, Browser, MaildirBox, account_row,
                             create_user, make_barrier, register, register_confirmed, smtp_server,
                             smtp_sink, snapshot, start_account_server, unique_email, wait_account)
from conftest import catalog, create_token

_ = (smtp_server, smtp_sink)  # fixtures used by name

EVIL = "http://evil.example"


def path_of(link: str) -> str:
    u = urllib.parse.urlsplit(link)
    return u.path + "?" + u.query


def comparable(r) -> tuple:
    """Status, body and headers of an answer, without what differs per request."""
    headers = sorted((k.lower(), v) for k, v in r.header_list
                     if k.lower() not in ("date", "x-request-id"))
    return r.status, r.body, headers


@pytest.fixture(scope="module")
def barrier(smtp_server, smtp_sink):
    return make_barrier(smtp_server, smtp_sink)


@pytest.fixture
def victim(smtp_server, smtp_sink):
    """A confirmed, logged-in reader with a CSRF cookie, as a browser."""
    address = unique_email("victim")
    b = register_confirmed(smtp_server, smtp_sink, address, name="Victim Reader")
    b.address = address
    return b


@pytest.fixture(scope="module")
def limits_server(bin_path, tmp_path_factory):
    """Low limits: 3 logins a minute per account and per client address,
    3 registrations an hour per client, 2 reset requests and 2 resends an hour."""
    srv = start_account_server(tmp_path_factory.mktemp("limits"), {
        "DEPESCHE_ACCOUNTS_LOGIN_PER_MINUTE": "3",
        "DEPESCHE_ACCOUNTS_REGISTER_PER_HOUR": "3",
        "DEPESCHE_ACCOUNTS_RESET_PER_HOUR": "2",
        "DEPESCHE_ACCOUNTS_RESEND_PER_HOUR": "2",
        "DEPESCHE_ACCOUNTS_MAILS_PER_ADDRESS_PER_HOUR": "1000",
    }, demo=False, high_limits=False)
    yield srv
    srv.assert_clean_exit()


# --------------------------------------------------------------------------
# Enumeration parity
# --------------------------------------------------------------------------


def median_time(fn, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def assert_similar_time(t_known: float, t_unknown: float, what: str) -> None:
    # Loose on purpose: a factor of 3 plus 50 ms catches work done only for
    # one kind of address (an argon2 hash, a mail) without being flaky.
    slow, fast = max(t_known, t_unknown), min(t_known, t_unknown)
    assert slow <= 3 * fast + 0.05, f"{what}: known {t_known * 1000:.1f} ms, unknown {t_unknown * 1000:.1f} ms"


def test_enumeration_register(smtp_server, smtp_sink):
    srv = smtp_server
    known = unique_email("enumreg")
    register_confirmed(srv, smtp_sink, known)
    b = Browser(srv)
    body = {"password": PASSWORD, "display_name": "Someone", "edition": "en"}
    r_known = b.api("POST", "/api/v1/auth/register", {**body, "email": known}, csrf=False)
    r_unknown = b.api("POST", "/api/v1/auth/register", {**body, "email": unique_email("enumnew")},
                      csrf=False)
    assert r_known.status == 202
    assert comparable(r_known) == comparable(r_unknown)
    t_known = median_time(lambda: b.api("POST", "/api/v1/auth/register", {**body, "email": known},
                                        csrf=False), 7)
    t_unknown = median_time(lambda: b.api("POST", "/api/v1/auth/register",
                                          {**body, "email": unique_email("enumnew")}, csrf=False), 7)
    assert_similar_time(t_known, t_unknown, "register")
    # The form says the same too (but for the address it repeats).
    b.get("/account/register?ed=en")
    pages = []
    for address in (known, unique_email("enumform")):
        r = b.form_post("/account/register", {**body, "email": address, "ed": "en"})
        pages.append((r.status, r.text.replace(address, "ADDRESS")))
    assert pages[0] == pages[1]


def test_enumeration_reset_request(smtp_server, smtp_sink):
    srv = smtp_server
    known = unique_email("enumreset")
    register_confirmed(srv, smtp_sink, known)
    b = Browser(srv)

    def ask(address):
        return b.api("POST", "/api/v1/auth/reset-request", {"email": address}, csrf=False)

    r_known, r_unknown = ask(known), ask(unique_email("enumnobody"))
    assert r_known.status == 202
    assert comparable(r_known) == comparable(r_unknown)
    unknown = unique_email("enumnobody")
    assert_similar_time(median_time(lambda: ask(known), 7), median_time(lambda: ask(unknown), 7),
                        "reset-request")
    b.get("/account/reset-request?ed=de")
    pages = []
    for address in (known, unknown):
        r = b.form_post("/account/reset-request", {"email": address, "ed": "de"})
        pages.append((r.status, r.text.replace(address, "ADDRESS")))
    assert pages[0] == pages[1]


def test_enumeration_resend(smtp_server, smtp_sink):
    srv = smtp_server
    confirmed = unique_email("enumconf")
    register_confirmed(srv, smtp_sink, confirmed)
    unconfirmed = unique_email("enumunconf")
    assert register(Browser(srv), unconfirmed).status == 202
    wait_account(srv, unconfirmed)
    b = Browser(srv)

    def ask(address):
        return b.api("POST", "/api/v1/auth/resend", {"email": address}, csrf=False)

    answers = [ask(a) for a in (confirmed, unconfirmed, unique_email("enumnone"))]
    assert answers[0].status == 202
    assert comparable(answers[0]) == comparable(answers[1]) == comparable(answers[2])
    unknown = unique_email("enumnone")
    assert_similar_time(median_time(lambda: ask(unconfirmed), 5), median_time(lambda: ask(unknown), 5),
                        "resend")
    b.get("/account/resend?ed=ru")
    pages = []
    for address in (confirmed, unconfirmed, unknown):
        r = b.form_post("/account/resend", {"email": address, "ed": "ru"})
        pages.append((r.status, r.text.replace(address, "ADDRESS")))
    assert pages[0] == pages[1] == pages[2]


def test_enumeration_login(smtp_server, smtp_sink):
    srv = smtp_server
    known = unique_email("enumlogin")
    register_confirmed(srv, smtp_sink, known)
    unknown = unique_email("enumghost")
    b = Browser(srv)

    def attempt(address):
        return b.api("POST", "/api/v1/auth/login", {"email": address, "password": PASSWORD2},
                     csrf=False)

    r_known, r_unknown = attempt(known), attempt(unknown)
    assert r_known.status == 401
    assert comparable(r_known) == comparable(r_unknown)
    t_known = median_time(lambda: attempt(known), 7)
    t_unknown = median_time(lambda: attempt(unknown), 7)
    assert_similar_time(t_known, t_unknown, "login")
    b.get("/account/login?ed=en")
    pages = []
    for address in (known, unknown):
        r = b.form_post("/account/login", {"email": address, "password": PASSWORD2, "ed": "en"})
        pages.append((r.status, r.text.replace(address, "ADDRESS")))
    assert pages[0][0] == 401
    assert pages[0] == pages[1]
    assert catalog("en")["error_credentials"] in html.unescape(pages[0][1])


def test_enumeration_change_email(smtp_server, smtp_sink):
    """Asking for an address that has an account answers like any other; its
    owner (not the asker) is told."""
    srv = smtp_server
    taken = unique_email("taken")
    register_confirmed(srv, smtp_sink, taken)
    asker = register_confirmed(srv, smtp_sink, unique_email("asker"))
    fresh = unique_email("fresh")
    r_taken = asker.api("POST", "/api/v1/me/email", {"email": taken, "password": PASSWORD})
    r_fresh = asker.api("POST", "/api/v1/me/email", {"email": fresh, "password": PASSWORD})
    assert r_taken.status == 202
    assert comparable(r_taken) == comparable(r_fresh)
    smtp_sink.wait_for(fresh)
    notice = smtp_sink.wait_for(taken, subject_contains=catalog("en")["mail_already_registered_subject"]
                                .replace("{site}", "Depesche"))
    assert "token=" not in notice.text


# --------------------------------------------------------------------------
# Mailed links: single use, expiring
# --------------------------------------------------------------------------


def test_confirm_token_reuse_rejected(smtp_server, smtp_sink):
    srv = smtp_server
    address = unique_email("reuse")
    b = Browser(srv)
    assert register(b, address, edition="de").status == 202
    m = smtp_sink.wait_for(address)
    token = m.token("/account/confirm")
    r = b.api("POST", "/api/v1/auth/confirm", {"token": token}, csrf=False)
    assert r.status == 200, r
    r = b.api("POST", "/api/v1/auth/confirm", {"token": token}, csrf=False)
    assert r.status == 400, r
    assert r.json()["error"]["field"] == "token"
    # The page, opened again (as a mail scanner may have opened it first),
    # says the address is confirmed; it changes nothing.
    before = account_row(srv, address)
    r = b.get(path_of(m.link("/account/confirm")))
    assert r.status == 200, r
    assert catalog("de")["confirm_already_message"] in html.unescape(r.text)
    assert account_row(srv, address) == before
    # An unknown token is still refused.
    r = b.get("/account/confirm?ed=de&token=" + "A" * 43)
    assert r.status == 400
    assert catalog("de")["link_failed_message"] in html.unescape(r.text)


def test_reset_token_reuse_rejected(smtp_server, smtp_sink):
    srv = smtp_server
    address = unique_email("reuserst")
    register_confirmed(srv, smtp_sink, address)
    b = Browser(srv)
    assert b.api("POST", "/api/v1/auth/reset-request", {"email": address}, csrf=False).status == 202
    m = smtp_sink.wait_for(address, subject_contains=catalog("en")["mail_reset_subject"])
    token = m.token("/account/reset")
    assert b.api("POST", "/api/v1/auth/reset", {"token": token, "password": PASSWORD2},
                 csrf=False).status == 200
    r = b.api("POST", "/api/v1/auth/reset", {"token": token, "password": PASSWORD3}, csrf=False)
    assert r.status == 400, r
    assert r.json()["error"]["field"] == "token"
    assert Browser(srv).login(address, PASSWORD3).status == 401
    assert Browser(srv).login(address, PASSWORD2).status == 200
    # The form says so in the edition's language.
    b.get("/account/reset-request?ed=ru")
    r = b.form_post("/account/reset", {"token": token, "password": PASSWORD3, "ed": "ru"})
    assert r.status == 400
    assert catalog("ru")["link_failed_message"] in html.unescape(r.text)


def test_email_change_token_reuse_rejected(smtp_server, smtp_sink, victim):
    srv = smtp_server
    new_address = unique_email("reusemail")
    assert victim.api("POST", "/api/v1/me/email", {"email": new_address, "password": PASSWORD}).status == 202
    m = smtp_sink.wait_for(new_address)
    token = m.token("/account/confirm-email")
    anon = Browser(srv)
    assert anon.api("POST", "/api/v1/auth/confirm-email", {"token": token}, csrf=False).status == 200
    r = anon.api("POST", "/api/v1/auth/confirm-email", {"token": token}, csrf=False)
    assert r.status == 400, r
    assert anon.get(path_of(m.link("/account/confirm-email"))).status == 400


@pytest.mark.parametrize("how", ["reset", "change"])
def test_earlier_reset_links_invalid_after_new_password(smtp_server, smtp_sink, how):
    """A reset link mailed before a new password was set (by another link or
    in the settings) no longer works."""
    srv = smtp_server
    address = unique_email(f"stale{how}")
    b = register_confirmed(srv, smtp_sink, address)
    subject = catalog("en")["mail_reset_subject"]
    for n in (1, 2):
        assert b.api("POST", "/api/v1/auth/reset-request", {"email": address}, csrf=False).status == 202
        smtp_sink.wait_for(address, subject_contains=subject, count=n)
    first, other = [m.token("/account/reset") for m in smtp_sink.for_address(address)
                    if subject in m.subject]
    if how == "reset":
        r = b.api("POST", "/api/v1/auth/reset", {"token": first, "password": PASSWORD2}, csrf=False)
    else:
        r = b.api("POST", "/api/v1/me/password", {"current_password": PASSWORD,
                                                   "new_password": PASSWORD2})
    assert r.status == 200, r
    r = Browser(srv).api("POST", "/api/v1/auth/reset", {"token": other, "password": PASSWORD3},
                         csrf=False)
    assert r.status == 400, f"a reset link mailed before the new password still set one: {r}"
    assert Browser(srv).login(address, PASSWORD2).status == 200


def test_unconfirmed_registration_cannot_pre_hijack_an_address(smtp_server, smtp_sink):
    """Someone registers another person's address first and logs in (allowed
    while unconfirmed). When the owner registers and confirms with the link
    of their own registration, the squatter's password and session are gone."""
    srv = smtp_server
    address = unique_email("owner")
    squatter = Browser(srv)
    assert register(squatter, address, password=PASSWORD2, name="Squatter").status == 202
    smtp_sink.wait_for(address)
    assert squatter.login(address, PASSWORD2).status == 200

    owner = Browser(srv)
    assert register(owner, address, password=PASSWORD, name="Owner").status == 202
    own_link = smtp_sink.wait_for(address, count=2)
    r = owner.api("POST", "/api/v1/auth/confirm", {"token": own_link.token("/account/confirm")},
                  csrf=False)
    assert r.status == 200, r
    assert squatter.me().status == 401
    assert Browser(srv).login(address, PASSWORD2).status == 401
    r = owner.login(address, PASSWORD)
    assert r.status == 200, r
    assert r.json()["account"]["confirmed"] is True


def test_resent_link_confirms_the_owner_not_the_squatter(smtp_server, smtp_sink):
    """As above, but the owner follows a link from "resend confirmation"
    (which anyone may trigger): the resent link carries the owner's
    registration, its password, name and edition, and replaces the pending one."""
    srv = smtp_server
    address = unique_email("resendowner")
    squatter = Browser(srv)
    assert register(squatter, address, password=PASSWORD2, name="Squatter", edition="ru").status == 202
    smtp_sink.wait_for(address)
    owner = Browser(srv)
    assert register(owner, address, password=PASSWORD, name="Owner", edition="en").status == 202
    own_link = smtp_sink.wait_for(address, count=2)
    r = Browser(srv).api("POST", "/api/v1/auth/resend", {"email": address}, csrf=False)
    assert r.status == 202, r
    resent = smtp_sink.wait_for(address, count=3)
    # Only the newest link works.
    r = owner.api("POST", "/api/v1/auth/confirm", {"token": own_link.token("/account/confirm")}, csrf=False)
    assert r.status == 400, r
    r = owner.api("POST", "/api/v1/auth/confirm", {"token": resent.token("/account/confirm")}, csrf=False)
    assert r.status == 200, r
    assert Browser(srv).login(address, PASSWORD2).status == 401, "the squatter's password works"
    r = owner.login(address, PASSWORD)
    assert r.status == 200, r
    me = r.json()["account"]
    assert me["confirmed"] is True and me["display_name"] == "Owner" and me["edition"] == "en", me


HOUR_S = 3600.0


@pytest.fixture(scope="module")
def clock_server(bin_path, tmp_path_factory, smtp_sink):
    """A server on the test clock (testing.clock_file), so links expire by
    moving its time forward; its own, since that time is every test's.
    Confirmation links last 48 h, reset links 2 h (the defaults)."""
    srv = start_account_server(tmp_path_factory.mktemp("clock"),
                               {"DEPESCHE_MAIL_SMTP_URL": smtp_sink.url}, test_clock=True)
    yield srv
    srv.assert_clean_exit()


def test_expired_confirm_token_rejected(clock_server, smtp_sink):
    srv = clock_server
    in_time, late = unique_email("intime"), unique_email("expired")
    b = Browser(srv)
    for address in (in_time, late):
        assert register(b, address, edition="en").status == 202
    m_in_time, m = smtp_sink.wait_for(in_time), smtp_sink.wait_for(late)
    # Just inside the 48 hours, a link works ...
    srv.advance_clock(47 * HOUR_S)
    r = b.api("POST", "/api/v1/auth/confirm", {"token": m_in_time.token("/account/confirm")},
              csrf=False)
    assert r.status == 200, r
    # ... past them it does not, by API or page, and the account stays unconfirmed.
    srv.advance_clock(2 * HOUR_S)
    r = b.api("POST", "/api/v1/auth/confirm", {"token": m.token("/account/confirm")}, csrf=False)
    assert r.status == 400, r
    r = b.get(path_of(m.link("/account/confirm")))
    assert r.status == 400
    assert catalog("en")["link_failed_message"] in html.unescape(r.text)
    r = Browser(srv).login(late, PASSWORD)
    assert r.status == 200 and r.json()["account"]["confirmed"] is False, r
    assert account_row(srv, late)["confirmed_at"] is None
    assert account_row(srv, in_time)["confirmed_at"] is not None


def test_expired_reset_token_rejected(clock_server, smtp_sink):
    srv = clock_server
    in_time, late = unique_email("resetintime"), unique_email("expreset")
    for address in (in_time, late):
        register_confirmed(srv, smtp_sink, address)
        assert Browser(srv).api("POST", "/api/v1/auth/reset-request", {"email": address},
                                csrf=False).status == 202
    subject = catalog("en")["mail_reset_subject"]
    m_in_time = smtp_sink.wait_for(in_time, subject_contains=subject)
    m = smtp_sink.wait_for(late, subject_contains=subject)
    srv.advance_clock(1.75 * HOUR_S)  # inside the 2 hours
    r = Browser(srv).api("POST", "/api/v1/auth/reset", {"token": m_in_time.token("/account/reset"),
                                                        "password": PASSWORD2}, csrf=False)
    assert r.status == 200, r
    assert Browser(srv).login(in_time, PASSWORD2).status == 200
    srv.advance_clock(0.5 * HOUR_S)  # past them
    r = Browser(srv).api("POST", "/api/v1/auth/reset", {"token": m.token("/account/reset"),
                                                        "password": PASSWORD2}, csrf=False)
    assert r.status == 400, r
    assert Browser(srv).login(late, PASSWORD).status == 200
    assert Browser(srv).login(late, PASSWORD2).status == 401


# --------------------------------------------------------------------------
# Rate limits (limits_server: 3 logins/min, 3 registrations/h, 2 resets/h)
# --------------------------------------------------------------------------


def assert_429(r) -> None:
    assert r.status == 429, r
    retry = r.header("retry-after")
    assert retry is not None and retry.isdigit() and int(retry) >= 1, r.header_list


def test_login_throttled_per_account(limits_server):
    srv = limits_server
    address = unique_email("throttle")
    create_user(srv, address, PASSWORD)
    # Each attempt from another client address: only the account's budget counts.
    for i in range(3):
        r = Browser(srv, f"127.0.0.{11 + i}").login(address, PASSWORD2)
        assert r.status == 401, r
    r = Browser(srv, "127.0.0.14").login(address, PASSWORD2)
    assert_429(r)
    assert r.json()["error"]["code"] == "rate_limited"
    # Even the right password waits now; another account does not.
    assert_429(Browser(srv, "127.0.0.15").login(address, PASSWORD))
    other = unique_email("throttleother")
    create_user(srv, other, PASSWORD)
    assert Browser(srv, "127.0.0.16").login(other, PASSWORD).status == 200


def test_login_throttled_per_client_address(limits_server):
    srv = limits_server
    b = Browser(srv, "127.0.0.21")
    for _ in range(3):
        assert b.login(unique_email("ipthrottle"), PASSWORD2).status == 401
    assert_429(b.login(unique_email("ipthrottle"), PASSWORD2))
    # The form says so in the edition's language, with Retry-After.
    assert b.get("/account/login?ed=de").status == 200
    r = b.form_post("/account/login", {"email": unique_email("ipthrottle"), "password": PASSWORD2,
                                       "ed": "de"})
    assert_429(r)
    assert catalog("de")["error_rate_limited"] in html.unescape(r.text)
    # Other clients are not affected.
    address = unique_email("ipok")
    create_user(srv, address, PASSWORD)
    assert Browser(srv, "127.0.0.22").login(address, PASSWORD).status == 200


def test_client_address_comes_from_a_trusted_proxy_only(bin_path, tmp_path_factory):
    """Behind a listed proxy, each client named in X-Forwarded-For has its own
    login budget; a client that is not a listed proxy cannot escape its
    budget by naming another address."""
    srv = start_account_server(tmp_path_factory.mktemp("proxy"), {
        "DEPESCHE_ACCOUNTS_LOGIN_PER_MINUTE": "3",
        "DEPESCHE_SERVER_TRUSTED_PROXIES": "127.0.0.40/31",
    }, demo=False, high_limits=False)
    try:
        via_proxy = Browser(srv, "127.0.0.41")
        via_proxy.extra_headers = {"X-Forwarded-For": "198.51.100.66, 203.0.113.1"}
        for _ in range(3):
            assert via_proxy.login(unique_email("proxied"), PASSWORD2).status == 401
        assert_429(via_proxy.login(unique_email("proxied"), PASSWORD2))
        # Another client behind the same proxy is not affected, nor is the
        # one whose address the first client wrote at the left end.
        address = unique_email("proxyok")
        create_user(srv, address, PASSWORD)
        for client in ("203.0.113.2", "198.51.100.66"):
            other = Browser(srv, "127.0.0.41")
            other.extra_headers = {"X-Forwarded-For": client}
            assert other.login(address, PASSWORD).status == 200, client

        # A stranger naming a fresh address each time is still one client.
        stranger = Browser(srv, "127.0.0.43")
        for i in range(3):
            stranger.extra_headers = {"X-Forwarded-For": f"192.0.2.{i}"}
            assert stranger.login(unique_email("spoof"), PASSWORD2).status == 401
        stranger.extra_headers = {"X-Forwarded-For": "192.0.2.99"}
        assert_429(stranger.login(unique_email("spoof"), PASSWORD2))
    finally:
        srv.assert_clean_exit()


def test_registration_rate_limited(limits_server):
    srv = limits_server
    b = Browser(srv, "127.0.0.31")
    for _ in range(3):
        assert register(b, unique_email("reglimit")).status == 202
    blocked = unique_email("reglimit")
    r = register(b, blocked)
    assert_429(r)
    assert r.json()["error"]["code"] == "rate_limited"
    b.get("/account/register?ed=en")
    r = b.form_post("/account/register", {"email": unique_email("reglimit"), "password": PASSWORD,
                                          "display_name": "X Y", "ed": "en"})
    assert r.status == 429, r
    assert catalog("en")["error_rate_limited"] in html.unescape(r.text)
    assert register(Browser(srv, "127.0.0.32"), unique_email("regok")).status == 202
    assert account_row(srv, blocked) is None


def test_reset_request_rate_limited(limits_server):
    srv = limits_server
    address = unique_email("resetlimit")
    create_user(srv, address, PASSWORD)

    def ask(ip, a):
        return Browser(srv, ip).api("POST", "/api/v1/auth/reset-request", {"email": a}, csrf=False)

    # Per address asked for (known or not), from different clients ...
    assert ask("127.0.0.41", address).status == 202
    assert ask("127.0.0.42", address).status == 202
    assert_429(ask("127.0.0.43", address))
    # ... and per client address.
    assert ask("127.0.0.44", unique_email("resetip")).status == 202
    assert ask("127.0.0.44", unique_email("resetip")).status == 202
    assert_429(ask("127.0.0.44", unique_email("resetip")))
    # Only two links were mailed to the address.
    box = MaildirBox(srv.data_dir)
    box.wait_for(address, count=2)
    account_id = account_row(srv, address)["id"]
    assert stored.count(srv, "account_tokens", account_id=account_id, purpose="reset") == 2


def test_resend_rate_limited_per_address(limits_server):
    srv = limits_server
    address = unique_email("resendlimit")
    for i, expected in enumerate((202, 202, 429)):
        r = Browser(srv, f"127.0.0.{51 + i}").api("POST", "/api/v1/auth/resend", {"email": address},
                                                   csrf=False)
        assert r.status == expected, r
    assert_429(r)


# --------------------------------------------------------------------------
# CSRF: Origin/Referer check and double-submit token
# --------------------------------------------------------------------------

# How a foreign page's POST looks: its Origin; only a Referer; Origin "null"
# (sandboxed frames). The CSRF cookie and field are right in every case, as
# if the attacker knew them, so only the origin check stands in the way.
CROSS_SITE = [
    ("origin", {"Origin": EVIL}),
    ("referer", {"Referer": EVIL + "/page"}),
    ("null-origin", {"Origin": "null"}),
]

FORM_ENDPOINTS = {
    "register": lambda b: ("/account/register", {"email": unique_email("csrfreg"),
                                                 "password": PASSWORD, "display_name": "Mallory",
                                                 "ed": "en"}),
    "login": lambda b: ("/account/login", {"email": b.address, "password": PASSWORD, "ed": "en"}),
    "logout": lambda b: ("/account/logout", {"ed": "en"}),
    "resend": lambda b: ("/account/resend", {"email": b.address, "ed": "en"}),
    "reset-request": lambda b: ("/account/reset-request", {"email": b.address, "ed": "en"}),
    "settings-profile": lambda b: ("/account/settings/profile", {"display_name": "Pwned",
                                                                 "edition": "ru", "ed": "en"}),
    "settings-password": lambda b: ("/account/settings/password", {
        "current_password": PASSWORD, "new_password": PASSWORD2, "ed": "en"}),
    "settings-email": lambda b: ("/account/settings/email", {"email": unique_email("csrfmail"),
                                                             "password": PASSWORD, "ed": "en"}),
    "settings-delete": lambda b: ("/account/settings/delete", {"password": PASSWORD, "ed": "en"}),
}


def assert_csrf_refused_page(r) -> None:
    assert r.status == 403, r
    assert catalog("en")["error_csrf_message"] in html.unescape(r.text)


def check_unchanged(srv, barrier, before: dict, victim) -> None:
    barrier.wait()
    assert snapshot(srv, barrier.address) == before
    assert victim.me().status == 200


@pytest.mark.parametrize("endpoint", list(FORM_ENDPOINTS))
def test_cross_origin_form_post_refused(smtp_server, barrier, victim, endpoint):
    srv = smtp_server
    victim.get("/account/settings")
    before = snapshot(srv, barrier.address)
    for variant, headers in CROSS_SITE:
        path, fields = FORM_ENDPOINTS[endpoint](victim)
        r = victim.form_post(path, fields, origin=None, headers=headers)
        assert r.status == 403, (variant, r)
        assert_csrf_refused_page(r)
    check_unchanged(srv, barrier, before, victim)


@pytest.mark.parametrize("endpoint", list(FORM_ENDPOINTS))
def test_form_post_without_csrf_token_refused(smtp_server, barrier, victim, endpoint):
    srv = smtp_server
    victim.get("/account/settings")
    before = snapshot(srv, barrier.address)
    path, fields = FORM_ENDPOINTS[endpoint](victim)
    # No field; a wrong field; the right field but no cookie.
    assert_csrf_refused_page(victim.form_post(path, fields, csrf=None))
    assert_csrf_refused_page(victim.form_post(path, fields, csrf="A" * 43))
    no_cookie = {k: v for k, v in victim.cookies.items() if k != "depesche_csrf"}
    r = victim.form_post(path, {**fields, "csrf": victim.cookies["depesche_csrf"]}, csrf=None,
                         headers={"Cookie": "; ".join(f"{k}={v}" for k, v in no_cookie.items())})
    assert_csrf_refused_page(r)
    check_unchanged(srv, barrier, before, victim)


def api_endpoints(victim, admin_target_id: int):
    return {
        "register": ("POST", "/api/v1/auth/register", {
            "email": unique_email("csrfapireg"), "password": PASSWORD, "display_name": "Mallory",
            "edition": "en"}),
        "login": ("POST", "/api/v1/auth/login", {"email": victim.address, "password": PASSWORD}),
        "logout": ("POST", "/api/v1/auth/logout", None),
        "resend": ("POST", "/api/v1/auth/resend", {"email": victim.address}),
        "reset-request": ("POST", "/api/v1/auth/reset-request", {"email": victim.address}),
        "patch-me": ("PATCH", "/api/v1/me", {"display_name": "Pwned"}),
        "me-password": ("POST", "/api/v1/me/password", {"current_password": PASSWORD,
                                                        "new_password": PASSWORD2}),
        "me-email": ("POST", "/api/v1/me/email", {"email": unique_email("csrfapimail"),
                                                  "password": PASSWORD}),
        "me-delete": ("POST", "/api/v1/me/delete", {"password": PASSWORD}),
        "user-role": ("POST", f"/api/v1/users/{admin_target_id}/role", {"role": "admin"}),
    }


API_NAMES = ["register", "login", "logout", "resend", "reset-request", "patch-me", "me-password",
             "me-email", "me-delete", "user-role"]
# The endpoints a session acts on need the X-CSRF-Token header as well.
SESSION_API_NAMES = ["logout", "patch-me", "me-password", "me-email", "me-delete", "user-role"]


@pytest.mark.parametrize("endpoint", API_NAMES)
def test_cross_origin_api_post_refused(smtp_server, barrier, victim, endpoint):
    srv = smtp_server
    method, path, body = api_endpoints(victim, victim.me().json()["id"])[endpoint]
    before = snapshot(srv, barrier.address)
    for variant, headers in CROSS_SITE:
        r = victim.api(method, path, body if body is not None else {}, origin=None, headers=headers)
        assert r.status == 403, (variant, r)
        assert r.json()["error"]["code"] == "forbidden"
    check_unchanged(srv, barrier, before, victim)


@pytest.mark.parametrize("endpoint", SESSION_API_NAMES)
def test_api_change_without_csrf_header_refused(smtp_server, barrier, victim, endpoint):
    srv = smtp_server
    method, path, body = api_endpoints(victim, victim.me().json()["id"])[endpoint]
    before = snapshot(srv, barrier.address)
    r = victim.api(method, path, body if body is not None else {}, csrf=False)
    assert r.status == 403, r
    assert r.json()["error"]["code"] == "forbidden"
    r = victim.api(method, path, body if body is not None else {}, csrf=False,
                   headers={"X-CSRF-Token": "A" * 43})
    assert r.status == 403, r
    check_unchanged(srv, barrier, before, victim)


# --------------------------------------------------------------------------
# Sessions end
# --------------------------------------------------------------------------


def test_session_invalid_after_logout(smtp_server, victim):
    srv = smtp_server
    secret = victim.session
    account_id = victim.me().json()["id"]
    r = victim.api("POST", "/api/v1/auth/logout")
    assert r.status == 204, r
    assert victim.session is None  # the cookie was cleared
    replay = Browser(srv)
    replay.cookies["depesche_session"] = secret
    assert replay.me().status == 401
    assert replay.get("/api/v1/me/export").status == 401
    r = replay.get("/account/settings")
    assert r.status == 303 and r.header("location").startswith("/account/login")
    assert stored.count(srv, "sessions", account_id=account_id) == 0


def test_session_invalid_after_password_change(smtp_server, victim):
    srv = smtp_server
    other = Browser(srv)
    assert other.login(victim.address, PASSWORD).status == 200
    old_secret = victim.session
    victim.get("/account/settings")
    r = victim.form_post("/account/settings/password", {"current_password": PASSWORD,
                                                        "new_password": PASSWORD2, "ed": "en"})
    assert r.status == 303, r
    assert r.header("location") == "/account/settings?ed=en&done=password"
    assert victim.session != old_secret and victim.me().status == 200
    assert other.me().status == 401
    replay = Browser(srv)
    replay.cookies["depesche_session"] = old_secret
    assert replay.me().status == 401


# --------------------------------------------------------------------------
# Secrets at rest
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def account_secrets(smtp_server, smtp_sink) -> dict:
    """An account that registered, reset its password and logged in twice:
    every secret it was given or chose, by name."""
    srv = smtp_server
    address = unique_email("atrest")
    first_password = "Atrest-" + secrets.token_urlsafe(12)
    second_password = "Atrest-" + secrets.token_urlsafe(12)
    b = register_confirmed(srv, smtp_sink, address, password=first_password)
    session_1 = b.session
    csrf = b.cookies["depesche_csrf"]
    b.api("POST", "/api/v1/auth/reset-request", {"email": address}, csrf=False)
    m = smtp_sink.wait_for(address, subject_contains=catalog("en")["mail_reset_subject"])
    assert b.api("POST", "/api/v1/auth/reset", {"token": m.token("/account/reset"),
                                                "password": second_password}, csrf=False).status == 200
    b2 = Browser(srv)
    assert b2.login(address, second_password).status == 200
    return {"address": address, "first password": first_password,
            "second password": second_password, "old session id": session_1,
            "session id": b2.session, "csrf token": csrf}


SECRET_NAMES = ("first password", "second password", "old session id", "session id", "csrf token")


def test_no_password_or_session_secret_in_the_store(smtp_server, account_secrets):
    srv = smtp_server
    d = stored.dump(srv)
    text = stored.stored_text(srv)
    assert account_secrets["address"] in text, "the search does not see the account's row"
    for name in SECRET_NAMES:
        assert account_secrets[name] not in text, (
            f"{name} in clear in {stored.columns_containing(srv, account_secrets[name])}")

    # Pending registrations keep their password hashed too (account_tokens).
    for row in d["account_tokens"]:
        if row["password_hash"]:
            assert row["password_hash"].startswith("$argon2id$"), row["password_hash"][:20]

    (own,) = [a for a in d["accounts"] if a["email"] == account_secrets["address"]]
    h = own["password_hash"]
    m_ = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+", h)
    assert m_, h
    assert int(m_.group(1)) >= 19456 and int(m_.group(2)) >= 2, h
    hashes = [a["password_hash"] for a in d["accounts"] if a["password_hash"]]
    assert hashes
    for h in hashes:
        assert h.startswith("$argon2id$"), h[:20]


@sqlite_files_only
def test_no_password_or_session_secret_in_the_sqlite_files(smtp_server, account_secrets):
    """Nor in what the SQLite files hold beyond the rows: free pages, old
    WAL frames (secure_delete is on)."""
    raw = stored.sqlite_file_bytes(smtp_server)
    assert account_secrets["address"].encode() in raw, "the search does not see the account's row"
    for name in SECRET_NAMES:
        assert account_secrets[name].encode() not in raw, f"{name} in clear in the SQLite files"


@pytest.fixture(scope="module")
def mailed_tokens(smtp_server, smtp_sink) -> dict:
    """A used confirmation token and a pending reset token, by name, and
    the address they were mailed to."""
    srv = smtp_server
    address = unique_email("tokrest")
    b = Browser(srv)
    assert register(b, address).status == 202
    confirm = smtp_sink.wait_for(address).token("/account/confirm")
    assert b.api("POST", "/api/v1/auth/confirm", {"token": confirm}, csrf=False).status == 200
    b.api("POST", "/api/v1/auth/reset-request", {"email": address}, csrf=False)
    reset = smtp_sink.wait_for(address, subject_contains=catalog("en")["mail_reset_subject"]
                               ).token("/account/reset")  # pending, unused
    return {"address": address, "confirmation token": confirm, "reset token": reset}


def test_no_mailed_token_in_the_store(smtp_server, mailed_tokens):
    srv = smtp_server
    text = stored.stored_text(srv)
    assert mailed_tokens["address"] in text, "the search does not see the account's row"
    leaks = {name: stored.columns_containing(srv, t) for name, t in mailed_tokens.items()
             if name != "address" and t in text}
    assert not leaks, f"in clear in the store: {leaks}"


@sqlite_files_only
def test_no_mailed_token_in_the_sqlite_files(smtp_server, mailed_tokens):
    """A sent mail's body is zeroed in the database (secure_delete); its old
    copy in the WAL goes when the background checkpointer empties the WAL,
    within a few seconds of the store going quiet (docs/decisions.md)."""

    def leaks() -> list[str]:
        raw = stored.sqlite_file_bytes(smtp_server)
        assert mailed_tokens["address"].encode() in raw, "the search does not see the account's row"
        return [name for name, t in mailed_tokens.items() if name != "address" and t.encode() in raw]

    deadline = time.monotonic() + 10
    while leaks() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not leaks(), f"in clear in the SQLite files: {leaks()}"


# --------------------------------------------------------------------------
# Display names are escaped everywhere
# --------------------------------------------------------------------------

XSS_NAMES = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


def input_value(page: str, name: str) -> str | None:
    m = re.search(r'<input id="[^"]*" name="%s"[^>]*? value="([^"]*)">' % re.escape(name), page)
    return html.unescape(m.group(1)) if m else None


@pytest.mark.parametrize("payload", XSS_NAMES, ids=["script", "attr-breakout"])
def test_display_name_escaped_everywhere(smtp_server, smtp_sink, payload):
    srv = smtp_server
    address = unique_email("xss")
    b = Browser(srv)
    assert register(b, address, name=payload).status == 202
    m = smtp_sink.wait_for(address)
    # Mail: escaped in the HTML part, as text in the text part.
    assert payload not in m.html
    assert html.escape(payload, quote=False) in m.html or html.escape(payload) in m.html
    assert payload in m.text
    assert b.api("POST", "/api/v1/auth/confirm", {"token": m.token("/account/confirm")},
                 csrf=False).status == 200
    assert b.login(address, PASSWORD).status == 200

    # JSON: the exact name, as JSON, never sniffed as HTML.
    r = b.me()
    assert r.json()["display_name"] == payload
    assert r.header("x-content-type-options") == "nosniff"
    assert b.get("/api/v1/me/export").json()["account"]["display_name"] == payload

    # The settings page: in the text and in the form field.
    r = b.get("/account/settings?ed=en")
    assert r.status == 200
    assert payload not in r.text
    assert "<img src=x" not in r.text and "<script>alert" not in r.text
    assert f"({address})" in html.unescape(r.text)
    assert input_value(r.text, "display_name") == payload

    # A form that shows the name again after an error.
    r = b.form_post("/account/register", {"email": unique_email("xss2"), "display_name": payload,
                                          "password": "short", "ed": "en"})
    assert r.status == 400, r
    assert payload not in r.text
    assert input_value(r.text, "display_name") == payload

    # Other mails with the name: the password-changed notice.
    assert b.api("POST", "/api/v1/me/password", {"current_password": PASSWORD,
                                                  "new_password": PASSWORD2}).status == 200
    notice = smtp_sink.wait_for(address, subject_contains=catalog("en")["mail_password_changed_subject"])
    assert payload not in notice.html


def test_typed_address_escaped_in_forms(smtp_server):
    b = Browser(smtp_server)
    b.get("/account/login?ed=en")
    payload = '"><script>alert(1)</script>@example.org'
    r = b.form_post("/account/login", {"email": payload, "password": PASSWORD, "ed": "en"})
    assert r.status == 401, r
    assert "<script>alert(1)" not in r.text
    assert input_value(r.text, "email") == payload


# --------------------------------------------------------------------------
# Security headers on account pages
# --------------------------------------------------------------------------


def csp_directives(value: str) -> dict:
    out = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


ACCOUNT_PAGES = ["/account/register?ed=de", "/account/login?ed=en", "/account/reset-request?ed=ru",
                 "/account/resend?ed=en", "/account/reset?token=abc&ed=en",
                 "/account/confirm?token=nope&ed=en", "/account/confirm-email?token=nope",
                 "/account/settings?ed=en"]


@pytest.mark.parametrize("path", ACCOUNT_PAGES)
def test_security_headers_on_account_pages(smtp_server, victim, path):
    # Settings as the logged-in reader sees them; the other pages anonymously.
    r = (victim if "settings" in path else Browser(smtp_server)).get(path)
    assert r.status in (200, 400), r
    assert r.header("content-type").startswith("text/html")
    csp = r.header("content-security-policy")
    assert csp, r.header_list
    d = csp_directives(csp)
    script_src = d.get("script-src", d.get("default-src"))
    assert script_src is not None, csp
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, csp
    assert d.get("frame-ancestors") == ["'none'"], csp
    assert r.header("referrer-policy") in ("no-referrer", "same-origin", "strict-origin",
                                           "strict-origin-when-cross-origin")
    assert r.header("x-content-type-options") == "nosniff"
    assert "no-store" in (r.header("cache-control") or "")


def test_security_headers_on_refused_form(smtp_server, victim):
    r = victim.form_post("/account/settings/delete", {"password": PASSWORD, "ed": "en"},
                         origin=EVIL)
    assert r.status == 403
    d = csp_directives(r.header("content-security-policy") or "")
    assert d.get("frame-ancestors") == ["'none'"]
    assert r.header("x-content-type-options") == "nosniff"


# --------------------------------------------------------------------------
# Roles
# --------------------------------------------------------------------------


def test_roles_admin_changes_others_never_own(smtp_server, smtp_sink):
    srv = smtp_server
    admin_address = unique_email("admin")
    admin_id = create_user(srv, admin_address, PASSWORD3, role="admin")
    admin = Browser(srv)
    r = admin.login(admin_address, PASSWORD3)
    assert r.status == 200, r
    assert r.json()["account"]["role"] == "admin" and r.json()["account"]["confirmed"] is True

    reader_address = unique_email("reader")
    reader = register_confirmed(srv, smtp_sink, reader_address)
    reader_id = reader.me().json()["id"]

    def set_role(b, target, role, **kw):
        return b.api("POST", f"/api/v1/users/{target}/role", {"role": role}, **kw)

    def role_of(b) -> str:
        r = b.me()
        assert r.status == 200, r
        return r.json()["role"]

    # Without the CSRF header: refused, unchanged.
    assert set_role(admin, reader_id, "moderator", csrf=False).status == 403
    assert role_of(reader) == "reader"

    r = set_role(admin, reader_id, "moderator")
    assert r.status == 200, r
    assert r.json()["role"] == "moderator"
    assert role_of(reader) == "moderator"

    # Not for readers (or moderators), not on themselves, not for admins on themselves.
    r = set_role(reader, admin_id, "reader")
    assert r.status == 403, r
    assert set_role(reader, reader_id, "admin").status == 403
    # ... whatever they send: the role is checked before the body (the
    # route sweep found bad input from a reader answered 400).
    assert set_role(reader, admin_id, "overlord").status == 403
    r = reader.api("POST", f"/api/v1/users/{admin_id}/role", {"junk": True})
    assert r.status == 403, r
    r = reader.request("POST", f"/api/v1/users/{admin_id}/role", body="role=admin",
                       headers={"Content-Type": "application/x-www-form-urlencoded",
                                "Origin": reader.origin, "X-CSRF-Token": reader.cookies["depesche_csrf"]})
    assert r.status == 403, r
    r = set_role(admin, admin_id, "reader")
    assert r.status == 403, r
    assert role_of(admin) == "admin"
    assert role_of(reader) == "moderator"

    # Bad input.
    assert set_role(admin, reader_id, "overlord").status == 400
    assert set_role(admin, 987654321, "editor").status == 404
    assert set_role(admin, "abc", "editor").status == 404
    assert role_of(reader) == "moderator"

    # Anonymous and editor tokens cannot; an admin token can.
    assert Browser(srv).api("POST", f"/api/v1/users/{reader_id}/role", {"role": "admin"},
                            csrf=False).status in (401, 403)
    editor = create_token(srv.data_dir, "role-editor", "editor")
    r = srv.request("POST", f"/api/v1/users/{reader_id}/role", json_body={"role": "admin"},
                    token=editor)
    assert r.status == 403, r
    admin_token = create_token(srv.data_dir, "role-admin", "admin")
    r = srv.request("POST", f"/api/v1/users/{reader_id}/role", json_body={"role": "editor"},
                    token=admin_token)
    assert r.status == 200, r
    assert role_of(reader) == "editor"
    # ... and so it is stored.
    assert account_row(srv, reader_address)["role"] == "editor"
    assert account_row(srv, admin_address)["role"] == "admin"


# --------------------------------------------------------------------------
# Where a login sends the browser
# --------------------------------------------------------------------------


def browser_target(base: str, location: str) -> str:
    """Where a browser goes for this Location (WHATWG URL parsing: tabs and
    newlines are removed, a backslash counts as a slash for http)."""
    cleaned = re.sub(r"[\t\n\r]", "", location.strip("\x00 ")).replace("\\", "/")
    return urllib.parse.urljoin(base + "/", cleaned)



OFFSITE_NEXT = [
    pytest.param("//evil.example/", id="scheme-relative"),
    pytest.param("/\\evil.example/", id="backslash"),
    pytest.param("https://evil.example/", id="absolute"),
    pytest.param("/\n/evil.example/", id="newline"),
    pytest.param(" //evil.example/", id="leading-space"),
    pytest.param("/\t/evil.example/", id="tab"),
    pytest.param("/\t\\evil.example/", id="tab-backslash"),
]


@pytest.mark.parametrize("nxt", OFFSITE_NEXT)
def test_login_never_redirects_off_site(smtp_server, smtp_sink, nxt):
    srv = smtp_server
    address = unique_email("redirect")
    register_confirmed(srv, smtp_sink, address)
    b = Browser(srv)
    b.get("/account/login?ed=en")
    r = b.form_post("/account/login", {"email": address, "password": PASSWORD, "ed": "en", "next": nxt})
    assert r.status == 303, r
    target = urllib.parse.urlsplit(browser_target(srv.base_url, r.header("location")))
    assert f"{target.scheme}://{target.netloc}" == srv.base_url, r.header("location")
    # Logged in already: the form redirects at once.
    r = b.get("/account/login?ed=en&next=" + urllib.parse.quote(nxt, safe=""))
    assert r.status == 303, r
    target = urllib.parse.urlsplit(browser_target(srv.base_url, r.header("location")))
    assert f"{target.scheme}://{target.netloc}" == srv.base_url, r.header("location")
