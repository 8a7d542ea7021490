"""The editors' newsticker console at /admin/tickers/{id}, driven like a
browser without JavaScript: an editor logs in through the login form
(session cookie), reads the console page, and posts, edits, pins, unpins and
deletes entries through its forms, with the CSRF token taken from the page.

Every change is checked from outside, in the JSON API
(GET /api/v1/tickers/{id}/entries) and in the stored ticker_entries rows
(`depesche store dump`). Refusals (reader role, anonymous visitor, missing CSRF token, foreign
Origin, invalid input, unknown ticker or entry, an oversized form) must store
nothing; invalid input gives a 4xx console page in the edition's language
with the typed text kept in the form. A 20,000-character entry, Cyrillic or
astral, goes through although percent-encoding makes it 120-240 KB."""

from __future__ import annotations

import html
import re

import pytest

import stored
from account_helpers import PASSWORD, Browser, create_user, start_account_server, unique_email
from conftest import catalog

EDITIONS = ("de", "en", "ru")

# What the catalogs' console_error_* patterns come out as, per edition (ICU
# formats the numbers; Russian groups digits with a no-break space, which
# the checks below treat as a space).
BODY_EMPTY = {
    "de": "Der Text darf nicht leer sein.",
    "en": "The text must not be empty.",
    "ru": "Текст: поле не может быть пустым.",
}
BODY_TOO_LONG = {
    "de": "Der Text ist länger als 20.000 Zeichen.",
    "en": "The text is longer than 20,000 characters.",
    "ru": "Текст: не более 20 000 символов.",
}
TITLE_TOO_LONG = {
    "de": "Der Titel ist länger als 200 Zeichen.",
    "en": "The title is longer than 200 characters.",
    "ru": "Заголовок: не более 200 символов.",
}
TOO_LARGE = {
    "de": "Der Eintrag ist zu groß, um angenommen zu werden. Der Text darf höchstens 20.000 Zeichen lang sein.",
    "en": "The entry is too large to be accepted. The text may be at most 20,000 characters long.",
    "ru": "Запись слишком велика и не может быть принята. Текст — не более 20 000 символов.",
}
# The service's own English messages, which must not reach a de or ru page.
ENGLISH_DOMAIN_MESSAGES = ("must not be empty", "is longer than", "image.url must be", "unknown operation",
                           "names no article", "article_id:")


# --------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(bin_path, tmp_path_factory):
    """A demo server with the account rate limits raised."""
    srv = start_account_server(tmp_path_factory.mktemp("console"))
    yield srv
    srv.assert_clean_exit()


def logged_in(srv, role: str) -> Browser:
    """A browser logged in through the login form as a new user with `role`."""
    address = unique_email(role)
    create_user(srv, address, PASSWORD, role=role)
    b = Browser(srv)
    assert b.get("/account/login?ed=de").status == 200
    r = b.form_post("/account/login", {"email": address, "password": PASSWORD, "ed": "de",
                                       "next": "/admin"})
    assert r.status == 303, r
    assert b.session, "no session cookie after logging in"
    return b


@pytest.fixture(scope="module")
def editor(server) -> Browser:
    return logged_in(server, "editor")


@pytest.fixture(scope="module")
def reader(server) -> Browser:
    return logged_in(server, "reader")


def stored_entries(srv) -> list[dict]:
    """Every stored ticker entry, by id, from the store dump."""
    return stored.rows(srv, "ticker_entries")


def stored_entry(srv, entry_id: int) -> dict | None:
    return stored.one_row(srv, "ticker_entries", id=entry_id)


def api_entries(srv, ticker: str) -> list[dict]:
    r = srv.get(f"/api/v1/tickers/{ticker}/entries?limit=100")
    assert r.status == 200, r
    return r.json()["items"]


def api_entry(srv, ticker: str, entry_id: int) -> dict | None:
    return next((e for e in api_entries(srv, ticker) if e["id"] == entry_id), None)


@pytest.fixture
def unchanged(server):
    """Asserts that the test stored nothing in ticker_entries."""
    before = stored_entries(server)
    yield
    assert stored_entries(server) == before
    server.assert_alive()


CSRF_INPUT = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')


