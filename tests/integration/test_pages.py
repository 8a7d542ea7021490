"""Server-rendered pages as a reader's browser gets them: edition redirect,
home, section and article pages with their metadata, localised 404s, static
assets and their caching, path traversal, the page cache (ETag, gzip) and
security headers. Nothing here changes state, so one server serves all."""

from __future__ import annotations

import gzip
import html
import json
import re

import pytest

from conftest import EDITIONS, api_list_all, catalog, parse_raw_response


# --------------------------------------------------------------------------
# Small HTML helpers (regexes over the server's own, regular markup)
# --------------------------------------------------------------------------


def html_lang(page: str) -> str | None:
    m = re.search(r"<html[^>]*\blang=\"([^\"]+)\"", page)
    return m.group(1) if m else None


def attrs_of(tag: str) -> dict:
    return {k: html.unescape(v) for k, v in re.findall(r'([a-zA-Z_:-]+)="([^"]*)"', tag)}


def tags(page: str, name: str) -> list[dict]:
    return [attrs_of(t) for t in re.findall(rf"<{name}\b[^>]*>", page)]


def link_rel(page: str, rel: str) -> list[dict]:
    return [a for a in tags(page, "link") if a.get("rel") == rel]


def meta_property(page: str, prop: str) -> str | None:
    for a in tags(page, "meta"):
        if a.get("property") == prop:
            return a.get("content")
    return None


def visible_text(page: str) -> str:
    """Unescaped text of the body, tags removed (for "what the reader sees")."""
    body = page.split("<body", 1)[-1]
    body = re.sub(r"<script\b.*?</script>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def json_ld(page: str) -> list[dict]:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, flags=re.S)
    return [json.loads(b) for b in blocks]


@pytest.fixture(scope="module")
def articles(server):
    """Published articles per edition, from the API (full resources)."""
    out = {}
    for ed in EDITIONS:
        listed = api_list_all(server, ed)
        assert listed, f"the demo should have articles in {ed}"
        out[ed] = [server.get(f"/api/v1/articles/{a['id']}").json() for a in listed]
    return out


def with_image(items):
    for a in items:
        if a.get("image") and a["image"].get("credit") and a.get("translations"):
            return a
    raise AssertionError("the demo should have an article with a credited photo and translations")


# --------------------------------------------------------------------------
# / redirects by Accept-Language
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accept_language,edition",
    [
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("de", "de"),
        ("en-US,en;q=0.9", "en"),
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("fr-FR,fr;q=0.9,ru;q=0.5", "ru"),
        ("RU", "ru"),
        ("en;q=0.3, de;q=0.8", "de"),
        ("fr-FR, it;q=0.8", "en"),  # nothing matches: the default edition
        ("de;q=0, ru;q=0.1", "ru"),  # q=0 means "not acceptable"
        ("", "en"),
        (None, "en"),
    ],
)
def test_root_redirects_by_accept_language(server, accept_language, edition):
    headers = {} if accept_language is None else {"Accept-Language": accept_language}
    r = server.get("/", headers=headers)
    assert r.status in (302, 303, 307), r
    assert r.header("location") in (f"/{edition}/", f"{server.base_url}/{edition}/"), r.header("location")
    assert "accept-language" in (r.header("vary") or "").lower()


def test_edition_without_slash_redirects(server):
    r = server.get("/de")
    assert r.status in (301, 308)
    assert r.header("location").endswith("/de/")


# --------------------------------------------------------------------------
# Home and section pages
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ed", EDITIONS)
def test_home_page_in_its_language(server, articles, ed):
    r = server.get(f"/{ed}/")
    assert r.status == 200
    assert r.header("content-type").startswith("text/html")
    page = r.text
    assert html_lang(page) == ed
    cat = catalog(ed)
    text = visible_text(page)
    assert cat["top_stories"] in text
    # Every published story of the edition is on its home page (the demo has
    # fewer than the home page shows), linked to its article page.
    for a in articles[ed]:
        assert a["headline"] in text, f"{a['headline']!r} missing from /{ed}/"
        assert f'href="/{ed}/articles/{a["slug"]}"' in page
    # No other edition's articles.
    for other in EDITIONS:
        if other != ed:
            assert f'href="/{other}/articles/' not in page.split("<main", 1)[1]
    canon = link_rel(page, "canonical")
    assert [c["href"] for c in canon] == [f"{server.base_url}/{ed}/"]
    alts = {a["hreflang"]: a["href"] for a in link_rel(page, "alternate") if "hreflang" in a}
    assert alts == {e: f"{server.base_url}/{e}/" for e in EDITIONS}


