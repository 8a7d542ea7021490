"""Bad input: every case gets a clear 4xx (a JSON error under /api), changes
nothing that is stored, and leaves the server serving.

State is checked from outside: the editor's view of all articles through the
API, and every stored row of the article tables (`depesche store dump`),
must be identical before and after."""

from __future__ import annotations

import json
import socket

import pytest

import stored
from conftest import EDITIONS, parse_raw_response, split_raw_responses

MIB = 1024 * 1024


# --------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def target(server, editor_token):
    """A published article every PATCH case aims at."""
    r = server.request("POST", "/api/v1/articles", token=editor_token, json_body={
        "edition": "en", "section": "politics", "slug": "target-article", "headline": "Target headline",
        "teaser": "Target teaser.", "body": "Target body.", "tags": ["target"]})
    assert r.status == 201, r
    a = r.json()
    assert server.request("POST", f"/api/v1/articles/{a['id']}/publish", token=editor_token).status == 200
    return server.get(f"/api/v1/articles/{a['id']}", token=editor_token).json()


def stored_state(server) -> dict:
    """Every stored row of the article tables, from the store dump."""
    return stored.dump(server, "articles", "sections", "article_tags", "article_related",
                       "article_revisions")


def api_state(server, token) -> dict:
    out = {}
    for ed in EDITIONS:
        r = server.get(f"/api/v1/articles?edition={ed}&status=any&limit=100", token=token)
        assert r.status == 200, r
        out[ed] = r.json()
    return out


@pytest.fixture
def unchanged(server, editor_token, target):
    """Asserts after the test that nothing stored changed and the server
    still answers."""
    before_db = stored_state(server)
    before_api = api_state(server, editor_token)
    before_page = server.get("/en/articles/target-article")
    yield
    assert server.proc.poll() is None, f"the server died:\n{server.output()}"
    assert server.get("/healthz").status == 200
    assert stored_state(server) == before_db, "a rejected request changed stored data"
    assert api_state(server, editor_token) == before_api
    after_page = server.get("/en/articles/target-article")
    assert after_page.status == before_page.status == 200
    assert after_page.body == before_page.body


def assert_json_error(r, status, field=None):
    assert r.status == status, r
    ctype = r.header("content-type") or ""
    assert ctype.startswith("application/json"), f"{status} under /api should be JSON, got {ctype!r}: {r.body[:200]!r}"
    body = json.loads(r.body)
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err.get("code"), str) and err["code"], body
    assert isinstance(err.get("message"), str) and err["message"], body
    if field is not None:
        assert err.get("field") == field, body
    # A server error never leaks internals.
    for leak in ("sqlite", "SQLITE", "nlohmann", "std::", "exception", "/work/", ".cpp"):
        assert leak not in err["message"], err
    return err


VALID = {"edition": "en", "section": "politics", "headline": "Probe headline", "slug": "probe-article"}


def with_(**changes):
    body = dict(VALID)
    for k, v in changes.items():
        if v is DROP:
            body.pop(k, None)
        else:
            body[k] = v
    return body


DROP = object()


def test_the_valid_probe_body_would_be_accepted(server, editor_token):
    # Guards the cases below: each differs from this in one respect only.
    r = server.request("POST", "/api/v1/articles", token=editor_token,
                       json_body=with_(slug="probe-control", headline="Control probe"))
    assert r.status == 201, r


# --------------------------------------------------------------------------
# POST /api/v1/articles with bad bodies
# --------------------------------------------------------------------------

