"""Accounts, end to end: register → mailed link → confirm → log in, through
the JSON API and through the HTML forms (no JavaScript), with a real SMTP
server (aiosmtpd) and with the maildir outbox; password reset, password and
address changes, deletion and export.

What is asserted is what a reader sees (status, pages in the edition's
language, mails) and what is stored (through `depesche store dump`)."""

from __future__ import annotations

import html
import json
import urllib.parse

import pytest

import stored
from account_helpers import (PASSWORD, PASSWORD2, PASSWORD3, Browser, MaildirBox, account_row,
                             register, register_confirmed, smtp_server, smtp_sink,
                             start_account_server, unique_email, wait_account)
from conftest import EDITIONS, api_list_all, catalog

_ = (smtp_server, smtp_sink)  # fixtures used by name

SITE = "Depesche"


def text_of(ed: str, key: str, **values) -> str:
    """A catalog text with its simple {placeholders} filled in."""
    s = catalog(ed)[key]
    values.setdefault("site", SITE)
    for k, v in values.items():
        s = s.replace("{" + k + "}", v)
    return s


def page_text(r) -> str:
    return html.unescape(r.text)


def path_of(link: str) -> str:
    u = urllib.parse.urlsplit(link)
    return u.path + ("?" + u.query if u.query else "")


def assert_session_cookie(r, name: str = "depesche_session") -> str:
    cookies = [c for c in r.headers_named("set-cookie") if c.startswith(name + "=")]
    assert len(cookies) == 1, r.header_list
    c = cookies[0]
    attrs = [a.strip().lower() for a in c.split(";")[1:]]
    assert "httponly" in attrs, c
    assert "samesite=lax" in attrs, c
    assert "path=/" in attrs, c
    value = c.split(";")[0].split("=", 1)[1]
    assert len(value) >= 40, c  # 256 random bits
    return value


@pytest.fixture(scope="module")
def maildir_server(bin_path, tmp_path_factory):
    """A server without mail.smtp_url: mails go to <data dir>/outbox/new."""
    srv = start_account_server(tmp_path_factory.mktemp("maildir"), demo=False)
    yield srv
    srv.assert_clean_exit()


@pytest.fixture(scope="module")
def demo_articles(smtp_server):
    return {ed: api_list_all(smtp_server, ed)[0] for ed in EDITIONS}


# --------------------------------------------------------------------------
# 1. The journey through the API
# --------------------------------------------------------------------------


def check_confirmation_mail(m, address: str, ed: str, name: str, base_url: str) -> str:
    """The confirmation mail as a reader gets it; returns the link."""
    assert m.to == address
    assert m.subject == text_of(ed, "mail_confirm_subject")
    assert m.content_type == "multipart/alternative"
    assert m.text and m.html, "a text and an HTML part"
    link = m.link("/account/confirm")
    u = urllib.parse.urlsplit(link)
    assert f"{u.scheme}://{u.netloc}" == base_url
    q = urllib.parse.parse_qs(u.query)
    assert q["ed"] == [ed] and len(q["token"][0]) >= 40, link
    assert text_of(ed, "mail_greeting", name=name) in m.text
    assert text_of(ed, "mail_confirm_intro") in m.text
    # The HTML part links to the same page, in the edition's language.
    assert f'lang="{ed}"' in m.html
    assert html.escape(link) in m.html
    assert html.escape(text_of(ed, "mail_confirm_action"), quote=False) in m.html
    return link