@pytest.mark.parametrize("ed", EDITIONS)
def test_section_page_lists_its_articles(server, articles, ed):
    sections = server.get(f"/api/v1/sections?edition={ed}").json()["items"]
    assert sections
    for sec in sections:
        in_section = [a for a in articles[ed] if a["section"] == sec["slug"]]
        r = server.get(f"/{ed}/{sec['slug']}/")
        assert r.status == 200, (sec, r)
        page = r.text
        assert html_lang(page) == ed
        text = visible_text(page)
        assert sec["name"] in text
        for a in in_section:
            assert a["headline"] in text
        # Articles of other sections are not listed in the section's list.
        main = page.split('<div class="list">', 1)[1].split("</div>", 1)[0] if '<div class="list">' in page else ""
        for a in articles[ed]:
            if a["section"] != sec["slug"]:
                assert f'/{ed}/articles/{a["slug"]}"' not in main
        assert [c["href"] for c in link_rel(page, "canonical")] == [f"{server.base_url}/{ed}/{sec['slug']}/"]


def test_section_without_slash_redirects(server):
    sec = server.get("/api/v1/sections?edition=en").json()["items"][0]["slug"]
    r = server.get(f"/en/{sec}")
    assert r.status in (301, 308)
    assert r.header("location").endswith(f"/en/{sec}/")


def test_section_pagination_cursor(server, articles):
    # A bad cursor in a section URL is a 400 page, not a crash.
    sec = server.get("/api/v1/sections?edition=en").json()["items"][0]["slug"]
    r = server.get(f"/en/{sec}/?cursor=bogus")
    assert r.status == 400
    assert html_lang(r.text) == "en"


# --------------------------------------------------------------------------
# The article page
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ed", EDITIONS)
def test_article_page(server, articles, ed):
    a = with_image(articles[ed])
    path = f"/{ed}/articles/{a['slug']}"
    r = server.get(path)
    assert r.status == 200
    page = r.text
    assert html_lang(page) == ed
    url = server.base_url + path

    # Headline, hero figure with caption and "© credit", body.
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page, flags=re.S)
    assert h1 and html.unescape(h1.group(1)).strip() == a["headline"]
    fig = re.search(r"<figure\b.*?</figure>", page, flags=re.S)
    assert fig, "the article should have a hero figure"
    fig = fig.group(0)
    img = tags(fig, "img")[0]
    assert img["src"] == a["image"]["url"]
    assert img.get("alt"), "the hero image needs alt text"
    caption = visible_text(re.search(r"<figcaption>.*?</figcaption>", fig, flags=re.S).group(0))
    assert a["image"]["caption"] in caption
    assert f"© {a['image']['credit']}" in caption
    time_tag = re.search(r'<time class="published" datetime="([^"]+)"', page)
    assert time_tag and time_tag.group(1) == a["published_at"]
    body_para = re.search(r"<p>(.*?)</p>", a["body_html"], flags=re.S)
    if body_para:
        assert body_para.group(0) in page

    # JSON-LD NewsArticle.
    ld = [d for d in json_ld(page) if d.get("@type") == "NewsArticle"]
    assert len(ld) == 1
    ld = ld[0]
    assert ld["@context"] == "https://schema.org"
    assert ld["headline"] == a["headline"]
    assert ld["inLanguage"] == ed
    assert ld["url"] == url
    assert ld["datePublished"] == a["published_at"]
    assert ld["image"]["@type"] == "ImageObject"
    assert a["image"]["credit"] in ld["image"].get("creditText", "") + ld["image"].get("copyrightNotice", "")

    # canonical and hreflang alternates to every translation (incl. itself).
    assert [c["href"] for c in link_rel(page, "canonical")] == [url]
    alts = {x["hreflang"]: x["href"] for x in link_rel(page, "alternate") if "hreflang" in x}
    assert set(alts) == set(a["translations"]), (alts, a["translations"])
    assert alts[ed] == url
    for other_ed, href in alts.items():
        other = server.get(href[len(server.base_url):])
        assert other.status == 200, href
        assert html_lang(other.text) == other_ed

    # Open Graph.
    assert meta_property(page, "og:type") == "article"
    assert meta_property(page, "og:title") == a["headline"]
    assert meta_property(page, "og:url") == url
    assert meta_property(page, "og:description") == a["teaser"]
    assert (meta_property(page, "og:locale") or "").startswith(ed)
    og_image = meta_property(page, "og:image")
    assert og_image and og_image.endswith(a["image"]["url"]) and og_image.startswith("http")