CREATE_CASES = [
    # id, raw body, expected status, field (None: any)
    ("malformed-json", b'{"edition": "en", "section": ', 400, None),
    ("trailing-garbage", json.dumps(VALID).encode() + b" xyz", 400, None),
    ("empty-body", b"", 400, None),
    ("json-array", b"[]", 400, None),
    ("json-string", b'"article"', 400, None),
    ("json-number", b"42", 400, None),
    ("json-null", b"null", 400, None),
    ("invalid-utf8", b'{"edition":"en","section":"politics","headline":"bad \xff\xfe"}', 400, None),
    ("unknown-field", json.dumps(with_(colour="red")).encode(), 400, "colour"),
    ("unknown-image-field", json.dumps(with_(image={"url": "/media/harbour.svg", "width": 10, "height": 10,
                                                    "exif": "x"})).encode(), 400, "image.exif"),
    ("headline-number", json.dumps(with_(headline=42)).encode(), 400, "headline"),
    ("headline-null", json.dumps(with_(headline=None)).encode(), 400, "headline"),
    ("edition-list", json.dumps(with_(edition=["en"])).encode(), 400, "edition"),
    ("tags-string", json.dumps(with_(tags="politics")).encode(), 400, "tags"),
    ("tags-numbers", json.dumps(with_(tags=[1, 2])).encode(), 400, "tags"),
    ("top-string", json.dumps(with_(top="yes")).encode(), 400, "top"),
    ("related-strings", json.dumps(with_(related=["1"])).encode(), 400, "related"),
    ("image-string", json.dumps(with_(image="/media/harbour.svg")).encode(), 400, "image"),
    ("image-width-float", json.dumps(with_(image={"url": "/media/harbour.svg", "width": 1.5, "height": 9})).encode(),
     400, "image.width"),
    ("published-at-garbage", json.dumps(with_(published_at="yesterday")).encode(), 400, "published_at"),
    ("published-at-feb-30", json.dumps(with_(published_at="2024-02-30T10:00:00Z")).encode(), 400, "published_at"),
    ("translation-of-string", json.dumps(with_(translation_of="1")).encode(), 400, "translation_of"),
    ("version-on-create", json.dumps(with_(version=1)).encode(), 400, "version"),
    ("missing-edition", json.dumps(with_(edition=DROP)).encode(), 400, "edition"),
    ("missing-section", json.dumps(with_(section=DROP)).encode(), 400, "section"),
    ("missing-headline", json.dumps(with_(headline=DROP)).encode(), 400, "headline"),
    ("empty-headline", json.dumps(with_(headline="   ")).encode(), 400, "headline"),
    ("control-char-headline", json.dumps(with_(headline="Bell\u0007 rings")).encode(), 400, "headline"),
    ("slug-spaces", json.dumps(with_(slug="Probe Article")).encode(), 400, "slug"),
    ("slug-upper", json.dumps(with_(slug="Probe-Article")).encode(), 400, "slug"),
    ("slug-umlaut", json.dumps(with_(slug="prüfung")).encode(), 400, "slug"),
    ("slug-double-hyphen", json.dumps(with_(slug="probe--article")).encode(), 400, "slug"),
    ("slug-leading-hyphen", json.dumps(with_(slug="-probe")).encode(), 400, "slug"),
    ("slug-traversal", json.dumps(with_(slug="../../etc/passwd")).encode(), 400, "slug"),
    ("slug-too-long", json.dumps(with_(slug="a" * 81)).encode(), 400, "slug"),
    ("slug-from-symbols-only", json.dumps(with_(slug=DROP, headline="!!! ???")).encode(), 400, "slug"),
    ("unknown-edition", json.dumps(with_(edition="fr")).encode(), 400, "edition"),
    ("unknown-section", json.dumps(with_(section="astrology")).encode(), 400, "section"),
    ("section-of-other-edition", json.dumps(with_(section="politik")).encode(), 400, "section"),
    ("headline-too-long", json.dumps(with_(headline="x" * 201)).encode(), 400, "headline"),
    ("teaser-too-long", json.dumps(with_(teaser="x" * 601)).encode(), 400, "teaser"),
    ("author-too-long", json.dumps(with_(author="x" * 121)).encode(), 400, "author"),
    ("body-too-long", json.dumps(with_(body="x" * 200_001)).encode(), 400, "body"),
    ("caption-too-long", json.dumps(with_(image={"url": "/media/harbour.svg", "caption": "c" * 401,
                                                 "width": 10, "height": 10})).encode(), 400, "image.caption"),
    ("too-many-tags", json.dumps(with_(tags=[f"tag-{i}" for i in range(21)])).encode(), 400, "tags"),
    ("tag-too-long", json.dumps(with_(tags=["t" * 41])).encode(), 400, "tags"),
    ("tag-not-slug", json.dumps(with_(tags=["Two Words"])).encode(), 400, "tags"),
    ("image-javascript-url", json.dumps(with_(image={"url": "javascript:alert(1)", "width": 10, "height": 10})).encode(),
     400, "image.url"),
    ("image-http-url", json.dumps(with_(image={"url": "http://example.com/a.jpg", "width": 10, "height": 10})).encode(),
     400, "image.url"),
    ("image-quote-url", json.dumps(with_(image={"url": 'https://e.com/a".jpg', "width": 10, "height": 10})).encode(),
     400, "image.url"),
    ("image-media-traversal", json.dumps(with_(image={"url": "/media/../depesche.db", "width": 10, "height": 10})).encode(),
     400, "image.url"),
    ("image-zero-size", json.dumps(with_(image={"url": "/media/harbour.svg", "width": 0, "height": 10})).encode(),
     400, None),
    ("related-missing", json.dumps(with_(related=[987654])).encode(), 400, "related"),
    ("related-other-edition", "RELATED_OTHER_EDITION", 400, "related"),
    ("translation-of-missing", json.dumps(with_(translation_of=987654)).encode(), 400, "translation_of"),
    ("duplicate-slug", json.dumps(with_(slug="target-article")).encode(), 409, "slug"),
]