@pytest.mark.parametrize("ed,confirm_by", [("de", "api"), ("en", "page"), ("ru", "api")])
def test_api_journey_with_smtp(smtp_server, smtp_sink, ed, confirm_by):
    srv = smtp_server
    address = unique_email(f"journey{ed}")
    b = Browser(srv)
    first = register(b, address, name="Jane Reader", edition=ed)
    assert first.status == 202, first
    assert first.json() == {"status": "accepted"}

    m = smtp_sink.wait_for(address)
    link = check_confirmation_mail(m, address, ed, "Jane Reader", srv.base_url)
    row = wait_account(srv, address)
    assert row["confirmed_at"] is None and row["edition"] == ed and row["role"] == "reader"

    # The same address again (known, unconfirmed): the very same answer.
    again = register(b, address, name="Jane Reader", edition=ed)
    assert (again.status, again.body) == (first.status, first.body)
    # A fresh link for the unconfirmed account; it alone works from now on
    # (it carries this registration's password, the older one is retired).
    m = smtp_sink.wait_for(address, count=2)
    link = check_confirmation_mail(m, address, ed, "Jane Reader", srv.base_url)

    # Unconfirmed: logging in works, posting does not.
    r = b.login(address, PASSWORD)
    assert r.status == 200, r
    assert_session_cookie(r)
    me = b.me().json()
    assert (me["email"], me["confirmed"], me["may_post"]) == (address, False, False)

    if confirm_by == "api":
        r = b.api("POST", "/api/v1/auth/confirm", {"token": m.token("/account/confirm")},
                  csrf=False)
        assert r.status == 200, r
        assert r.json()["account"]["confirmed"] is True
    else:
        r = Browser(srv).get(path_of(link))
        assert r.status == 200, r
        assert r.header("content-type").startswith("text/html")
        assert f'<html lang="{ed}">' in r.text
        assert text_of(ed, "confirm_ok_message") in page_text(r)

    # Sessions opened before the address was proven end with the confirmation.
    assert b.me().status == 401
    r = b.login(address, PASSWORD)
    assert r.status == 200, r
    secret = assert_session_cookie(r)
    # The token for X-CSRF-Token comes with the login and matches its cookie.
    assert r.json()["csrf_token"] == b.cookies["depesche_csrf"]
    me = b.me()
    assert me.status == 200, me
    me = me.json()
    assert (me["email"], me["confirmed"], me["may_post"], me["role"], me["edition"]) == (
        address, True, True, "reader", ed)
    assert account_row(srv, address)["confirmed_at"] is not None
    assert secret == b.session

    # Known and confirmed: still the same answer; the owner gets a notice.
    third = register(b, address, name="Jane Reader", edition=ed)
    assert (third.status, third.body) == (first.status, first.body)
    notice = smtp_sink.wait_for(address, subject_contains=text_of(ed, "mail_already_registered_subject"))
    assert "/account/login" in notice.text and "token=" not in notice.text


def test_api_journey_with_maildir_outbox(maildir_server):
    srv = maildir_server
    box = MaildirBox(srv.data_dir)
    address = unique_email("maildir")
    b = Browser(srv)
    r = register(b, address, name="Max Mustermann", edition="de")
    assert r.status == 202, r
    m = box.wait_for(address)
    link = check_confirmation_mail(m, address, "de", "Max Mustermann", srv.base_url)
    # The outbox is a maildir: the file is complete in new/, nothing in tmp/.
    assert not list((srv.data_dir / "outbox" / "tmp").iterdir())
    # The link is logged too, for sites without a mail server.
    srv.wait_for_log(lambda rec: rec.get("msg") == "mail written", 10, '"mail written" line')

    r = b.login(address, PASSWORD)
    assert r.status == 200 and b.me().json()["may_post"] is False

    r = Browser(srv).get(path_of(link))
    assert r.status == 200, r
    assert text_of("de", "confirm_ok_message") in page_text(r)
    # Confirming ends the sessions opened before it; logging in again shows
    # the confirmed account.
    assert b.me().status == 401
    assert b.login(address, PASSWORD).status == 200
    me = b.me().json()
    assert (me["confirmed"], me["may_post"]) == (True, True)
    state = stored.rows(srv, "mail_queue", mail_to=address)
    assert [(s["state"], s["attempts"]) for s in state] == [("sent", 1)]


def test_unconfirmed_account_logs_in_but_may_not_post(smtp_server, smtp_sink, demo_articles):
    srv = smtp_server
    address = unique_email("unconf")
    b = Browser(srv)
    assert register(b, address, edition="en").status == 202
    smtp_sink.wait_for(address)
    r = b.login(address, PASSWORD)
    assert r.status == 200, r
    acc = r.json()["account"]
    assert (acc["confirmed"], acc["may_post"]) == (False, False)
    me = b.me().json()
    assert (me["confirmed"], me["may_post"]) == (False, False)
    # The article page asks to confirm instead of offering to log in.
    page = page_text(b.get(f"/en/articles/{demo_articles['en']['slug']}"))
    assert catalog("en")["discussion_unconfirmed"] in page
    assert catalog("en")["discussion_anonymous"] not in page