def test_article_hero_image_is_served(server, articles):
    a = with_image(articles["en"])
    r = server.get(a["image"]["url"])
    assert r.status == 200
    assert r.header("content-type").startswith("image/")
    assert r.header("x-content-type-options") == "nosniff"
    assert r.body


# --------------------------------------------------------------------------
# 404s
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ed", EDITIONS)
def test_unknown_article_is_a_localised_404_page(server, ed):
    # The browser's language must not matter: the URL names the edition.
    r = server.get(f"/{ed}/articles/this-story-does-not-exist", headers={"Accept-Language": "en-US"})
    assert r.status == 404
    assert r.header("content-type").startswith("text/html")
    page = r.text
    assert html_lang(page) == ed
    cat = catalog(ed)
    text = visible_text(page)
    assert cat["error_404_title"] in text
    assert cat["error_404_message"] in text
    for other in EDITIONS:
        if other != ed:
            assert catalog(other)["error_404_title"] not in text
    assert 'name="robots" content="noindex"' in page
    assert "max-age" not in (r.header("cache-control") or "") or "no-store" in r.header("cache-control")


@pytest.mark.parametrize("path", ["/xx/", "/fr/articles/something", "/xx/politics/", "/zz"])
def test_unknown_edition_is_404(server, path):
    r = server.get(path)
    assert r.status == 404
    assert r.header("content-type").startswith("text/html")


@pytest.mark.parametrize("lang,ed", [("ru-RU,ru;q=0.9", "ru"), ("de", "de"), ("fr", "en")])
def test_unknown_edition_404_speaks_the_readers_language(server, lang, ed):
    r = server.get("/xx/articles/anything", headers={"Accept-Language": lang})
    assert r.status == 404
    assert html_lang(r.text) == ed
    assert catalog(ed)["error_404_title"] in visible_text(r.text)


def test_unknown_section_is_404(server):
    r = server.get("/de/no-such-section/")
    assert r.status == 404
    assert html_lang(r.text) == "de"


def test_media_path_cannot_escape(server):
    for p in ("/media/..%2fdepesche.db", "/media/%2e%2e", "/media/.hidden", "/media/depesche.db"):
        r = server.get(p)
        assert 400 <= r.status < 500, p
        assert b"SQLite format" not in r.body


# --------------------------------------------------------------------------
# Static assets
# --------------------------------------------------------------------------


def asset_version(server) -> str:
    page = server.get("/en/").text
    m = re.search(r'href="/static/style\.css\?v=([^"]+)"', page)
    assert m, "the layout should link the versioned stylesheet"
    return m.group(1)