@pytest.mark.parametrize("body,status,field", [c[1:] for c in CREATE_CASES], ids=[c[0] for c in CREATE_CASES])
def test_create_rejects(server, editor_token, unchanged, body, status, field):
    if body == "RELATED_OTHER_EDITION":
        german = server.get("/api/v1/articles?edition=de&limit=1").json()["items"][0]["id"]
        body = json.dumps(with_(related=[german])).encode()
    r = server.request("POST", "/api/v1/articles", body=body, token=editor_token,
                       headers={"Content-Type": "application/json"})
    assert_json_error(r, status, field)


def test_deeply_nested_json_is_rejected(server, editor_token, unchanged):
    depth = 100_000
    body = b'{"tags":' + b"[" * depth + b"]" * depth + b"}"
    assert len(body) < MIB
    r = server.request("POST", "/api/v1/articles", body=body, token=editor_token,
                       headers={"Content-Type": "application/json"})
    assert_json_error(r, 400)


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                   "application/xml"])
def test_create_with_wrong_content_type_is_415(server, editor_token, unchanged, ctype):
    headers = {} if ctype is None else {"Content-Type": ctype}
    r = server.request("POST", "/api/v1/articles", body=json.dumps(VALID), token=editor_token, headers=headers)
    assert_json_error(r, 415)


def test_patch_with_wrong_content_type_is_415(server, editor_token, target, unchanged):
    r = server.request("PATCH", f"/api/v1/articles/{target['id']}", body=json.dumps({"headline": "No"}),
                       token=editor_token, headers={"Content-Type": "text/plain"})
    assert_json_error(r, 415)


# --------------------------------------------------------------------------
# PATCH /api/v1/articles/{id} with bad bodies
# --------------------------------------------------------------------------

PATCH_CASES = [
    ("malformed-json", b'{"headline": ', 400, None),
    ("json-array", b'[{"headline": "x"}]', 400, None),
    ("unknown-field", b'{"headline": "Changed", "colour": "red"}', 400, "colour"),
    ("wrong-type", b'{"headline": ["Changed"]}', 400, "headline"),
    ("empty-headline", b'{"headline": ""}', 400, "headline"),
    ("move-edition", b'{"edition": "de"}', 400, "edition"),
    ("bad-slug", b'{"slug": "Not A Slug"}', 400, "slug"),
    ("unknown-section", b'{"section": "astrology"}', 400, "section"),
    ("headline-too-long", json.dumps({"headline": "y" * 201}).encode(), 400, "headline"),
    ("valid-then-invalid", b'{"headline": "Changed headline", "tags": ["Bad Tag"]}', 400, "tags"),
    ("related-to-itself", None, 400, "related"),  # filled in with the target's id
    ("stale-version", b'{"headline": "Changed", "version": 1}', 409, "version"),
    ("version-string", b'{"headline": "Changed", "version": "3"}', 400, "version"),
    ("slug-taken", None, 409, "slug"),  # another article's slug
]


