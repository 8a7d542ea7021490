"""Idempotency-Key on the API's POSTs: a retry after a lost answer gets the
first answer and creates nothing twice; the key belongs to its caller; a
different request under a used key, or a malformed key, is refused and
stores nothing; answers are forgotten after api.idempotency_ttl_hours.

Stored state is read from outside (`depesche store dump`)."""

from __future__ import annotations

import threading

import stored
from conftest import create_token


def entries_with_body(srv, body: str) -> list[dict]:
    return [e for e in stored.rows(srv, "ticker_entries") if e["body"] == body]


def post(srv, token, body, key=None, ticker="de"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return srv.request("POST", f"/api/v1/tickers/{ticker}/entries", token=token,
                       json_body={"body": body}, headers=headers)


def test_a_retry_with_the_same_key_gets_the_first_answer_and_creates_nothing(make_server):
    srv = make_server()
    token = create_token(srv.data_dir, "wire", "editor")
    first = post(srv, token, "Retry-safe entry", key="post-1")
    assert first.status == 201, first
    assert first.header("idempotent-replayed") is None
    again = post(srv, token, "Retry-safe entry", key="post-1")
    assert again.status == 201, again
    assert again.header("idempotent-replayed") == "true"
    assert again.json() == first.json(), "the very same answer, the same entry id"
    assert again.header("location") == first.header("location")
    assert len(entries_with_body(srv, "Retry-safe entry")) == 1
    # Without a key, a repeat is a new entry, as before.
    assert post(srv, token, "Retry-safe entry").status == 201
    assert len(entries_with_body(srv, "Retry-safe entry")) == 2


def test_a_used_key_with_another_request_is_refused_and_stores_nothing(make_server):
    srv = make_server()
    token = create_token(srv.data_dir, "wire", "editor")
    assert post(srv, token, "The first request", key="k").status == 201
    other = post(srv, token, "A different body", key="k")
    assert other.status == 422, other
    assert other.json()["error"]["field"] == "Idempotency-Key"
    assert entries_with_body(srv, "A different body") == []
    # Another path under the same key is another request too.
    blog = srv.request("POST", "/api/v1/tickers", token=token, headers={"Idempotency-Key": "k"},
                       json_body={"slug": "hafen", "edition": "de", "title": "Hafen"})
    assert blog.status == 422, blog
    assert [b for b in stored.rows(srv, "live_blogs") if b["slug"] == "hafen"] == []


def test_keys_belong_to_their_caller(make_server):
    srv = make_server()
    alice = create_token(srv.data_dir, "alice", "editor")
    bob = create_token(srv.data_dir, "bob", "editor")
    a = post(srv, alice, "Same key, two callers", key="shared")
    b = post(srv, bob, "Same key, two callers", key="shared")
    assert a.status == b.status == 201
    assert b.header("idempotent-replayed") is None, "bob never sees alice's answer"
    assert a.json()["id"] != b.json()["id"]
    assert len(entries_with_body(srv, "Same key, two callers")) == 2


def test_malformed_keys_are_refused_before_anything_is_stored(make_server):
    srv = make_server()
    token = create_token(srv.data_dir, "wire", "editor")
    for key in ["x" * 256, "with space", "tab\tkey", "ünïcode"]:
        r = srv.request("POST", "/api/v1/tickers/de/entries", token=token,
                        headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")},
                        json_body={"body": "Should not be stored"})
        assert r.status == 400, (key, r)
        assert r.json()["error"]["field"] == "Idempotency-Key"
    assert entries_with_body(srv, "Should not be stored") == []
    assert stored.rows(srv, "idempotency_keys") == []


def test_refused_requests_are_remembered_but_server_faults_are_not(make_server):
    srv = make_server()
    token = create_token(srv.data_dir, "wire", "editor")
    bad = post(srv, token, "", key="empty-body")
    assert bad.status == 400, bad
    again = post(srv, token, "", key="empty-body")
    assert again.status == 400 and again.header("idempotent-replayed") == "true"
    keys = stored.rows(srv, "idempotency_keys")
    assert [(k["key"], k["status"]) for k in keys] == [("empty-body", 400)]
    assert keys[0]["scope"].startswith("token:")


def test_concurrent_retries_create_one_entry(make_server):
    srv = make_server()
    token = create_token(srv.data_dir, "wire", "editor")
    answers = []

    def attempt():
        answers.append(post(srv, token, "Sent eight times at once", key="burst"))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(entries_with_body(srv, "Sent eight times at once")) == 1
    ok = [a for a in answers if a.status == 201]
    assert ok, answers
    assert {a.json()["id"] for a in ok} == {ok[0].json()["id"]}
    assert all(a.status in (201, 409) for a in answers), answers


def test_answers_are_forgotten_after_the_ttl(make_server):
    srv = make_server({"DEPESCHE_API_IDEMPOTENCY_TTL_HOURS": "1"}, test_clock=True)
    token = create_token(srv.data_dir, "wire", "editor")
    first = post(srv, token, "Kept for an hour", key="hourly")
    assert first.status == 201
    srv.advance_clock(3600 + 60)
    later = post(srv, token, "Kept for an hour", key="hourly")
    assert later.status == 201 and later.header("idempotent-replayed") is None
    assert later.json()["id"] != first.json()["id"]
    assert len(entries_with_body(srv, "Kept for an hour")) == 2
    assert len(stored.rows(srv, "idempotency_keys")) == 1, "the expired answer is gone"


def test_anonymous_posts_ignore_the_key(make_server):
    # Registration answers one browser; its answer must never be replayed to
    # another, so the header does nothing there.
    srv = make_server()
    r = srv.request("POST", "/api/v1/auth/register", headers={"Idempotency-Key": "anon"},
                    json_body={"email": "reader@example.org", "password": "correct horse battery",
                               "display_name": "Reader"})
    assert r.status < 500, r
    assert stored.rows(srv, "idempotency_keys") == []