def open_console(b: Browser, ticker: str) -> tuple[str, str]:
    """The console page's HTML and the CSRF token its forms carry."""
    r = b.get(f"/admin/tickers/{ticker}")
    assert r.status == 200, r
    tokens = set(CSRF_INPUT.findall(r.text))
    assert len(tokens) == 1, tokens
    token = tokens.pop()
    assert token == b.cookies.get("depesche_csrf"), "the form's token is not the cookie's"
    return r.text, token


def post_new(b: Browser, ticker: str, fields: dict, **kw):
    _, token = open_console(b, ticker)
    return b.form_post(f"/admin/tickers/{ticker}/entries", fields, csrf=token, **kw)


def post_change(b: Browser, ticker: str, entry_id: int, fields: dict, **kw):
    _, token = open_console(b, ticker)
    return b.form_post(f"/admin/tickers/{ticker}/entries/{entry_id}", fields, csrf=token, **kw)


def newest_by_body(srv, ticker: str, body: str) -> dict:
    matches = [e for e in api_entries(srv, ticker) if e["body"] == body]
    assert len(matches) == 1, [e["body"][:40] for e in api_entries(srv, ticker)]
    return matches[0]


def visible(text: str) -> str:
    """Page text with entities decoded and no-break spaces as spaces."""
    return html.unescape(text).replace("\u00a0", " ").replace("\u202f", " ")


def new_entry_form(page: str) -> str:
    start = page.index('<form class="account-form"')
    return page[start:page.index("</form>", start)]


def entry_item(page: str, entry_id: int) -> str:
    start = page.index(f'<li id="entry-{entry_id}">')
    return page[start:page.index("</li>", start)]


def assert_error_page(r, status: int, ed: str, message: str):
    assert r.status == status, r
    assert (r.header("content-type") or "").startswith("text/html"), r
    assert f'<html lang="{ed}">' in r.text
    assert 'class="form-errors" role="alert"' in r.text
    assert message in visible(r.text), visible(r.text)[:3000]
    if ed != "en":
        for english in ENGLISH_DOMAIN_MESSAGES:
            assert english not in r.text, english
    assert r.header("cache-control") == "private, no-store"


# --------------------------------------------------------------------------
# The editor's work
# --------------------------------------------------------------------------


def test_console_page_is_in_the_tickers_language(server, editor):
    for ed in EDITIONS:
        page, _ = open_console(editor, ed)
        cat = catalog(ed)
        assert f'<html lang="{ed}">' in page
        assert html.escape(cat["console_title"], quote=False) in page
        assert f'action="/admin/tickers/{ed}/entries"' in page
        # The form's limits are the service's.
        assert 'maxlength="20000"' in page and 'maxlength="200"' in page
    # /admin opens the ticker of the editor's own edition.
    r = editor.get("/admin")
    assert r.status == 303 and r.header("location") in {f"/admin/tickers/{ed}" for ed in EDITIONS}, r


