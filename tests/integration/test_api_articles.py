"""JSON API v1 for articles: listing with cursor pagination, reading,
creating, changing and publishing with editor tokens, what readers see on
the pages afterwards (including page-cache invalidation), and auth."""

from __future__ import annotations

import html
import json
import re

import pytest

import stored
from conftest import EDITIONS, api_list_all, create_token, parse_raw_response, revoke_token, urlencode

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def assert_error(r, status, code=None, field=None):
    assert r.status == status, r
    body = r.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err.get("code"), str) and err["code"], body
    assert isinstance(err.get("message"), str) and err["message"], body
    if code is not None:
        assert err["code"] == code, body
    if field is not None:
        assert err.get("field") == field, body
    return err


def h1_of(page: str) -> str:
    m = re.search(r"<h1[^>]*>(.*?)</h1>", page, flags=re.S)
    assert m, "no <h1> on the page"
    return html.unescape(m.group(1)).strip()


def new_article(server, token, **fields):
    body = {"edition": "en", "section": "politics", "headline": "A headline", "teaser": "A teaser.",
            "body": "First paragraph.\n\nSecond *paragraph*."}
    body.update(fields)
    r = server.request("POST", "/api/v1/articles", json_body=body, token=token)
    assert r.status == 201, r
    return r


# --------------------------------------------------------------------------
# Listing
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ed", EDITIONS)
def test_list_pagination_covers_everything_once(server, ed):
    everything = server.get(f"/api/v1/articles?edition={ed}&limit=100").json()
    assert everything["next_cursor"] is None
    all_ids = [a["id"] for a in everything["items"]]
    assert len(all_ids) >= 6

    seen = []
    cursor = None
    pages = 0
    while True:
        q = {"edition": ed, "limit": 5}
        if cursor:
            q["cursor"] = cursor
        r = server.get("/api/v1/articles?" + urlencode(q))
        assert r.status == 200
        page = r.json()
        assert set(page) >= {"items", "next_cursor"}
        assert len(page["items"]) <= 5
        seen.extend(a["id"] for a in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and cursor
        assert len(page["items"]) == 5, "only the last page may be short"
        assert pages < 50
    assert len(seen) == len(set(seen)), "an article appeared on two pages"
    assert seen == all_ids, "pages must add up to the full list, in the same order"
    assert pages == (len(all_ids) + 4) // 5


def test_list_is_newest_first_and_well_formed(server):
    items = server.get("/api/v1/articles?edition=de&limit=100").json()["items"]
    times = [a["published_at"] for a in items]
    assert times == sorted(times, reverse=True)
    for a in items:
        assert a["edition"] == "de"
        assert a["status"] == "published"
        assert RFC3339.match(a["published_at"]) and RFC3339.match(a["updated_at"])
        for key in ("id", "slug", "section", "headline", "teaser", "image", "author", "tags"):
            assert key in a, key


def test_list_by_section(server):
    sections = server.get("/api/v1/sections?edition=en").json()["items"]
    total = 0
    for s in sections:
        items = api_list_all(server, "en", section=s["slug"])
        assert all(a["section"] == s["slug"] for a in items)
        total += len(items)
    assert total == len(api_list_all(server, "en"))


def test_list_items_have_the_articles_tags(server):
    # A list item is an article resource: its tags are the article's tags.
    items = server.get("/api/v1/articles?edition=en&limit=100").json()["items"]
    tagged = 0
    for item in items:
        full = server.get(f"/api/v1/articles/{item['id']}").json()
        tagged += bool(full["tags"])
        assert item["tags"] == full["tags"], (item["slug"], item["tags"], full["tags"])
    assert tagged, "the demo articles have tags"




def test_list_params(server):
    assert_error(server.get("/api/v1/articles"), 400, field="edition")
    assert_error(server.get("/api/v1/articles?edition=xx"), 400, field="edition")
    assert_error(server.get("/api/v1/articles?edition=en&limit=0"), 400, field="limit")
    assert_error(server.get("/api/v1/articles?edition=en&limit=101"), 400, field="limit")
    assert_error(server.get("/api/v1/articles?edition=en&limit=ten"), 400, field="limit")
    assert_error(server.get("/api/v1/articles?edition=en&limit=99999999999999999999999"), 400, field="limit")
    assert_error(server.get("/api/v1/articles?edition=en&cursor=garbage"), 400, field="cursor")
    assert_error(server.get("/api/v1/articles?edition=en&cursor=1.2.3"), 400, field="cursor")
    assert_error(server.get("/api/v1/articles?edition=en&section=nope"), 400, field="section")
    assert_error(server.get("/api/v1/articles?edition=en&colour=red"), 400)
    assert_error(server.get("/api/v1/articles?edition=en&status=any"), 403)


def test_unknown_api_path_is_json_404(server):
    assert_error(server.get("/api/v1/nothing-here"), 404)
    assert_error(server.get("/api/v1/articles/999999"), 404)
    assert_error(server.get("/api/v1/articles/abc"), 404)
    assert_error(server.get("/api/v1/articles/-1"), 404)


# --------------------------------------------------------------------------
# Reading one
# --------------------------------------------------------------------------


def test_get_by_id_is_the_full_resource(server):
    first = server.get("/api/v1/articles?edition=en&limit=1").json()["items"][0]
    r = server.get(f"/api/v1/articles/{first['id']}")
    assert r.status == 200
    assert r.header("cache-control") == "no-store" or "no-store" in r.header("cache-control")
    a = r.json()
    for key in ("id", "edition", "slug", "section", "headline", "teaser", "body", "body_html", "image", "author",
                "tags", "status", "published_at", "updated_at", "translations", "related"):
        assert key in a, key
    assert a["id"] == first["id"] and a["headline"] == first["headline"]
    assert a["body"] and a["body_html"].lstrip().startswith("<")
    assert set(a["translations"]) == set(EDITIONS)
    assert a["translations"]["en"] == a["id"]
    for ed, tid in a["translations"].items():
        t = server.get(f"/api/v1/articles/{tid}").json()
        assert t["edition"] == ed
        assert t["translations"] == a["translations"]
    assert {"url", "caption", "credit", "width", "height"} <= set(a["image"])


# --------------------------------------------------------------------------
# Writing: create, read back, publish, see it on the page
# --------------------------------------------------------------------------


def test_create_get_publish_and_read_on_the_page(server, editor_token):
    r = new_article(server, editor_token, slug="harbour-reopens-after-strike", headline="Harbour reopens after strike",
                    tags=["harbour", "strike"], author="Ada Reporter",
                    image={"url": "/media/harbour.svg", "caption": "Cranes moving again.",
                           "credit": "Depesche / Ada Reporter", "width": 1600, "height": 900})
    created = r.json()
    loc = r.header("location")
    assert loc == f"/api/v1/articles/{created['id']}"
    assert created["status"] == "draft"
    assert created["published_at"] is None
    assert created["slug"] == "harbour-reopens-after-strike"
    assert created["tags"] == ["harbour", "strike"]
    assert "<em>paragraph</em>" in created["body_html"]

    # Read back by Location as the editor.
    got = server.get(loc, token=editor_token)
    assert got.status == 200 and got.json()["headline"] == "Harbour reopens after strike"

    # A draft is invisible to anonymous readers everywhere.
    assert_error(server.get(loc), 404)
    assert created["id"] not in [a["id"] for a in api_list_all(server, "en")]
    assert server.get("/en/articles/harbour-reopens-after-strike").status == 404
    assert "Harbour reopens after strike" not in server.get("/en/").text
    # ... but editors see it among all articles.
    assert created["id"] in [a["id"] for a in api_list_all(server, "en", token=editor_token, status="any")]

    pub = server.request("POST", f"{loc}/publish", token=editor_token)
    assert pub.status == 200, pub
    published = pub.json()
    assert published["status"] == "published"
    assert RFC3339.match(published["published_at"])

    assert server.get(loc).status == 200
    listed = api_list_all(server, "en")
    assert listed[0]["id"] == created["id"], "the newest article heads the list"
    page = server.get("/en/articles/harbour-reopens-after-strike")
    assert page.status == 200
    assert h1_of(page.text) == "Harbour reopens after strike"
    assert "© Depesche / Ada Reporter" in page.text
    assert 'href="/en/articles/harbour-reopens-after-strike"' in server.get("/en/").text
    assert "Harbour reopens after strike" in html.unescape(server.get("/en/politics/").text)

    # Publishing again changes nothing.
    again = server.request("POST", f"{loc}/publish", token=editor_token)
    assert again.status == 200
    assert again.json()["published_at"] == published["published_at"]

    # Stored state, from the store dump.
    row = stored.one_row(server, "articles", id=created["id"])
    assert (row["headline"], row["status"], row["slug"], row["edition"]) == (
        "Harbour reopens after strike", "published", "harbour-reopens-after-strike", "en")
    assert row["published_at"] is not None


def test_slug_is_derived_from_the_headline(server, editor_token):
    r = new_article(server, editor_token, edition="de", section="politik", headline="Große Änderung für Bürger")
    assert r.json()["slug"] == "grosse-aenderung-fuer-buerger"


def test_patch_changes_the_cached_page(server, editor_token):
    r = new_article(server, editor_token, slug="tram-strike-called-off", headline="Tram strike called off")
    aid = r.json()["id"]
    assert server.request("POST", f"/api/v1/articles/{aid}/publish", token=editor_token).status == 200
    path = "/en/articles/tram-strike-called-off"
    before = server.get(path)
    cached = server.get(path)  # second fetch: served from the page cache
    assert before.status == cached.status == 200
    assert h1_of(cached.text) == "Tram strike called off"
    old_etag = cached.header("etag")
    home_before = server.get("/en/").text
    assert "Tram strike called off" in home_before

    p = server.request("PATCH", f"/api/v1/articles/{aid}", token=editor_token,
                       json_body={"headline": "Tram strike called off at the last minute", "version": 2})
    assert p.status == 200, p
    patched = p.json()
    assert patched["headline"] == "Tram strike called off at the last minute"
    assert patched["version"] == 3

    after = server.get(path)
    assert after.status == 200
    assert h1_of(after.text) == "Tram strike called off at the last minute"
    assert after.header("etag") != old_etag
    # A browser revalidating with the old ETag gets the new page, not a 304.
    reval = server.get(path, headers={"If-None-Match": old_etag})
    assert reval.status == 200 and "at the last minute" in reval.text
    assert "Tram strike called off at the last minute" in server.get("/en/").text
    zipped = server.get(path, headers={"Accept-Encoding": "gzip"})
    assert "at the last minute" in zipped.text


def test_patch_keeps_untouched_fields_and_checks_version(server, editor_token):
    r = new_article(server, editor_token, slug="ferry-timetable-changes", headline="Ferry timetable changes",
                    tags=["ferry"], author="B. Writer")
    a = r.json()
    p = server.request("PATCH", f"/api/v1/articles/{a['id']}", token=editor_token,
                       json_body={"teaser": "New teaser."})
    assert p.status == 200
    b = p.json()
    assert b["teaser"] == "New teaser."
    for key in ("headline", "slug", "body", "tags", "author", "section", "edition"):
        assert b[key] == a[key], key
    assert b["version"] == a["version"] + 1

    stale = server.request("PATCH", f"/api/v1/articles/{a['id']}", token=editor_token,
                           json_body={"headline": "Lost update", "version": a["version"]})
    assert_error(stale, 409, code="conflict")
    now = server.get(f"/api/v1/articles/{a['id']}", token=editor_token).json()
    assert now["headline"] == "Ferry timetable changes"
    assert now["version"] == b["version"]


def test_patch_and_publish_unknown_article(server, editor_token):
    assert_error(server.request("PATCH", "/api/v1/articles/999999", token=editor_token,
                                json_body={"headline": "x"}), 404)
    assert_error(server.request("POST", "/api/v1/articles/999999/publish", token=editor_token), 404)


def test_headline_is_escaped_on_the_page(server, editor_token):
    evil = '</script><script>alert("x")</script> & <b>bold</b> {{site_name}} {{{t}}}'
    r = new_article(server, editor_token, slug="escaping-check", headline=evil, teaser='"quoted" <i>teaser</i>',
                    body='Text <script>alert(1)</script> and <img src=x onerror=alert(2)>\n\n'
                         '[click](javascript:alert(3)) and [ok](https://example.com/)')
    aid = r.json()["id"]
    assert server.request("POST", f"/api/v1/articles/{aid}/publish", token=editor_token).status == 200
    page = server.get("/en/articles/escaping-check").text
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "javascript:" not in page
    assert 'href="https://example.com/"' in page
    assert "<b>bold</b>" not in page and "<i>teaser</i>" not in page
    # Text is shown as typed, mustache-looking parts included (not expanded).
    assert h1_of(page) == evil
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, flags=re.S).group(1))
    assert ld["headline"] == evil
    og = re.search(r'<meta property="og:description" content="([^"]*)"', page)
    assert og and html.unescape(og.group(1)) == '"quoted" <i>teaser</i>'