# --------------------------------------------------------------------------
# 2. The journey through the HTML pages
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ed", EDITIONS)
def test_html_journey(smtp_server, smtp_sink, demo_articles, ed):
    srv = smtp_server
    address = unique_email(f"html{ed}")
    b = Browser(srv)
    article = f"/{ed}/articles/{demo_articles[ed]['slug']}"

    # Anonymous readers are asked to log in or register, in the edition's language.
    r = b.get(article)
    assert r.status == 200
    assert catalog(ed)["discussion_anonymous"] in page_text(r)

    r = b.get(f"/account/register?ed={ed}")
    assert r.status == 200, r
    assert f'<html lang="{ed}">' in r.text
    csrf_cookie = b.cookies.get("depesche_csrf")
    assert csrf_cookie, r.header_list
    assert f'<input type="hidden" name="csrf" value="{csrf_cookie}">' in r.text
    assert '<form class="account-form" method="post" action="/account/register">' in r.text

    r = b.form_post("/account/register", {"email": address, "display_name": "Form Reader",
                                          "password": PASSWORD, "ed": ed})
    assert r.status == 200, r
    shown = page_text(r)
    assert text_of(ed, "registered_message", email=address) in shown
    assert text_of(ed, "registered_message", email="") not in shown  # never "sent to ."
    assert f'<html lang="{ed}">' in r.text

    m = smtp_sink.wait_for(address)
    assert m.subject == text_of(ed, "mail_confirm_subject")
    r = b.get(path_of(m.link("/account/confirm")))
    assert r.status == 200, r
    assert text_of(ed, "confirm_ok_message") in page_text(r)
    assert f'href="/account/login?ed={ed}"' in r.text

    r = b.get(f"/account/login?ed={ed}")
    assert r.status == 200 and 'action="/account/login"' in r.text
    r = b.form_post("/account/login", {"email": address, "password": PASSWORD, "ed": ed,
                                       "next": article})
    assert r.status == 303, r
    assert r.header("location") == article
    assert_session_cookie(r)
    assert b.session

    # The header now shows the account link and a logout form.
    r = b.get(article)
    assert r.status == 200
    assert f'<a class="account-link" href="/account/settings?ed={ed}">' in r.text
    assert '<form method="post" action="/account/logout">' in r.text
    assert catalog(ed)["account_logout_button"] in page_text(r)
    assert 'class="login-link"' not in r.text
    shown = page_text(r)
    assert catalog(ed)["discussion_anonymous"] not in shown
    assert catalog(ed)["discussion_unconfirmed"] not in shown
    assert r.header("cache-control") == "private, no-store"

    account_id = account_row(srv, address)["id"]
    session = b.session
    r = b.form_post("/account/logout", {"ed": ed})
    assert r.status == 303, r
    assert r.header("location") == f"/{ed}/"
    assert any(c.startswith("depesche_session=;") and "Max-Age=0" in c
               for c in r.headers_named("set-cookie")), r.header_list
    assert stored.count(srv, "sessions", account_id=account_id) == 0
    stale = Browser(srv)
    stale.cookies["depesche_session"] = session
    assert stale.me().status == 401
    assert catalog(ed)["discussion_anonymous"] in page_text(b.get(article))


def test_settings_form_changes_profile(smtp_server, smtp_sink):
    srv = smtp_server
    address = unique_email("profile")
    b = register_confirmed(srv, smtp_sink, address, name="Old Name", edition="en")
    r = b.get("/account/settings")
    assert r.status == 200, r
    assert text_of("en", "settings_signed_in_as", name="Old Name", email=address) in page_text(r)
    r = b.form_post("/account/settings/profile", {"display_name": "New Name", "edition": "ru",
                                                   "ed": "en"})
    assert r.status == 303, r
    assert r.header("location") == "/account/settings?ed=en&done=profile"
    me = b.me().json()
    assert (me["display_name"], me["edition"]) == ("New Name", "ru")
    row = account_row(srv, address)
    assert (row["display_name"], row["edition"]) == ("New Name", "ru")
    # Mails now come in the chosen edition's language.
    assert b.api("POST", "/api/v1/auth/reset-request", {"email": address}, csrf=False).status == 202
    m = smtp_sink.wait_for(address, subject_contains=text_of("ru", "mail_reset_subject"))
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(m.link("/account/reset")).query)["ed"] == ["ru"]