def test_editor_posts_edits_pins_unpins_and_deletes(server, editor):
    ticker = "de"
    cat = catalog(ticker)
    body = "Die Feuerwehr meldet: **alles ruhig** an der Brücke."
    r = post_new(editor, ticker, {"title": "Lage an der Brücke", "body": body, "breaking": "1"})
    assert r.status == 303, r
    assert r.header("location") == f"/admin/tickers/{ticker}?done=posted"
    e = newest_by_body(server, ticker, body)
    assert e["title"] == "Lage an der Brücke"
    assert e["breaking"] is True and e["pinned"] is False
    assert "<strong>alles ruhig</strong>" in e["body_html"]
    assert api_entries(server, ticker)[0]["id"] == e["id"], "not the newest entry"
    row = stored_entry(server, e["id"])
    assert row["ticker"] == ticker and row["body"] == body and row["title"] == "Lage an der Brücke"
    assert row["breaking"] == 1 and row["pinned"] == 0 and row["image_url"] is None
    r = editor.get(r.header("location"))
    assert r.status == 200 and html.escape(cat["console_posted"], quote=False) in r.text
    assert f'<li id="entry-{e["id"]}">' in r.text

    # Edit: the breaking flag goes (unchecked boxes are not sent), the text changes.
    body2 = "Die Brücke ist wieder frei."
    r = post_change(editor, ticker, e["id"], {"op": "update", "title": "Brücke frei", "body": body2})
    assert r.status == 303, r
    assert r.header("location") == f"/admin/tickers/{ticker}?done=saved#entry-{e['id']}"
    got = api_entry(server, ticker, e["id"])
    assert (got["title"], got["body"], got["breaking"], got["pinned"]) == ("Brücke frei", body2, False, False)
    row = stored_entry(server, e["id"])
    assert (row["title"], row["body"], row["breaking"], row["pinned"]) == ("Brücke frei", body2, 0, 0)
    page, _ = open_console(editor, ticker)
    item = entry_item(page, e["id"])
    assert 'value="Brücke frei"' in item and f">{body2}</textarea>" in item

    # Pin, then unpin.
    r = post_change(editor, ticker, e["id"], {"op": "pin"})
    assert r.status == 303, r
    assert api_entry(server, ticker, e["id"])["pinned"] is True
    assert stored_entry(server, e["id"])["pinned"] == 1
    pinned = server.get(f"/api/v1/tickers/{ticker}/pinned").json()
    pinned = pinned["items"] if isinstance(pinned, dict) else pinned
    assert e["id"] in [p["id"] for p in pinned]
    page, _ = open_console(editor, ticker)
    assert '<input type="hidden" name="op" value="unpin">' in entry_item(page, e["id"])
    r = post_change(editor, ticker, e["id"], {"op": "unpin"})
    assert r.status == 303, r
    assert api_entry(server, ticker, e["id"])["pinned"] is False
    assert stored_entry(server, e["id"])["pinned"] == 0
    assert api_entry(server, ticker, e["id"])["body"] == body2, "pinning changed the text"

    # Delete.
    r = post_change(editor, ticker, e["id"], {"op": "delete"})
    assert r.status == 303, r
    assert r.header("location") == f"/admin/tickers/{ticker}?done=deleted"
    assert api_entry(server, ticker, e["id"]) is None
    assert server.get(f"/api/v1/tickers/{ticker}/entries/{e['id']}").status == 404
    assert stored_entry(server, e["id"]) is None
    r = editor.get(r.header("location"))
    assert html.escape(cat["console_deleted"], quote=False) in r.text
    assert f'<li id="entry-{e["id"]}">' not in r.text


def test_entry_with_image_and_article_link(server, editor):
    ticker = "en"
    article = server.get("/api/v1/articles?edition=en&limit=1").json()["items"][0]
    body = "Pictures from the harbour."
    r = post_new(editor, ticker, {"body": body, "image_url": "/media/harbour.jpg",
                                  "image_caption": "The harbour at dawn", "image_credit": "A. Photographer",
                                  "article_id": str(article["id"]), "pinned": "1"})
    assert r.status == 303, r
    e = newest_by_body(server, ticker, body)
    assert e["image"]["url"] == "/media/harbour.jpg"
    assert e["image"]["caption"] == "The harbour at dawn" and e["image"]["credit"] == "A. Photographer"
    assert e["article_id"] == article["id"] and e["pinned"] is True
    row = stored_entry(server, e["id"])
    assert (row["image_url"], row["image_width"], row["image_height"]) == ("/media/harbour.jpg", 0, 0)
    # The console stores no size; the public page must not draw the image 0×0.
    page = server.get("/en/ticker").text
    imgs = re.findall(r'<img src="/media/harbour\.jpg"[^>]*>', page)
    assert imgs, "the entry's image is not on the ticker page"
    for img in imgs:
        assert "width=" not in img and "height=" not in img, img
    assert post_change(editor, ticker, e["id"], {"op": "delete"}).status == 303


def test_live_blog_console(server, editor):
    r = editor.api("POST", "/api/v1/tickers",
                   {"slug": "konsole-liveblog", "edition": "ru", "title": "Прямой эфир"})
    assert r.status == 201, r
    page, _ = open_console(editor, "konsole-liveblog")
    assert '<html lang="ru">' in page and "Прямой эфир" in page
    assert 'href="/ru/live/konsole-liveblog"' in page
    r = post_new(editor, "konsole-liveblog", {"body": "Начинаем трансляцию."})
    assert r.status == 303, r
    assert [e["body"] for e in api_entries(server, "konsole-liveblog")] == ["Начинаем трансляцию."]