def test_static_asset_has_etag_and_long_cache(server):
    v = asset_version(server)
    r = server.get(f"/static/style.css?v={v}")
    assert r.status == 200
    assert r.header("content-type").startswith("text/css")
    etag = r.header("etag")
    assert etag and etag.startswith('"') and etag.endswith('"')
    cc = r.header("cache-control")
    m = re.search(r"max-age=(\d+)", cc or "")
    assert m and int(m.group(1)) >= 31536000, cc
    assert "immutable" in cc
    assert len(r.body) > 100

    again = server.get(f"/static/style.css?v={v}", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.body == b""
    assert again.header("etag") == etag

    other = server.get(f"/static/style.css?v={v}", headers={"If-None-Match": '"not-it"'})
    assert other.status == 200 and other.body == r.body


def test_static_asset_without_version_gets_short_cache(server):
    r = server.get("/static/style.css")
    assert r.status == 200
    assert "immutable" not in (r.header("cache-control") or "")


@pytest.mark.parametrize("asset,ctype", [("favicon.svg", "image/svg+xml"), ("logo.svg", "image/svg+xml")])
def test_static_svgs(server, asset, ctype):
    r = server.get(f"/static/{asset}")
    assert r.status == 200
    assert r.header("content-type").startswith(ctype)


SECRETS = (b"cmake_minimum_required", b"#include", b"root:x:0:0", b"SQLite format", b"CREATE TABLE",
           b"{{#", b"[server]", b"\"error_404_title\"")


@pytest.mark.parametrize(
    "path",
    [
        "/static/../CMakeLists.txt",
        "/static/../../etc/passwd",
        "/static/%2e%2e/CMakeLists.txt",
        "/static/%2E%2E/%2E%2E/etc/passwd",
        "/static/..%2fCMakeLists.txt",
        "/static/..%2F..%2F..%2Fetc%2Fpasswd",
        "/static/%2e%2e%2fCMakeLists.txt",
        "/static/.%2e/templates/layout.mustache",
        "/static/%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/..\\..\\CMakeLists.txt",
        "/static/..%5c..%5cCMakeLists.txt",
        "/static/style.css/../../CMakeLists.txt",
        "/static/%252e%252e/CMakeLists.txt",
        "/static/../locales/en/messages.json",
        "/static/../data/depesche.db",
        "/static/style.css%00.txt",
        "/static/%c0%ae%c0%ae/CMakeLists.txt",
    ],
)
def test_static_path_traversal_is_refused(server, path):
    # Raw socket: no client-side normalisation of the path.
    data = server.raw(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    r = parse_raw_response(data)
    assert 400 <= r.status < 500, (path, r.status)
    for secret in SECRETS:
        assert secret not in r.body, (path, secret)


# --------------------------------------------------------------------------
# The page cache: ETag, conditional requests, gzip
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["home", "article"])
def test_cached_page_etag_and_gzip(server, articles, kind):
    path = "/de/" if kind == "home" else f"/de/articles/{articles['de'][0]['slug']}"
    first = server.get(path)
    second = server.get(path)
    assert first.status == second.status == 200
    etag = first.header("etag")
    assert etag, "cached pages carry an ETag"
    assert second.header("etag") == etag
    assert second.body == first.body
    assert first.header("content-encoding") is None
    # Kept, but revalidated before each use (docs/decisions.md): a reader who
    # logs in must never get the logged-out copy from the browser's cache.
    assert first.header("cache-control") == "public, no-cache"

    not_modified = server.get(path, headers={"If-None-Match": etag})
    assert not_modified.status == 304
    assert not_modified.body == b""
    assert not_modified.header("etag") == etag

    zipped = server.get(path, headers={"Accept-Encoding": "gzip"})
    assert zipped.status == 200
    assert zipped.header("content-encoding") == "gzip"
    assert "accept-encoding" in (zipped.header("vary") or "").lower()
    assert gzip.decompress(zipped.body) == first.body
    assert len(zipped.body) < len(first.body)
    assert int(zipped.header("content-length")) == len(zipped.body)
    assert zipped.header("etag"), "the gzip variant is cacheable too"

    # A browser offering several codings gets one of them (brotli cannot be
    # decoded with the standard library; it must at least be a real variant).
    browser = server.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert browser.status == 200
    coding = browser.header("content-encoding")
    assert coding in ("gzip", "br"), coding
    assert "accept-encoding" in (browser.header("vary") or "").lower()
    assert int(browser.header("content-length")) == len(browser.body) < len(first.body)
    if coding == "gzip":
        assert gzip.decompress(browser.body) == first.body

    refused = server.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert refused.header("content-encoding") is None
    assert refused.body == first.body


def test_head_of_a_page_has_no_body(server):
    r = server.request("HEAD", "/en/")
    assert r.status == 200
    assert r.body == b""
    assert int(r.header("content-length")) > 0


# --------------------------------------------------------------------------
# Security headers
# --------------------------------------------------------------------------


def csp_directives(value: str) -> dict:
    out = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


@pytest.mark.parametrize("path", ["/en/", "/ru/", "/en/articles/missing-one", "/xx/", "ARTICLE"])
def test_security_headers(server, articles, path):
    if path == "ARTICLE":
        path = f"/en/articles/{articles['en'][0]['slug']}"
    # Twice: the second answer of a cacheable page comes from the page cache.
    for _ in range(2):
        r = server.get(path)
        assert r.header("content-type").startswith("text/html")
        csp = r.header("content-security-policy")
        assert csp, f"no CSP on {path}"
        d = csp_directives(csp)
        script = d.get("script-src", d.get("default-src"))
        assert script is not None
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, csp
        assert d.get("frame-ancestors") in (["'none'"], ["'self'"]), csp
        assert d.get("object-src") == ["'none'"] or d.get("default-src") == ["'none'"]
        assert r.header("x-content-type-options") == "nosniff"
        assert r.header("referrer-policy") in ("strict-origin-when-cross-origin", "no-referrer",
                                               "same-origin", "strict-origin")


def test_pages_have_no_inline_scripts(server, articles):
    # With script-src 'self' inline scripts would not run anyway; the only
    # <script> allowed inline is JSON-LD data.
    for path in ("/en/", f"/en/articles/{articles['en'][0]['slug']}"):
        page = server.get(path).text
        for m in re.finditer(r"<script\b([^>]*)>(.*?)</script>", page, flags=re.S):
            attrs, content = m.groups()
            assert 'type="application/ld+json"' in attrs or (content.strip() == "" and "src=" in attrs), attrs


def test_robots_txt(server):
    r = server.get("/robots.txt")
    assert r.status == 200
    assert "Disallow: /api/" in r.text