# --------------------------------------------------------------------------
# 3. Reset, change password, change address, delete, export
# --------------------------------------------------------------------------


def test_password_reset_via_api(smtp_server, smtp_sink):
    srv = smtp_server
    address = unique_email("resetapi")
    b1 = register_confirmed(srv, smtp_sink, address, edition="en")
    b2 = Browser(srv)
    assert b2.login(address, PASSWORD).status == 200
    assert b1.me().status == 200 and b2.me().status == 200

    anon = Browser(srv)
    known = anon.api("POST", "/api/v1/auth/reset-request", {"email": address}, csrf=False)
    unknown = anon.api("POST", "/api/v1/auth/reset-request", {"email": unique_email("nobody")},
                       csrf=False)
    assert known.status == 202, known
    assert (known.status, known.body) == (unknown.status, unknown.body)
    assert known.json() == {"status": "accepted"}

    m = smtp_sink.wait_for(address, subject_contains=text_of("en", "mail_reset_subject"))
    link = m.link("/account/reset")
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["ed"] == ["en"]
    assert html.escape(link) in m.html

    r = anon.api("POST", "/api/v1/auth/reset", {"token": m.token("/account/reset"),
                                                "password": PASSWORD2}, csrf=False)
    assert r.status == 200, r
    assert r.json()["account"]["email"] == address

    assert Browser(srv).login(address, PASSWORD).status == 401
    assert Browser(srv).login(address, PASSWORD2).status == 200
    # Every session from before the reset has ended.
    assert b1.me().status == 401
    assert b2.me().status == 401
    # And the owner is told.
    smtp_sink.wait_for(address, subject_contains=text_of("en", "mail_password_changed_subject"))


def test_password_reset_via_form(smtp_server, smtp_sink):
    srv = smtp_server
    address = unique_email("resetform")
    old = register_confirmed(srv, smtp_sink, address, edition="de")

    b = Browser(srv)
    r = b.get("/account/reset-request?ed=de")
    assert r.status == 200 and 'action="/account/reset-request"' in r.text
    r = b.form_post("/account/reset-request", {"email": address, "ed": "de"})
    assert r.status == 200, r
    assert text_of("de", "reset_request_done", email=address) in page_text(r)

    m = smtp_sink.wait_for(address, subject_contains=text_of("de", "mail_reset_subject"))
    token = m.token("/account/reset")
    r = b.get(path_of(m.link("/account/reset")))
    assert r.status == 200, r
    assert f'<input type="hidden" name="token" value="{token}">' in r.text
    assert '<html lang="de">' in r.text

    # A password the rules refuse does not use up the link.
    r = b.form_post("/account/reset", {"token": token, "password": "short", "ed": "de"})
    assert r.status == 400, r
    assert catalog("de")["error_password_invalid"] in page_text(r)

    r = b.form_post("/account/reset", {"token": token, "password": PASSWORD3, "ed": "de"})
    assert r.status == 200, r
    assert catalog("de")["reset_done_message"] in page_text(r)

    assert Browser(srv).login(address, PASSWORD).status == 401
    assert Browser(srv).login(address, PASSWORD3).status == 200
    assert old.me().status == 401


def test_change_password_via_api_ends_other_sessions(smtp_server, smtp_sink):
    srv = smtp_server
    address = unique_email("chpw")
    a = register_confirmed(srv, smtp_sink, address)
    other = Browser(srv)
    assert other.login(address, PASSWORD).status == 200
    old_secret = a.session

    r = a.api("POST", "/api/v1/me/password", {"current_password": "wrong-password-123",
                                               "new_password": PASSWORD2})
    assert r.status == 400, r
    assert r.json()["error"]["field"] == "current_password"

    r = a.api("POST", "/api/v1/me/password", {"current_password": PASSWORD,
                                               "new_password": PASSWORD2})
    assert r.status == 200, r
    new_secret = assert_session_cookie(r)
    assert new_secret != old_secret
    assert a.me().status == 200  # this browser got a fresh session
    assert other.me().status == 401
    stale = Browser(srv)
    stale.cookies["depesche_session"] = old_secret
    assert stale.me().status == 401
    assert Browser(srv).login(address, PASSWORD).status == 401
    assert Browser(srv).login(address, PASSWORD2).status == 200
    smtp_sink.wait_for(address, subject_contains=text_of("en", "mail_password_changed_subject"))