def blog_ended_at(srv, slug: str):
    blog = next(b for b in srv.get("/api/v1/tickers?edition=ru").json()["items"] if b["id"] == slug)
    return blog["ended_at"]


def test_editor_ends_and_reopens_a_live_blog(server, editor, reader):
    r = editor.api("POST", "/api/v1/tickers", {"slug": "konsole-ende", "edition": "ru", "title": "Финал"})
    assert r.status == 201, r
    ru = catalog("ru")
    page, token = open_console(editor, "konsole-ende")
    assert ru["console_end_blog"] in page and ru["console_reopen_blog"] not in page

    # Without the token, or as a reader, nothing changes.
    assert editor.form_post("/admin/tickers/konsole-ende/state", {"op": "end"}, csrf="").status == 403
    assert reader.form_post("/admin/tickers/konsole-ende/state", {"op": "end"}, csrf=token).status == 403
    assert blog_ended_at(server, "konsole-ende") is None

    r = editor.form_post("/admin/tickers/konsole-ende/state", {"op": "end"}, csrf=token)
    assert r.status == 303 and r.header("location") == "/admin/tickers/konsole-ende?done=ended", r
    assert blog_ended_at(server, "konsole-ende") is not None
    page, token = open_console(editor, "konsole-ende?done=ended")
    assert ru["console_blog_ended"] in page and ru["console_reopen_blog"] in page
    assert ru["live_blog_ended"] in server.get("/ru/live/konsole-ende").text

    r = editor.form_post("/admin/tickers/konsole-ende/state", {"op": "reopen"}, csrf=token)
    assert r.status == 303, r
    assert blog_ended_at(server, "konsole-ende") is None
    assert ru["live_blog_ended"] not in server.get("/ru/live/konsole-ende").text

    r = editor.form_post("/admin/tickers/konsole-ende/state", {"op": "explode"}, csrf=token)
    assert r.status == 400, r
    # An edition's ticker has no end.
    page, token = open_console(editor, "ru")
    assert ru["console_end_blog"] not in page
    assert editor.form_post("/admin/tickers/ru/state", {"op": "end"}, csrf=token).status == 404


# --------------------------------------------------------------------------
# Long entries: the form limit fits what the service accepts
# --------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["ж", "😀"], ids=["cyrillic", "astral"])
def test_entry_of_20000_characters_is_accepted(server, editor, char):
    # Cyrillic is 2 bytes of UTF-8, 6 percent-encoded; an astral character 4
    # and 12. Every text field at its limit, the image URL at 2,000 bytes.
    body = char * 19_999 + "."
    fields = {"title": char * 200, "body": body, "image_url": "https://example.org/" + "a/" * 990,
              "image_caption": char * 400, "image_credit": char * 200, "breaking": "1"}
    assert len(fields["image_url"]) == 2000
    r = post_new(editor, "ru", fields)
    assert r.status == 303, r
    e = newest_by_body(server, "ru", body)
    assert len(e["body"]) == 20_000 and e["title"] == char * 200
    assert e["image"]["caption"] == char * 400 and e["image"]["credit"] == char * 200
    row = stored_entry(server, e["id"])
    assert row["body"] == body
    assert post_change(editor, "ru", e["id"], {"op": "delete"}).status == 303


def test_editing_to_20000_cyrillic_characters_is_accepted(server, editor):
    assert post_new(editor, "ru", {"body": "Коротко."}).status == 303
    e = newest_by_body(server, "ru", "Коротко.")
    body = "ы" * 20_000
    r = post_change(editor, "ru", e["id"], {"op": "update", "body": body, "title": "Длинно"})
    assert r.status == 303, r
    assert api_entry(server, "ru", e["id"])["body"] == body
    assert stored_entry(server, e["id"])["body"] == body
    assert post_change(editor, "ru", e["id"], {"op": "delete"}).status == 303


@pytest.mark.parametrize("ed", EDITIONS)
def test_oversized_form_is_a_localised_413_not_a_csrf_403(server, editor, ed, unchanged):
    # 300,000 bytes: over the console's 256 KiB, under server.max_body_bytes.
    r = post_new(editor, ed, {"title": "Zu groß", "body": "x" * 300_000})
    assert_error_page(r, 413, ed, TOO_LARGE[ed])
    entry = api_entries(server, ed)[0]["id"]
    r = post_change(editor, ed, entry, {"op": "update", "body": "ж" * 60_000})
    assert_error_page(r, 413, ed, TOO_LARGE[ed])