# --------------------------------------------------------------------------
# Auth
# --------------------------------------------------------------------------

WRITES = [
    ("POST", "/api/v1/articles", {"edition": "en", "section": "politics", "headline": "Nope"}),
    ("PATCH", "/api/v1/articles/1", {"headline": "Nope"}),
    ("POST", "/api/v1/articles/1/publish", None),
]


def article_snapshot(server) -> dict:
    """Every stored article (any edition, drafts too): id -> (version, headline, status)."""
    return {r["id"]: (r["version"], r["headline"], r["status"])
            for r in stored.rows(server, "articles")}


@pytest.mark.parametrize("method,path,body", WRITES)
def test_write_without_token_is_401(server, method, path, body):
    before = article_snapshot(server)
    r = server.request(method, path, json_body=body)
    err = assert_error(r, 401)
    assert "bearer" in (r.header("www-authenticate") or "").lower()
    assert err["code"] == "unauthorized"
    assert article_snapshot(server) == before


@pytest.mark.parametrize("auth", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer dp_not-a-real-token", "Bearer nonsense",
                                  "bearer dp_x", "Token abc"])
def test_write_with_bad_credentials_is_401(server, auth):
    before = article_snapshot(server)
    r = server.request("POST", "/api/v1/articles", headers={"Authorization": auth},
                       json_body={"edition": "en", "section": "politics", "headline": "Nope"})
    assert_error(r, 401)
    assert article_snapshot(server) == before