@pytest.mark.parametrize("body,status,field", [c[1:] for c in PATCH_CASES], ids=[c[0] for c in PATCH_CASES])
def test_patch_rejects(server, editor_token, target, unchanged, body, status, field):
    if body is None and field == "related":
        body = json.dumps({"related": [target["id"]]}).encode()
    elif body is None and field == "slug":
        items = server.get("/api/v1/articles?edition=en&limit=5").json()["items"]
        other = next(a for a in items if a["id"] != target["id"])
        body = json.dumps({"slug": other["slug"]}).encode()
    r = server.request("PATCH", f"/api/v1/articles/{target['id']}", body=body, token=editor_token,
                       headers={"Content-Type": "application/json"})
    assert_json_error(r, status, field)
    now = server.get(f"/api/v1/articles/{target['id']}", token=editor_token).json()
    assert now == target


@pytest.mark.parametrize("path", ["/api/v1/articles/0", "/api/v1/articles/-3", "/api/v1/articles/abc",
                                  "/api/v1/articles/99999999999999999999999", "/api/v1/articles/1.5"])
def test_patch_bad_ids_are_404(server, editor_token, unchanged, path):
    r = server.request("PATCH", path, json_body={"headline": "x"}, token=editor_token)
    assert_json_error(r, 404)


# --------------------------------------------------------------------------
# Body size
# --------------------------------------------------------------------------


def post_head(token, length, extra=""):
    return (f"POST /api/v1/articles HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {length}\r\n{extra}\r\n").encode()


def test_body_over_one_mib_is_413(server, editor_token, unchanged):
    # Only the head is sent: the server must answer from Content-Length alone
    # (and a client never has to upload a body that will be refused).
    data = server.raw(post_head(editor_token, MIB + 1))
    r = parse_raw_response(data)
    assert r.status == 413, data[:300]


def test_body_over_limit_with_expect_gets_no_100_continue(server, editor_token, unchanged):
    data = server.raw(post_head(editor_token, 5 * MIB, "Expect: 100-continue\r\n"))
    assert not data.startswith(b"HTTP/1.1 100"), "the server invited a body it will refuse"
    assert parse_raw_response(data).status == 413


def test_body_of_exactly_one_mib_passes_the_http_limit(server, editor_token, unchanged):
    # 1 MiB is allowed by the HTTP layer; the article rules then refuse the
    # over-long body with a JSON 400.
    prefix = json.dumps(with_(body=""))[:-len('""}')] + '"'
    body = (prefix + "x" * (MIB - len(prefix) - 2) + '"}').encode()
    assert len(body) == MIB
    r = server.request("POST", "/api/v1/articles", body=body, token=editor_token,
                       headers={"Content-Type": "application/json"})
    assert_json_error(r, 400, "body")