# --------------------------------------------------------------------------
# Who may use it
# --------------------------------------------------------------------------


def test_reader_is_refused(server, reader, unchanged):
    entry = api_entries(server, "de")[0]
    r = reader.get("/admin/tickers/de")
    assert r.status == 403, r
    assert "/admin/tickers/de/entries" not in r.text and entry["body"] not in r.text
    token = reader.cookies.get("depesche_csrf")
    assert token, "the login form left no CSRF cookie"
    r = reader.form_post("/admin/tickers/de/entries", {"body": "Leser schreibt."}, csrf=token)
    assert r.status == 403, r
    for op in ("update", "pin", "delete"):
        r = reader.form_post(f"/admin/tickers/de/entries/{entry['id']}",
                             {"op": op, "body": "Leser ändert."}, csrf=token)
        assert r.status == 403, (op, r)
    assert api_entry(server, "de", entry["id"]) == entry


def test_anonymous_visitor_is_sent_to_login(server, unchanged):
    entry = api_entries(server, "de")[0]
    b = Browser(server)
    r = b.get("/admin/tickers/de")
    assert r.status == 303, r
    assert r.header("location") == "/account/login?next=%2Fadmin%2Ftickers%2Fde"
    b.get("/account/login?ed=de")  # a CSRF cookie, as a visitor would have
    r = b.form_post("/admin/tickers/de/entries", {"body": "Anonym."})
    assert r.status == 303 and r.header("location").startswith("/account/login?"), r
    for op in ("update", "pin", "delete"):
        r = b.form_post(f"/admin/tickers/de/entries/{entry['id']}", {"op": op, "body": "Anonym."})
        assert r.status == 303 and r.header("location").startswith("/account/login?"), (op, r)
    assert api_entry(server, "de", entry["id"]) == entry


@pytest.mark.parametrize("csrf,origin", [
    (None, "same"),                       # no token at all
    ("wrong-token-" + "x" * 32, "same"),  # a token that is not the cookie's
    ("PAGE", "http://evil.example"),      # the right token from a foreign page
    ("PAGE", "null"),
], ids=["no-token", "wrong-token", "foreign-origin", "null-origin"])
def test_forged_posts_are_403(server, editor, csrf, origin, unchanged):
    entry = api_entries(server, "de")[0]
    _, token = open_console(editor, "de")
    sent = token if csrf == "PAGE" else csrf
    r = editor.form_post("/admin/tickers/de/entries", {"body": "Gefälscht."}, csrf=sent, origin=origin)
    assert r.status == 403, r
    for op in ("update", "pin", "delete"):
        r = editor.form_post(f"/admin/tickers/de/entries/{entry['id']}", {"op": op, "body": "Gefälscht."},
                             csrf=sent, origin=origin)
        assert r.status == 403, (op, r)
    assert api_entry(server, "de", entry["id"]) == entry


# --------------------------------------------------------------------------
# Invalid input: a localised 4xx page, the typed text kept, nothing stored
# --------------------------------------------------------------------------

TYPED_TITLE = 'Titel <b>"&</b> 1'


def invalid_cases(ed: str) -> list[tuple[str, dict, str]]:
    cat = catalog(ed)
    return [
        ("blank-body", {"body": "  \n "}, BODY_EMPTY[ed]),
        ("long-body", {"body": "ж" * 20_001}, BODY_TOO_LONG[ed]),
        ("long-title", {"body": "Text.", "title": "t" * 201}, TITLE_TOO_LONG[ed]),
        ("bad-image-url", {"body": "Text mit Bild.", "image_url": "javascript:alert(1)"}, cat["console_error_image_url"]),
        ("http-image-url", {"body": "Text mit Bild.", "image_url": "http://example.org/a.jpg"},
         cat["console_error_image_url"]),
        ("bad-article-id", {"body": "Text.", "article_id": "12abc"}, cat["console_error_article"]),
        ("unknown-article", {"body": "Text.", "article_id": "987654321"}, cat["console_error_article"]),
    ]