@pytest.mark.parametrize("method,path,body", WRITES)
def test_write_with_reader_token_is_403(server, reader_token, method, path, body):
    before = article_snapshot(server)
    r = server.request(method, path, json_body=body, token=reader_token)
    assert_error(r, 403, code="forbidden")
    assert article_snapshot(server) == before


def test_reader_token_can_read_but_not_drafts(server, reader_token, editor_token):
    r = new_article(server, editor_token, slug="reader-cannot-see-this", headline="Reader cannot see this")
    aid = r.json()["id"]
    assert_error(server.get(f"/api/v1/articles/{aid}", token=reader_token), 404)
    assert server.get("/api/v1/articles?edition=en", token=reader_token).status == 200
    assert_error(server.get("/api/v1/articles?edition=en&status=any", token=reader_token), 403)


def test_revoked_token_is_401(server):
    token = create_token(server.data_dir, "soon-revoked", "editor")
    ok = server.request("POST", "/api/v1/articles", token=token,
                        json_body={"edition": "en", "section": "politics", "headline": "Before revocation"})
    assert ok.status == 201
    revoke_token(server.data_dir, "soon-revoked")
    before = article_snapshot(server)
    r = server.request("POST", "/api/v1/articles", token=token,
                       json_body={"edition": "en", "section": "politics", "headline": "After revocation"})
    assert_error(r, 401)
    assert_error(server.request("POST", f"/api/v1/articles/{ok.json()['id']}/publish", token=token), 401)
    assert_error(server.get("/api/v1/articles?edition=en&status=any", token=token), 401)
    assert article_snapshot(server) == before