@pytest.mark.parametrize("case", ["413", "405", "501", "400-escape"])
def test_http_layer_errors_under_api_are_json(server, editor_token, unchanged, case):
    if case == "413":
        data = server.raw(post_head(editor_token, MIB + 1))
        expected = 413
    elif case == "405":
        data = server.raw(b"DELETE /api/v1/articles/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        expected = 405
    elif case == "501":
        data = server.raw(b"BREW /api/v1/articles HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        expected = 501
    else:
        data = server.raw(b"GET /api/v1/articles/%zz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        expected = 400
    assert_json_error(parse_raw_response(data), expected)


# --------------------------------------------------------------------------
# Malformed HTTP over a raw socket
# --------------------------------------------------------------------------

RAW_400 = [
    ("garbage", b"GARBAGE\r\n\r\n"),
    ("binary", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n"),  # a TLS hello
    ("bad-version", b"GET / HTTP/9.9\r\nHost: t\r\n\r\n"),
    ("no-version", b"GET /healthz\r\n\r\n"),
    ("header-without-colon", b"GET /healthz HTTP/1.1\r\nHost: t\r\nBadHeader\r\n\r\n"),
    ("space-before-colon", b"GET /healthz HTTP/1.1\r\nHost : t\r\n\r\n"),
    ("nul-in-header", b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n"),
    ("bad-content-length", b"POST /api/v1/articles HTTP/1.1\r\nHost: t\r\nContent-Length: ten\r\n\r\n"),
    ("negative-content-length", b"POST /api/v1/articles HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n"),
    ("two-content-lengths", b"POST /api/v1/articles HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                            b"Content-Length: 6\r\n\r\nabcdef"),
    ("length-and-chunked", b"POST /api/v1/articles HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("bad-chunk", b"POST /api/v1/articles HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    ("bad-escape", b"GET /en/%zz HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("truncated-escape", b"GET /en/articles/abc%4 HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("escape-at-end", b"GET /en/% HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("encoded-nul", b"GET /en/articles/a%00b HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("target-not-a-path", b"GET * HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("leading-blank-lines-then-garbage", b"\r\n\r\nGE T / HTTP/1.1\r\n\r\n"),
]


@pytest.mark.parametrize("data", [c[1] for c in RAW_400], ids=[c[0] for c in RAW_400])
def test_malformed_http_is_400(server, unchanged, data):
    resp = server.raw(data + b"")
    r = parse_raw_response(resp)
    assert r.status == 400, resp[:300]
    assert (r.header("connection") or "").lower() == "close"
    assert int(r.header("content-length")) == len(r.body)


def test_bad_percent_escape_in_path_is_400_via_client(server):
    conn = server.connection()
    try:
        conn.putrequest("GET", "/de/articles/%G1", skip_accept_encoding=True)
        conn.endheaders()
        r = conn.getresponse()
        r.read()
        assert r.status == 400
    finally:
        conn.close()


@pytest.mark.parametrize("size", [17 * 1024, 40 * 1024])
def test_oversized_header_is_431(server, unchanged, size):
    data = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * size + b"\r\n\r\n"
    r = parse_raw_response(server.raw(data))
    assert r.status == 431


def test_many_headers_over_the_limit_is_431(server, unchanged):
    lines = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(200))
    r = parse_raw_response(server.raw(b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + lines + b"\r\n"))
    assert r.status == 431


def test_overlong_url_is_rejected(server, unchanged):
    r = parse_raw_response(server.raw(b"GET /en/" + b"a" * 20000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"))
    assert r.status in (414, 431)


@pytest.mark.parametrize("method", ["BREW", "PROPFIND", "TRACE", "CONNECT", "FOO-BAR"])
def test_unknown_method(server, unchanged, method):
    data = server.raw(f"{method} /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    r = parse_raw_response(data)
    assert r.status in (405, 501), data[:300]
    if r.status == 405:
        assert r.header("allow")


@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/api/v1/articles/1", {"GET", "PATCH"}),
    ("PUT", "/en/", {"GET"}),
    ("POST", "/healthz", {"GET"}),
    ("OPTIONS", "/api/v1/articles", {"GET", "POST"}),
])
def test_known_method_on_wrong_route_is_405_with_allow(server, unchanged, method, path, allow):
    data = server.raw(f"{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    r = parse_raw_response(data)
    assert r.status == 405
    allowed = {m.strip() for m in (r.header("allow") or "").split(",")}
    assert allow <= allowed, r.header("allow")
    assert method not in allowed


def test_absolute_form_target_is_accepted(server):
    host = f"{server.address[0]}:{server.address[1]}"
    data = server.raw(f"GET http://{host}/healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    assert parse_raw_response(data).status == 200


def test_keep_alive_survives_api_errors(server, editor_token, unchanged):
    # A 4xx from a handler does not end the connection.
    reqs = (
        b"GET /api/v1/articles HTTP/1.1\r\nHost: t\r\n\r\n"
        + b"POST /api/v1/articles HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
        + b"Authorization: Bearer " + editor_token.encode() + b"\r\n\r\n[]"
        + b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    resps = split_raw_responses(server.raw(reqs))
    assert [r.status for r in resps] == [400, 400, 200]


def test_half_sent_request_is_closed_and_logged_as_408(make_server):
    # Like nginx, a request not complete within server.read_timeout_ms ends
    # the connection without a response (the stream's timer closes the
    # socket); the access log records it as a 408 (docs/decisions.md).
    srv = make_server({"DEPESCHE_SERVER_READ_TIMEOUT_MS": "300"}, demo=False)

    with socket.create_connection(srv.address, timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    assert data == b""
    # The server closed the slow connection and keeps serving others.
    assert srv.get("/healthz").status == 200
    srv.wait_for_log(lambda rec: rec.get("msg") == "access" and rec.get("status") == 408, timeout=10)


def test_server_still_serves_after_everything(server):
    server.assert_alive()
    assert server.get("/en/").status == 200
    assert server.get("/api/v1/articles?edition=ru&limit=1").status == 200