def test_change_email_confirms_new_address_and_tells_old(smtp_server, smtp_sink):
    srv = smtp_server
    old_address = unique_email("oldaddr")
    new_address = unique_email("newaddr")
    b = register_confirmed(srv, smtp_sink, old_address, edition="en")

    r = b.api("POST", "/api/v1/me/email", {"email": new_address, "password": "not-the-password-1"})
    assert r.status == 400, r
    r = b.api("POST", "/api/v1/me/email", {"email": new_address, "password": PASSWORD})
    assert r.status == 202, r

    confirm = smtp_sink.wait_for(new_address,
                                 subject_contains=text_of("en", "mail_email_change_subject"))
    notice = smtp_sink.wait_for(old_address,
                                subject_contains=text_of("en", "mail_email_change_notice_subject"))
    assert new_address in notice.text
    assert "token=" not in notice.text
    # Not switched before the link is followed.
    assert b.me().json()["email"] == old_address

    r = Browser(srv).get(path_of(confirm.link("/account/confirm-email")))
    assert r.status == 200, r
    assert text_of("en", "email_confirmed_message", email=new_address) in page_text(r)
    assert b.me().json()["email"] == new_address
    assert account_row(srv, new_address) is not None
    assert account_row(srv, old_address) is None
    assert Browser(srv).login(new_address, PASSWORD).status == 200
    assert Browser(srv).login(old_address, PASSWORD).status == 401


def test_delete_account_scrubs_the_row_and_ends_sessions(smtp_server, smtp_sink):
    srv = smtp_server
    address = unique_email("delete")
    b = register_confirmed(srv, smtp_sink, address, name="Erika Delete")
    other = Browser(srv)
    assert other.login(address, PASSWORD).status == 200
    account_id = account_row(srv, address)["id"]

    r = b.api("POST", "/api/v1/me/delete", {})
    assert r.status == 400 and r.json()["error"]["field"] == "password", r
    r = b.api("POST", "/api/v1/me/delete", {"password": "wrong-password-123"})
    assert r.status == 400, r
    assert account_row(srv, address) is not None

    r = b.api("POST", "/api/v1/me/delete", {"password": PASSWORD})
    assert r.status == 204, r
    d = stored.dump(srv, "accounts", "sessions")
    (row,) = [a for a in d["accounts"] if a["id"] == account_id]
    assert row["email"] in (None, "")
    assert "Erika" not in row["display_name"]
    assert not row["password_hash"].startswith("$argon2")
    assert row["deleted_at"] is not None
    assert [s for s in d["sessions"] if s["account_id"] == account_id] == []
    assert b.me().status == 401 and other.me().status == 401
    assert Browser(srv).login(address, PASSWORD).status == 401


def test_delete_account_leaves_no_address_or_name_in_the_store(smtp_server, smtp_sink):
    srv = smtp_server
    address = unique_email("forgetme")
    b = register_confirmed(srv, smtp_sink, address, name="Zebulon Forgetme")
    assert b.api("POST", "/api/v1/me/delete", {"password": PASSWORD}).status == 204
    assert stored.columns_containing(srv, address) == []
    assert stored.columns_containing(srv, "Zebulon Forgetme") == []


def test_export_returns_the_account_as_json(smtp_server, smtp_sink):
    srv = smtp_server
    address = unique_email("export")
    b = register_confirmed(srv, smtp_sink, address, name="Export Reader", edition="ru")
    second = Browser(srv)
    assert second.login(address, PASSWORD).status == 200

    assert Browser(srv).get("/api/v1/me/export").status == 401
    r = b.get("/api/v1/me/export")
    assert r.status == 200, r
    assert "attachment" in (r.header("content-disposition") or "")
    data = r.json()
    acc = data["account"]
    assert (acc["email"], acc["display_name"], acc["edition"], acc["confirmed"]) == (
        address, "Export Reader", "ru", True)
    assert len(data["sessions"]) == 2
    assert sum(1 for s in data["sessions"] if s["current"]) == 1
    assert data["exported_at"].endswith("Z")
    text = json.dumps(data)
    assert "argon2" not in text and "password" not in text
    assert b.session not in text and second.session not in text