def test_sections_api(server, editor_token):
    items = server.get("/api/v1/sections?edition=ru").json()["items"]
    assert {"id", "edition", "slug", "name", "position"} <= set(items[0])
    assert_error(server.get("/api/v1/sections"), 400)
    assert_error(server.get("/api/v1/sections?edition=xx"), 400)
    assert_error(server.request("POST", "/api/v1/sections", json_body={"edition": "en", "slug": "x", "name": "X"}), 401)
    r = server.request("POST", "/api/v1/sections", token=editor_token,
                       json_body={"edition": "en", "slug": "weather", "name": "Weather", "position": 9})
    assert r.status == 201, r
    assert "weather" in [s["slug"] for s in server.get("/api/v1/sections?edition=en").json()["items"]]
    assert server.get("/en/weather/").status == 200
    assert_error(server.request("POST", "/api/v1/sections", token=editor_token,
                                json_body={"edition": "en", "slug": "weather", "name": "Again"}), 409)
    assert_error(server.request("POST", "/api/v1/sections", token=editor_token,
                                json_body={"edition": "en", "slug": "articles", "name": "Reserved"}), 400)


# --------------------------------------------------------------------------
# Translations, slug changes, transfer encodings, concurrency
# --------------------------------------------------------------------------


def test_translation_links_both_ways(server, editor_token):
    en = new_article(server, editor_token, slug="bridge-opens", headline="Bridge opens").json()
    de = new_article(server, editor_token, edition="de", section="politik", slug="bruecke-eroeffnet",
                     headline="Brücke eröffnet", translation_of=en["id"]).json()
    for a in (en, de):
        assert server.request("POST", f"/api/v1/articles/{a['id']}/publish", token=editor_token).status == 200
    for a in (en, de):
        got = server.get(f"/api/v1/articles/{a['id']}").json()
        assert got["translations"] == {"en": en["id"], "de": de["id"]}
    page = server.get("/en/articles/bridge-opens").text
    assert f'hreflang="de" href="{server.base_url}/de/articles/bruecke-eroeffnet"' in page
    # The edition switcher links to the translation, not to the home page.
    assert 'href="/de/articles/bruecke-eroeffnet" hreflang="de"' in page
    # A second German translation of the same story is a conflict.
    r = server.request("POST", "/api/v1/articles", token=editor_token,
                       json_body={"edition": "de", "section": "politik", "headline": "Noch eine Brücke",
                                  "translation_of": en["id"]})
    assert_error(r, 409)