@pytest.mark.parametrize("ed", EDITIONS)
@pytest.mark.parametrize("case", range(7), ids=["blank-body", "long-body", "long-title", "bad-image-url",
                                                 "http-image-url", "bad-article-id", "unknown-article"])
def test_invalid_new_entry_keeps_the_typed_text(server, editor, ed, case, unchanged):
    name, fields, message = invalid_cases(ed)[case]
    typed = {"title": TYPED_TITLE, "image_caption": "Bild <i>unten</i>", "image_credit": "Foto & Co",
             "breaking": "1", "pinned": "1", **fields}
    r = post_new(editor, ed, typed)
    assert_error_page(r, 400, ed, message)
    form = new_entry_form(r.text)
    # Every field as typed, escaped by the template (no markup injected).
    for field in ("title", "image_url", "image_caption", "image_credit", "article_id"):
        if field in typed:
            assert f'name="{field}"' in form
            assert f'value="{html.escape(typed[field])}"' in form, (field, form[:2000])
    if typed["body"].strip():
        assert f">{html.escape(typed['body'], quote=False)}</textarea>" in form
    assert '<b>"&' not in r.text and "<i>unten</i>" not in r.text
    assert 'name="breaking" type="checkbox" value="1" checked' in form
    assert 'name="pinned" type="checkbox" value="1" checked' in form
    # A new CSRF-carrying form, ready to send again.
    assert CSRF_INPUT.search(form)


@pytest.mark.parametrize("ed", EDITIONS)
def test_invalid_edit_keeps_the_typed_text(server, editor, ed, unchanged):
    entry = api_entries(server, ed)[0]
    typed = {"op": "update", "title": TYPED_TITLE, "body": "ж" * 20_001, "breaking": "1"}
    r = post_change(editor, ed, entry["id"], typed)
    assert_error_page(r, 400, ed, BODY_TOO_LONG[ed])
    item = entry_item(r.text, entry["id"])
    assert "<details open>" in item, "the refused edit form is not open"
    assert f'value="{html.escape(TYPED_TITLE)}"' in item
    assert f">{typed['body']}</textarea>" in item
    assert 'name="breaking" type="checkbox" value="1" checked' in item
    # The other entries' forms show what is stored.
    other = api_entries(server, ed)[1]
    assert "<details>" in entry_item(r.text, other["id"])
    # Blank body on an edit.
    r = post_change(editor, ed, entry["id"], {"op": "update", "title": "Neu", "body": ""})
    assert_error_page(r, 400, ed, BODY_EMPTY[ed])
    assert 'value="Neu"' in entry_item(r.text, entry["id"])


@pytest.mark.parametrize("ed", EDITIONS)
def test_unknown_operation_is_a_localised_400(server, editor, ed, unchanged):
    entry = api_entries(server, ed)[0]
    r = post_change(editor, ed, entry["id"], {"op": "explode"})
    assert_error_page(r, 400, ed, catalog(ed)["console_error_operation"])


# --------------------------------------------------------------------------
# Unknown tickers and entries
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ticker", ["xx", "no-such-blog", "DE"])
def test_unknown_ticker_is_404(server, editor, ticker, unchanged):
    entry = api_entries(server, "de")[0]
    assert editor.get(f"/admin/tickers/{ticker}").status == 404
    _, token = open_console(editor, "de")
    r = editor.form_post(f"/admin/tickers/{ticker}/entries", {"body": "Wohin?"}, csrf=token)
    assert r.status == 404, r
    r = editor.form_post(f"/admin/tickers/{ticker}/entries/{entry['id']}", {"op": "delete"}, csrf=token)
    assert r.status == 404, r


def test_unknown_or_foreign_entry_is_404(server, editor, unchanged):
    en_entry = api_entries(server, "en")[0]
    _, token = open_console(editor, "de")
    for path in ("/admin/tickers/de/entries/987654321", f"/admin/tickers/de/entries/{en_entry['id']}",
                 "/admin/tickers/de/entries/abc"):
        for op in ("update", "pin", "delete"):
            r = editor.form_post(path, {"op": op, "body": "Nirgends."}, csrf=token)
            assert r.status == 404, (path, op, r)