def test_slug_change_moves_the_page(server, editor_token):
    a = new_article(server, editor_token, slug="first-slug", headline="Slug mover").json()
    assert server.request("POST", f"/api/v1/articles/{a['id']}/publish", token=editor_token).status == 200
    assert server.get("/en/articles/first-slug").status == 200
    assert server.get("/en/articles/first-slug").status == 200  # now cached
    p = server.request("PATCH", f"/api/v1/articles/{a['id']}", token=editor_token, json_body={"slug": "second-slug"})
    assert p.status == 200 and p.json()["slug"] == "second-slug"
    assert server.get("/en/articles/first-slug").status == 404
    assert h1_of(server.get("/en/articles/second-slug").text) == "Slug mover"


def test_chunked_request_body_is_accepted(server, editor_token):
    body = json.dumps({"edition": "en", "section": "sport", "headline": "Chunked upload works",
                       "slug": "chunked-upload-works"}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7]) for i in range(0, len(body), 7))
    req = (b"POST /api/v1/articles HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
           b"Authorization: Bearer " + editor_token.encode() + b"\r\nTransfer-Encoding: chunked\r\n"
           b"Connection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
    r = parse_raw_response(server.raw(req))
    assert r.status == 201, r
    assert json.loads(r.body)["slug"] == "chunked-upload-works"


def test_concurrent_creates_all_land(server, editor_token):
    from concurrent.futures import ThreadPoolExecutor

    def create(i):
        return server.request("POST", "/api/v1/articles", token=editor_token,
                              json_body={"edition": "ru", "section": "sport", "headline": f"Parallel {i}",
                                         "slug": f"parallel-{i}"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, range(24)))
    assert [r.status for r in results] == [201] * 24
    ids = {r.json()["id"] for r in results}
    assert len(ids) == 24
    drafts = {a["id"] for a in api_list_all(server, "ru", token=editor_token, status="any")}
    assert ids <= drafts


def test_pagination_across_articles_published_before_1970(server, editor_token):
    ids = []
    for slug, when in (("archive-moon-landing", "1969-07-20T20:17:00Z"), ("archive-woodstock", "1969-08-15T17:07:00Z"),
                       ("archive-concorde", "1969-03-02T15:40:00Z")):
        a = new_article(server, editor_token, edition="de", section="wissenschaft", slug=slug,
                        headline=slug.replace("-", " ").title(), published_at=when).json()
        assert server.request("POST", f"/api/v1/articles/{a['id']}/publish", token=editor_token).status == 200
        ids.append(a["id"])
    everything = server.get("/api/v1/articles?edition=de&limit=100").json()["items"]
    assert set(ids) <= {a["id"] for a in everything}
    seen, cursor = [], None
    for _ in range(len(everything) + 1):
        q = {"edition": "de", "limit": 2}
        if cursor:
            q["cursor"] = cursor
        r = server.get("/api/v1/articles?" + urlencode(q))
        assert r.status == 200, (cursor, r)
        page = r.json()
        seen.extend(a["id"] for a in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [a["id"] for a in everything]
