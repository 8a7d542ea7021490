"""The live hub at /live (WebSocket): fanout to many readers, consecutive
per-topic seq numbers from the store's event log (surviving restarts), resume
with `since` (exactly what was missed, from memory or from the log, or
resync), closing slow readers while the others keep up, the handshake's
checks, and protocol abuse (each answered with the right close code, while
the server and every other client carry on).

Everything is observed from outside: frames on the wire, the JSON API and
/metrics. Waits have deadlines; "nothing more arrives" is shown with a
ping/pong barrier (the hub handles a connection's frames in order, so what
a subscribe caused is on the wire before the pong), never with sleeps.
Admission of a subscribe and a replay from the event log run off the hub's
loop, so the tests await `subscribed` and the replayed events themselves
(with deadlines) before a barrier."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import threading
import time

import pytest

from conftest import create_token, start_server
from ws_client import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    HandshakeRejected,
    WSClient,
    WSTimeout,
    encode_frame,
    handshake_request,
    raw_upgrade,
)

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
ENTRY_FIELDS = {"id", "ticker", "title", "body", "body_html", "image", "article_id", "pinned", "breaking",
                "created_at", "updated_at"}

MAX_MESSAGE_BYTES = 512
MAX_SUBSCRIPTIONS = 3
MAX_MESSAGES_PER_SECOND = 10
MAX_QUEUE_BYTES = 8192

LIVE_ENV = {
    "DEPESCHE_LIVE_MAX_QUEUE_BYTES": str(MAX_QUEUE_BYTES),
    "DEPESCHE_LIVE_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES),
    "DEPESCHE_LIVE_MAX_SUBSCRIPTIONS": str(MAX_SUBSCRIPTIONS),
    "DEPESCHE_LIVE_MAX_MESSAGES_PER_SECOND": str(MAX_MESSAGES_PER_SECOND),
    # The sentinel below stays quiet for the whole module; no pings for it.
    "DEPESCHE_LIVE_PING_INTERVAL_MS": "600000",
    # A replay larger than the kernel's socket buffers must still be history.
    "DEPESCHE_LIVE_HISTORY_BYTES": str(64 * 1024 * 1024),
}


# --------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(demo_dir):
    """One server for the module, with small live limits so that each can be
    reached quickly."""
    srv = start_server(demo_dir, LIVE_ENV)
    yield srv
    srv.assert_clean_exit()


@pytest.fixture(scope="module")
def token(live) -> str:
    return create_token(live.data_dir, "live-editor", "editor")


@pytest.fixture(scope="module")
def blogs(live, token) -> dict:
    """Live blogs, one per test that needs a topic of its own (a topic with
    subscribers nobody reads would turn them into slow readers)."""
    out = {}
    for name in ("slow", "race", "sentinel", "resume", "presence", "big", "replay"):
        slug = f"live-{name}-topic"
        r = live.request("POST", "/api/v1/tickers", token=token,
                         json_body={"slug": slug, "edition": "de", "title": f"Liveblog {name}"})
        assert r.status == 201, r
        out[name] = slug
    return out


@pytest.fixture(scope="module", autouse=True)
def sentinel(live, blogs):
    """A client subscribed for the whole module; the last test checks that it
    still gets events after everything the other tests did."""
    ws = WSClient.connect(live.address)
    ws.subscribe("ticker:" + blogs["sentinel"])
    sub = ws.wait_json(lambda m: m["type"] == "subscribed")
    ws.start_seq = sub["seq"]
    yield ws
    ws.abort()


def post_entry(srv, token, ticker: str, body: str = "Eintrag.", **fields) -> dict:
    r = srv.request("POST", f"/api/v1/tickers/{ticker}/entries", token=token,
                    json_body={"body": body, **fields})
    assert r.status == 201, r
    return r.json()


def metric(srv, name: str) -> float:
    r = srv.get("/metrics")
    assert r.status == 200, r
    m = re.search(rf"^{re.escape(name)} (\S+)$", r.text, flags=re.M)
    assert m, f"{name} not in /metrics"
    return float(m.group(1))


def wait_until(pred, timeout: float, what: str, interval: float = 0.05):
    """Polls `pred` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def tcp_wmem_max() -> int:
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            return int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 * 1024 * 1024


def is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def subscribe(ws: WSClient, topic: str, since: int | None = None, epoch: int | None = None) -> dict:
    """Subscribes and returns the `subscribed` answer (admission is
    asynchronous: it is awaited with the client's deadline)."""
    ws.subscribe(topic, since, epoch)
    sub = subscribe_reply(ws)
    assert sub == {"type": "subscribed", "topic": topic, "seq": sub.get("seq"), "epoch": sub.get("epoch")}, sub
    assert is_count(sub["seq"]) and sub["seq"] >= 0, sub
    assert is_count(sub["epoch"]) and sub["epoch"] > 0, sub
    return sub


def subscribe_reply(ws: WSClient) -> dict:
    return ws.wait_json(lambda m: m["type"] != "presence")


def unknown_topic(topic: str) -> dict:
    """The error a subscribe to a topic that does not exist gets."""
    err = {"type": "error", "topic": topic, "code": "not_found", "message": "unknown topic"}
    if not topic:
        del err["topic"]
    return err


def next_event(ws: WSClient, timeout: float = 10.0) -> dict:
    m = ws.recv_json(timeout)
    assert m.get("type") == "event", m
    return m


def check_event(ev: dict, topic: str, seq: int, name: str, data: dict | None = None) -> None:
    assert set(ev) == {"type", "topic", "seq", "event", "data"}, ev
    assert ev["type"] == "event" and ev["topic"] == topic, ev
    assert ev["seq"] == seq, f"expected seq {seq}, got {ev['seq']}: {ev}"
    assert ev["event"] == name, ev
    if data is not None:
        assert ev["data"] == data, ev


def assert_closed_with(ws: WSClient, code: int, timeout: float = 10.0) -> None:
    c = ws.wait_close(timeout)
    assert c.code == code, f"expected close {code}, got {c}"
    assert ws.eof, "the server did not end the TCP connection after its close frame"
    ws.abort()


class Collector(threading.Thread):
    """Reads a client's events in the background until told the last seq."""

    def __init__(self, ws: WSClient, timeout: float = 30.0):
        super().__init__(daemon=True)
        self.ws = ws
        self.events: list[dict] = []
        self.error: BaseException | None = None
        self.target: int | None = None
        self.deadline = time.monotonic() + timeout

    def run(self) -> None:
        try:
            while time.monotonic() < self.deadline:
                if self.target is not None and self.events and self.events[-1]["seq"] >= self.target:
                    return
                try:
                    m = self.ws.recv_json(0.25)
                except WSTimeout:
                    continue
                if m.get("type") == "event":
                    self.events.append(m)
            self.error = AssertionError(f"collector timed out with {len(self.events)} events")
        except BaseException as e:  # noqa: BLE001 (reported by the test)
            self.error = e

    def finish(self, target: int) -> list[dict]:
        self.target = target
        self.join(35)
        assert not self.is_alive(), "collector still running"
        if self.error:
            raise self.error
        return self.events


# --------------------------------------------------------------------------
# Fanout and event shape
# --------------------------------------------------------------------------


def test_fanout_to_fifty_clients_with_consecutive_seq(live, token):
    topic = "ticker:de"
    clients = [WSClient.connect(live.address) for _ in range(50)]
    try:
        for ws in clients:
            ws.subscribe(topic)
        subs = [subscribe_reply(ws) for ws in clients]
        base, epoch = subs[0]["seq"], subs[0]["epoch"]
        assert is_count(base) and base >= 0 and is_count(epoch) and epoch > 0, subs[0]
        # Every client is told the same seq and the same epoch.
        assert all(s == {"type": "subscribed", "topic": topic, "seq": base, "epoch": epoch} for s in subs), subs
        assert metric(live, "depesche_live_subscriptions") >= 50
        events_before = metric(live, "depesche_live_events_total")
        deliveries_before = metric(live, "depesche_live_deliveries_total")

        article = live.get("/api/v1/articles?edition=de&limit=1").json()["items"][0]
        posted = [
            post_entry(live, token, "de", "Erster **Eintrag**.", title="Eins"),
            post_entry(live, token, "de", "Zweiter Eintrag.", pinned=True, breaking=True,
                       article_id=article["id"]),
            post_entry(live, token, "de", "Dritter Eintrag mit [Link](https://example.org/x).",
                       image={"url": "https://example.org/bild.jpg", "caption": "Bild", "credit": "dpa",
                              "width": 640, "height": 480}),
        ]
        for ws in clients:
            for i, entry in enumerate(posted):
                check_event(next_event(ws), topic, base + 1 + i, "ticker.entry", entry)

        # Each event was framed once and written to each of the 50.
        assert metric(live, "depesche_live_events_total") == events_before + 3
        wait_until(lambda: metric(live, "depesche_live_deliveries_total") >= deliveries_before + 150, 5,
                   "the deliveries counter")
        assert metric(live, "depesche_live_deliveries_total") == deliveries_before + 150

        # The data is the entry as the API shows it.
        data = posted[0]
        assert ENTRY_FIELDS <= set(data), data
        assert data["ticker"] == "de" and data["title"] == "Eins" and data["body"] == "Erster **Eintrag**."
        assert "<strong>Eintrag</strong>" in data["body_html"]
        assert data["pinned"] is False and data["breaking"] is False
        assert RFC3339.match(data["created_at"]) and RFC3339.match(data["updated_at"]), data
        assert posted[1]["pinned"] is True and posted[1]["breaking"] is True
        assert posted[1]["article_id"] == article["id"]
        assert posted[2]["image"]["url"] == "https://example.org/bild.jpg"
        assert live.get(f"/api/v1/tickers/de/entries/{data['id']}").json() == data

        # A newcomer's "subscribed" carries the latest seq.
        with WSClient.connect(live.address) as late:
            assert subscribe(late, topic) == {"type": "subscribed", "topic": topic, "seq": base + 3, "epoch": epoch}
            assert late.barrier() == []

        # Edits and deletes arrive as their own events, in the same sequence.
        r = live.request("PATCH", f"/api/v1/tickers/de/entries/{posted[0]['id']}", token=token,
                         json_body={"title": "Eins (korrigiert)"})
        assert r.status == 200, r
        edited = r.json()
        assert edited["title"] == "Eins (korrigiert)"
        r = live.request("DELETE", f"/api/v1/tickers/de/entries/{posted[1]['id']}", token=token)
        assert r.status == 204, r
        for ws in clients:
            check_event(next_event(ws), topic, base + 4, "ticker.entry.updated", edited)
            check_event(next_event(ws), topic, base + 5, "ticker.entry.deleted",
                        {"id": posted[1]["id"], "ticker": "de"})
        for ws in clients[:5]:
            assert ws.barrier() == []
    finally:
        for ws in clients:
            ws.abort()


def test_fanout_and_resume_across_several_event_loops(make_server):
    """With several hub loops, connections are spread over them; each still
    sees every event once, in seq order, live or replayed."""
    srv = make_server({"DEPESCHE_LIVE_LOOPS": "3"})
    tok = create_token(srv.data_dir, "loops-editor", "editor")
    clients = [WSClient.connect(srv.address) for _ in range(9)]
    try:
        base = [subscribe(ws, "ticker:en")["seq"] for ws in clients][0]
        posted = [post_entry(srv, tok, "en", f"Entry {i}.") for i in range(4)]
        for ws in clients:
            for i, e in enumerate(posted):
                check_event(next_event(ws), "ticker:en", base + 1 + i, "ticker.entry", e)
        with WSClient.connect(srv.address) as late:
            assert subscribe(late, "ticker:en", since=base + 1)["seq"] == base + 4
            for i, e in enumerate(posted[1:]):
                check_event(next_event(late), "ticker:en", base + 2 + i, "ticker.entry", e)
            assert late.barrier() == []
    finally:
        for ws in clients:
            ws.abort()


def replies_until_pong(ws: WSClient, payload: bytes, want: int, timeout: float = 10.0) -> list:
    """Reads frames until the pong carrying `payload` and `want` JSON replies
    (presence excluded) have arrived, whatever their order; returns them in
    arrival order, the pong as the string "pong"."""
    deadline = time.monotonic() + timeout
    out: list = []
    while "pong" not in out or len(out) < want + 1:
        remaining = deadline - time.monotonic()
        try:
            f = ws.recv_frame(max(0.0, remaining))
        except WSTimeout:
            raise AssertionError(f"timed out; got so far: {out!r}") from None
        if f.opcode == OP_PONG and f.payload == payload:
            out.append("pong")
        elif f.opcode == OP_TEXT:
            m = json.loads(f.payload)
            if m.get("type") != "presence":
                out.append(m)
        else:
            raise AssertionError(f"unexpected frame {f}; got so far: {out!r}")
    return out


def test_subscribe_pipelined_with_the_handshake(live):
    """Bytes sent right behind the upgrade request belong to the WebSocket:
    both the subscribe and the ping in them are answered."""
    frame = encode_frame(OP_TEXT, json.dumps({"type": "subscribe", "topic": "ticker:en"}).encode())
    ping = encode_frame(OP_PING, b"early")
    with WSClient.connect(live.address, send_after=frame + ping) as ws:
        got = replies_until_pong(ws, b"early", want=1)
        sub = next(m for m in got if m != "pong")
        assert sub["type"] == "subscribed" and sub["topic"] == "ticker:en", got
        assert is_count(sub["seq"]) and is_count(sub["epoch"]) and sub["epoch"] > 0, got
        assert len(got) == 2, got  # (their order: the next test)
        assert ws.barrier() == []


@pytest.mark.parametrize("pipelined", [False, True])
def test_pong_comes_after_the_answers_to_earlier_messages(live, pipelined):
    """The hub handles a connection's frames in order, so what a subscribe
    caused is on the wire before the pong to a ping sent after it. Every
    barrier() in this module (the proof that nothing more arrives) rests on
    this, subscribe admission being asynchronous or not."""
    msgs = [encode_frame(OP_TEXT, json.dumps({"type": "subscribe", "topic": t}).encode())
            for t in ("ticker:en", "ticker:nope")]
    ping = encode_frame(OP_PING, b"after")
    data = b"".join(msgs) + ping
    with WSClient.connect(live.address, send_after=data if pipelined else b"") as ws:
        if not pipelined:
            ws.send_raw(data)
        got = replies_until_pong(ws, b"after", want=2)
        assert got[-1] == "pong", f"the pong overtook the answers to the messages sent before the ping: {got}"
        sub = next((m for m in got if m.get("type") == "subscribed"), None)
        assert sub is not None and sub["topic"] == "ticker:en", got
        assert unknown_topic("ticker:nope") in got, got
        assert len(got) == 3, got


def test_unsubscribe_stops_events(live, token):
    with WSClient.connect(live.address) as ws, WSClient.connect(live.address) as other:
        base = subscribe(ws, "ticker:en")["seq"]
        subscribe(other, "ticker:en")
        ws.unsubscribe("ticker:en")
        assert ws.barrier() == []
        e = post_entry(live, token, "en", "After the unsubscribe.")
        check_event(next_event(other), "ticker:en", base + 1, "ticker.entry", e)
        assert ws.barrier() == []


def test_large_event_uses_64_bit_frame_length(live, token, blogs):
    """An entry at the body limit in Cyrillic makes an event over 64 KiB."""
    slug = blogs["big"]
    with WSClient.connect(live.address) as ws:
        base = subscribe(ws, "ticker:" + slug)["seq"]
        body = ("Длинный текст о выборах. " * 800)[:20_000]
        e = post_entry(live, token, slug, body)
        assert e["body"] == body.strip()
        ws.auto_pong = True
        frame = ws.recv_frame()
        while json.loads(frame.payload)["type"] == "presence":
            frame = ws.recv_frame()
        assert len(frame.payload) > 0xFFFF
        check_event(json.loads(frame.payload), "ticker:" + slug, base + 1, "ticker.entry", e)


def test_presence_counts_subscribers(live, blogs):
    topic = "ticker:" + blogs["presence"]
    with WSClient.connect(live.address) as a:
        subscribe(a, topic)
        with WSClient.connect(live.address) as b:
            subscribe(b, topic)
            p = a.wait_json(lambda m: m["type"] == "presence" and m.get("count") == 2, timeout=10,
                            skip_presence=False)
            assert p == {"type": "presence", "topic": topic, "count": 2}
            b.close()
        p = a.wait_json(lambda m: m["type"] == "presence" and m.get("count") == 1, timeout=10,
                        skip_presence=False)
        assert p == {"type": "presence", "topic": topic, "count": 1}


# --------------------------------------------------------------------------
# Resume with since
# --------------------------------------------------------------------------


def test_resume_gets_exactly_the_missed_events(live, token, blogs):
    slug = blogs["resume"]
    topic = "ticker:" + slug
    a = WSClient.connect(live.address)
    base = subscribe(a, topic)["seq"]
    seen = [post_entry(live, token, slug, f"Gesehen {i}.") for i in range(2)]
    got = [next_event(a) for _ in seen]
    for i, (ev, e) in enumerate(zip(got, seen)):
        check_event(ev, topic, base + 1 + i, "ticker.entry", e)
    last = got[-1]["seq"]
    a.abort()  # the reader goes away (a network drop: no closing handshake)

    missed = [post_entry(live, token, slug, "Verpasst 1."), post_entry(live, token, slug, "Verpasst 2.")]
    r = live.request("PATCH", f"/api/v1/tickers/{slug}/entries/{seen[0]['id']}", token=token,
                     json_body={"body": "Gesehen 0, korrigiert."})
    assert r.status == 200, r
    missed.append(r.json())
    missed.append(post_entry(live, token, slug, "Verpasst 3."))

    with WSClient.connect(live.address) as b:
        assert subscribe(b, topic, since=last)["seq"] == last + 4
        names = ["ticker.entry", "ticker.entry", "ticker.entry.updated", "ticker.entry"]
        for i, (e, name) in enumerate(zip(missed, names)):
            check_event(next_event(b), topic, last + 1 + i, name, e)
        assert b.barrier() == [], "more than the missed events were replayed"
        # Live again: the next event comes exactly once.
        e = post_entry(live, token, slug, "Wieder live.")
        check_event(next_event(b), topic, last + 5, "ticker.entry", e)
        assert b.barrier() == []


def test_since_equal_to_current_seq_replays_nothing(live, token):
    with WSClient.connect(live.address) as ws:
        current = subscribe(ws, "ticker:ru")["seq"]
    with WSClient.connect(live.address) as ws:
        assert subscribe(ws, "ticker:ru", since=current)["seq"] == current
        assert ws.barrier() == []
        e = post_entry(live, token, "ru", "Новая запись.")
        check_event(next_event(ws), "ticker:ru", current + 1, "ticker.entry", e)
        assert ws.barrier() == []


@pytest.mark.parametrize("ahead", [1, 10**6, 2**64 - 1])
def test_since_beyond_any_issued_seq_is_resync(live, token, ahead):
    with WSClient.connect(live.address) as ws:
        sub = subscribe(ws, "ticker:ru")
        current, epoch = sub["seq"], sub["epoch"]
        ws.subscribe("ticker:ru", since=min(current + ahead, 2**64 - 1))
        assert subscribe_reply(ws) == {"type": "subscribed", "topic": "ticker:ru", "seq": current, "epoch": epoch}
        assert ws.barrier() == [{"type": "resync", "topic": "ticker:ru"}]
        # The subscription is live after a resync.
        e = post_entry(live, token, "ru", "После resync.")
        check_event(next_event(ws), "ticker:ru", current + 1, "ticker.entry", e)


def test_resume_while_entries_are_being_posted(live, token, blogs):
    """Subscribing with since in the middle of a burst: every seq after since
    arrives exactly once and in order, whether replayed or live."""
    slug = blogs["race"]
    topic = "ticker:" + slug
    with WSClient.connect(live.address) as probe:
        base = subscribe(probe, topic)["seq"]
    total = 16
    posted_some = threading.Event()
    errors = []

    def poster():
        try:
            for i in range(total):
                post_entry(live, token, slug, f"Burst {i}.")
                if i == 3:
                    posted_some.set()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
            posted_some.set()

    t = threading.Thread(target=poster, daemon=True)
    t.start()
    try:
        assert posted_some.wait(20)
        with WSClient.connect(live.address) as ws:
            since = base + 2
            subscribe(ws, topic, since=since)
            seqs = []
            while not seqs or seqs[-1] < base + total:
                ev = next_event(ws)
                assert ev["topic"] == topic and ev["event"] == "ticker.entry"
                seqs.append(ev["seq"])
            assert seqs == list(range(since + 1, base + total + 1))
            assert ws.barrier() == []
    finally:
        t.join(30)
    assert not errors, errors


def replayed(ws: WSClient, topic: str, since: int, last: int) -> list[dict]:
    """The events a resubscribe with `since` replays, awaited with deadlines
    (a replay from the log follows `subscribed` a little later); checks that
    they are exactly since+1 .. last, in order, and that nothing follows."""
    got = [next_event(ws) for _ in range(last - since)]
    assert [e["seq"] for e in got] == list(range(since + 1, last + 1)), got
    assert all(e["topic"] == topic for e in got), got
    assert ws.barrier() == [], "more than the missed events were replayed"
    return got


def test_since_older_than_history_is_replayed_from_the_log(make_server):
    """Memory holds a topic's last 3 events; a reader from further back gets
    the rest from the event log: exactly what it missed, in order, once."""
    srv = make_server({"DEPESCHE_LIVE_HISTORY": "3"})
    tok = create_token(srv.data_dir, "history-editor", "editor")
    # A reader that stays keeps the topic (and its history) in memory.
    with WSClient.connect(srv.address) as keeper:
        sub = subscribe(keeper, "ticker:de")
        base, epoch = sub["seq"], sub["epoch"]
        assert base > 0, "the demo's entries are in the event log"
        entries = [post_entry(srv, tok, "de", f"Eintrag {i}.") for i in range(5)]
        for i, e in enumerate(entries):
            check_event(next_event(keeper), "ticker:de", base + 1 + i, "ticker.entry", e)
        last = base + 5
        # since=last-3 is just covered by memory ...
        with WSClient.connect(srv.address) as ws:
            assert subscribe(ws, "ticker:de", since=last - 3)["seq"] == last
            got = replayed(ws, "ticker:de", last - 3, last)
            assert [ev["data"] for ev in got] == entries[2:]
        # ... one further back, and all the way back, come from the log.
        demo_events = None
        for since in (last - 4, base, 0):
            with WSClient.connect(srv.address) as ws:
                assert subscribe(ws, "ticker:de", since=since, epoch=epoch) == {
                    "type": "subscribed", "topic": "ticker:de", "seq": last, "epoch": epoch}
                got = replayed(ws, "ticker:de", since, last)
                ours = [ev for ev in got if ev["seq"] > base]
                assert [ev["data"] for ev in ours] == entries[max(0, since - base):], got
                assert all(ev["event"] == "ticker.entry" for ev in ours), got
                if since == 0:
                    demo_events = got[:base]
                # Live again: the next entry comes once, to it and to the keeper.
                e = post_entry(srv, tok, "de", f"Danach {since}.")
                last += 1
                check_event(next_event(ws), "ticker:de", last, "ticker.entry", e)
                check_event(next_event(keeper), "ticker:de", last, "ticker.entry", e)
                entries.append(e)
                assert ws.barrier() == []
        # The demo's own entries, from seq 1: what the API shows of them.
        assert demo_events and all(ev["event"].startswith("ticker.") for ev in demo_events), demo_events
        created = [ev["data"]["id"] for ev in demo_events if ev["event"] == "ticker.entry"]
        assert created, demo_events
        for entry_id in created:
            assert srv.get(f"/api/v1/tickers/de/entries/{entry_id}").status == 200, entry_id
    srv.assert_alive()


def test_replay_longer_than_max_replay_is_resync(make_server):
    """A reader missing more than live.max_replay events is told to refetch
    over HTTP instead of being fed the log; up to the limit it is replayed."""
    srv = make_server({"DEPESCHE_LIVE_HISTORY": "2", "DEPESCHE_LIVE_MAX_REPLAY": "3"})
    tok = create_token(srv.data_dir, "replay-limit-editor", "editor")
    with WSClient.connect(srv.address) as keeper:
        base = subscribe(keeper, "ticker:en")["seq"]
        entries = [post_entry(srv, tok, "en", f"Entry {i}.") for i in range(5)]
        for i, e in enumerate(entries):
            check_event(next_event(keeper), "ticker:en", base + 1 + i, "ticker.entry", e)
        last = base + 5
        # 3 missed, 2 of them in memory: the log has them all.
        with WSClient.connect(srv.address) as ws:
            assert subscribe(ws, "ticker:en", since=last - 3)["seq"] == last
            got = replayed(ws, "ticker:en", last - 3, last)
            assert [ev["data"] for ev in got] == entries[2:]
        # 4 missed, and everything: more than max_replay.
        for since in (last - 4, 0):
            with WSClient.connect(srv.address) as ws:
                assert subscribe(ws, "ticker:en", since=since)["seq"] == last
                assert ws.barrier() == [{"type": "resync", "topic": "ticker:en"}], since
                e = post_entry(srv, tok, "en", f"After {since}.")
                last += 1
                check_event(next_event(ws), "ticker:en", last, "ticker.entry", e)
                check_event(next_event(keeper), "ticker:en", last, "ticker.entry", e)
                assert ws.barrier() == []
    srv.assert_alive()


def test_since_the_log_no_longer_holds_is_resync(make_server):
    """Events that the log's retention dropped cannot be replayed: the reader
    is told to resync; what the log still holds is replayed."""
    srv = make_server({"DEPESCHE_EVENTS_RETENTION_PER_TOPIC": "2"})
    # The relay applies retention when it starts: the demo's ticker:de
    # events but the last 2 go.
    srv.wait_for_log(lambda r: r.get("msg") == "event log pruned", 15, "the event log's pruning")
    with WSClient.connect(srv.address) as ws:
        current = subscribe(ws, "ticker:de")["seq"]
    assert current >= 3, current
    with WSClient.connect(srv.address) as ws:
        assert subscribe(ws, "ticker:de", since=current - 2)["seq"] == current
        replayed(ws, "ticker:de", current - 2, current)
    for since in (current - 3, 0):
        with WSClient.connect(srv.address) as ws:
            assert subscribe(ws, "ticker:de", since=since)["seq"] == current
            # (it may follow `subscribed` a little later: the log is read first)
            seen: list = []
            m = ws.wait_json(lambda m: m["type"] != "event", timeout=10, seen=seen)
            assert m == {"type": "resync", "topic": "ticker:de"}, m
            assert seen == [], f"a partial replay before the resync: {seen}"
            assert ws.barrier() == []
    srv.assert_alive()


def test_subscribe_with_another_epoch_is_resync(live, token):
    """An `epoch` that is not the topic's means `since` counts in another
    history: the reader is told to resync, whatever the number."""
    with WSClient.connect(live.address) as ws:
        sub = subscribe(ws, "ticker:ru")
        current, epoch = sub["seq"], sub["epoch"]
    with WSClient.connect(live.address) as ws:
        # The right epoch: an ordinary resume.
        assert subscribe(ws, "ticker:ru", since=current, epoch=epoch) == sub
        assert ws.barrier() == []
    for other in (epoch + 1, epoch - 1 if epoch > 1 else epoch + 2):
        for since in (current, 0):
            with WSClient.connect(live.address) as ws:
                assert subscribe(ws, "ticker:ru", since=since, epoch=other) == sub
                assert ws.barrier() == [{"type": "resync", "topic": "ticker:ru"}], (other, since)
                # The subscription is live after it.
                e = post_entry(live, token, "ru", "После смены эпохи.")
                current += 1
                sub = {**sub, "seq": current}
                check_event(next_event(ws), "ticker:ru", current, "ticker.entry", e)
                assert ws.barrier() == []


def test_history_is_capped_in_bytes_too(make_server):
    """Long entries fill the byte cap before the count cap: memory holds only
    what fits (the newest event always); a reader further back gets the
    rest from the event log."""
    srv = make_server({"DEPESCHE_LIVE_HISTORY_BYTES": "4096"})
    tok = create_token(srv.data_dir, "bytes-editor", "editor")
    with WSClient.connect(srv.address) as keeper:
        base = subscribe(keeper, "ticker:ru")["seq"]
        entries = [post_entry(srv, tok, "ru", f"{i} " + "я" * 900) for i in range(4)]  # ~2 KiB frames
        for i, e in enumerate(entries):
            check_event(next_event(keeper), "ticker:ru", base + 1 + i, "ticker.entry", e)
        last = base + 4
        # The hub holds at most the cap (or the newest event alone), not all four.
        size = len(json.dumps(entries[-1], ensure_ascii=False, separators=(",", ":")).encode())
        assert 2 * size > 4096, "the entries are too short to reach the cap"
        cached = metric(srv, "depesche_live_history_bytes")
        assert 0 < cached <= max(4096, size + 200), cached
        with WSClient.connect(srv.address) as ws:
            assert subscribe(ws, "ticker:ru", since=last - 1)["seq"] == last
            check_event(next_event(ws), "ticker:ru", last, "ticker.entry", entries[-1])
            assert ws.barrier() == []
        for since in (last - 3, last - 4):
            with WSClient.connect(srv.address) as ws:
                assert subscribe(ws, "ticker:ru", since=since)["seq"] == last
                got = replayed(ws, "ticker:ru", since, last)
                assert [ev["data"] for ev in got] == entries[since - base:]
    srv.assert_alive()


def test_resume_across_a_restart_replays_from_the_log(make_server, tmp_path):
    """Seqs and the epoch live in the database: after a restart on the same
    data directory the numbering goes on (no jump), and a reader resuming
    with its last seq and epoch gets exactly what was posted while it was
    away. A reader with an epoch of another database is told to resync."""
    data = tmp_path / "restarted"
    first = make_server(data_dir=data)
    tok = create_token(data, "restart-editor", "editor")
    with WSClient.connect(first.address) as ws:
        sub = subscribe(ws, "ticker:en")
        base, epoch = sub["seq"], sub["epoch"]
        before = post_entry(first, tok, "en", "Before.")
        check_event(next_event(ws), "ticker:en", base + 1, "ticker.entry", before)
    last = base + 1
    first.stop()
    second = make_server(demo=False, data_dir=data)
    away = [post_entry(second, tok, "en", f"While the reader was away {i}.") for i in range(2)]
    with WSClient.connect(second.address) as ws:
        assert subscribe(ws, "ticker:en", since=last, epoch=epoch) == {
            "type": "subscribed", "topic": "ticker:en", "seq": last + 2, "epoch": epoch}
        got = replayed(ws, "ticker:en", last, last + 2)
        for ev, e in zip(got, away):
            check_event(ev, "ticker:en", ev["seq"], "ticker.entry", e)
        e = post_entry(second, tok, "en", "Live again.")
        check_event(next_event(ws), "ticker:en", last + 3, "ticker.entry", e)
        assert ws.barrier() == []
    # What the first process numbered is in the log too.
    with WSClient.connect(second.address) as ws:
        assert subscribe(ws, "ticker:en", since=base, epoch=epoch)["seq"] == last + 3
        got = replayed(ws, "ticker:en", base, last + 3)
        assert [ev["data"] for ev in got] == [before, *away, e]
    # Another data directory is another database, with its own epoch.
    other = make_server()
    with WSClient.connect(other.address) as ws:
        foreign = subscribe(ws, "ticker:en")["epoch"]
    assert foreign != epoch, "two databases drew the same epoch"
    with WSClient.connect(second.address) as ws:
        assert subscribe(ws, "ticker:en", since=last, epoch=foreign) == {
            "type": "subscribed", "topic": "ticker:en", "seq": last + 3, "epoch": epoch}
        assert ws.barrier() == [{"type": "resync", "topic": "ticker:en"}]
    second.assert_alive()


def test_server_pings_quiet_clients_and_closes_those_that_never_answer(make_server):
    srv = make_server({"DEPESCHE_LIVE_PING_INTERVAL_MS": "200", "DEPESCHE_LIVE_PONG_TIMEOUT_MS": "300"})
    with WSClient.connect(srv.address) as answers, WSClient.connect(srv.address) as mute:
        mute.auto_pong = False
        subscribe(mute, "ticker:de")
        # One client answers every ping (in a thread, so it answers in time
        # while the test watches the other).
        pings, errors = [], []

        def answer():
            try:
                while len(pings) < 3:
                    f = answers.recv_frame(5)
                    assert f.opcode == OP_PING, f
                    answers.send_frame(OP_PONG, f.payload)
                    pings.append(f.payload)
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        t = threading.Thread(target=answer, daemon=True)
        t.start()
        # The mute client reads (so it is not slow) but never answers.
        replies: list = []
        c = mute.wait_close(10, collect=replies)
        assert c.code == 1008, c
        assert all(m.get("type") == "presence" for m in replies), replies
        t.join(10)
        assert not errors and len(pings) == 3, errors
        assert subscribe(answers, "ticker:de")["type"] == "subscribed"


# --------------------------------------------------------------------------
# Slow readers
# --------------------------------------------------------------------------


def test_slow_reader_is_closed_while_others_keep_up(live, token, blogs):
    slug = blogs["slow"]
    topic = "ticker:" + slug
    closes_before = metric(live, "depesche_live_slow_closes_total")
    # A small receive window, and it never reads: the server's queue grows.
    # (Every event carries the body and its HTML, about 31 KB.)
    slow = WSClient.connect(live.address, rcvbuf=4096)
    base = subscribe(slow, topic)["seq"]
    # The fast readers get room for many events in their own kernel buffer,
    # so a reader thread scheduled late on a busy machine is not "slow".
    fast = [WSClient.connect(live.address, rcvbuf=4 * 1024 * 1024) for _ in range(3)]
    collectors: list = []
    try:
        for ws in fast:
            assert subscribe(ws, topic)["seq"] == base
        collectors = [Collector(ws) for ws in fast]
        for c in collectors:
            c.start()

        big = "Langer Absatz mit vielen Wörtern. " * 450  # ~15 KB of Markdown
        assert 14_000 < len(big) < 20_000
        posted = []
        slow_events: list = []
        slow_close = None
        # The kernel buffers a few MB for the stalled socket before the hub's
        # own queue starts to grow; post until it gives up on the reader.
        for i in range(min(1000, int(tcp_wmem_max() * 1.5) // 30_000 + 20)):
            posted.append(post_entry(live, token, slug, f"{i}: {big}"))
            if metric(live, "depesche_live_slow_closes_total") > closes_before:
                # Read it now, within the server's close grace period.
                slow_close = slow.wait_close(15, collect=slow_events)
                break
        assert slow_close is not None, "the slow reader was never closed"
        assert slow_close.code == 1013, slow_close
        assert slow.eof
        # What it got before the close frame are whole events, in order, no gap.
        assert all(isinstance(m, dict) for m in slow_events), slow_events
        got = [m for m in slow_events if m["type"] == "event"]
        assert [m["seq"] for m in got] == list(range(base + 1, base + 1 + len(got)))
        assert len(got) < len(posted)
        for m, e in zip(got, posted):
            assert m["data"] == e

        # The others got everything, and keep getting new entries.
        posted += [post_entry(live, token, slug, f"Danach {i}: {big}") for i in range(2)]
        last = base + len(posted)
        for c in collectors:
            events = c.finish(last)
            assert [m["seq"] for m in events] == list(range(base + 1, last + 1))
            assert [m["data"] for m in events] == posted
        assert metric(live, "depesche_live_slow_closes_total") == closes_before + 1
    finally:
        slow.abort()
        for ws in fast:
            ws.abort()
        for c in collectors:
            c.join(5)


def test_replay_larger_than_the_queue_ends_with_the_close_frame(live, token, blogs):
    """A reader resuming from far back with a small window: the replay
    overflows its queue, so it is closed as too slow; the close frame must be
    the last frame it gets, after whole events in order."""
    slug = blogs["replay"]
    topic = "ticker:" + slug
    with WSClient.connect(live.address) as ws:
        base = subscribe(ws, topic)["seq"]
    body = ("Длинный текст о выборах. " * 800)[:20_000]  # ~80 KB per event
    closes_before = metric(live, "depesche_live_slow_closes_total")
    # More replay than the kernel buffers for one socket (its send buffer
    # can grow to tcp_wmem's maximum), so the hub's own queue overflows.
    n = min(400, int(tcp_wmem_max() * 1.2) // 80_000 + 10)
    for i in range(n):
        post_entry(live, token, slug, f"{i} {body}"[:20_000])
    ws = WSClient.connect(live.address, rcvbuf=4096, timeout=20)
    try:
        assert subscribe(ws, topic, since=base)["seq"] == base + n
        got: list = []
        c = ws.wait_close(20, collect=got)
        assert c.code == 1013, c
        seqs = [m["seq"] for m in got if isinstance(m, dict) and m.get("type") == "event"]
        assert seqs == list(range(base + 1, base + 1 + len(seqs))) and len(seqs) < n
        assert metric(live, "depesche_live_slow_closes_total") == closes_before + 1
    finally:
        ws.abort()


def server_sockets_in(srv, state: str) -> int:
    """The server's TCP sockets in `state` (ss's names: fin-wait-1, ...)."""
    out = subprocess.run(["ss", "-tnH", "state", state, "sport", "=", f":{srv.address[1]}"],
                         capture_output=True, text=True, check=True).stdout
    return len(out.splitlines())


@pytest.mark.skipif(not shutil.which("ss"), reason="needs ss (iproute2)")
def test_reader_that_never_reads_is_reset_not_left_in_the_kernel(make_server):
    """A reader the hub gives up on still has data waiting in its socket's
    send buffer. Closed, the socket would stay in the kernel as an orphan
    with that buffer (FIN-WAIT-1) until the reader reads or TCP gives up,
    minutes later; the hub resets it instead."""
    srv = make_server({"DEPESCHE_LIVE_MAX_QUEUE_BYTES": "16384"})
    tok = create_token(srv.data_dir, "never-reads-editor", "editor")
    with WSClient.connect(srv.address) as ws:
        base = subscribe(ws, "ticker:en")["seq"]
    for i in range(4):
        post_entry(srv, tok, "en", f"{i} " + "Ein langer Absatz. " * 1000)
    ws = WSClient.connect(srv.address, rcvbuf=4096)
    try:
        # The replay from the log is more than the queue may hold: it is cut,
        # and the close frame waits behind data the reader never takes.
        assert subscribe(ws, "ticker:en", since=base)["seq"] == base + 4
        wait_until(lambda: metric(srv, "depesche_live_slow_closes_total") == 1, 10, "the slow close")
        wait_until(lambda: metric(srv, "depesche_live_connections") == 0, 15, "the connection to go")
        # Gone from the kernel too (ss shows orphans with state, without a process).
        wait_until(lambda: server_sockets_in(srv, "fin-wait-1") == 0, 2, "no orphan left")
    finally:
        ws.abort()


@pytest.mark.skipif(not shutil.which("ss"), reason="needs ss (iproute2)")
def test_live_connections_have_a_fixed_send_buffer(make_server):
    """Autotuned, a socket's send buffer grows to tcp_wmem's maximum (4 MiB)
    for a reader that stops reading; live.send_buffer_bytes fixes it."""
    srv = make_server({"DEPESCHE_LIVE_SEND_BUFFER_BYTES": "32768"}, demo=False)
    with WSClient.connect(srv.address) as ws:
        ws.send_json({"type": "ping-me"})  # any answer: the hub owns the socket by then
        ws.wait_json(lambda m: m["type"] == "error")
        out = subprocess.run(["ss", "-tmH", "state", "established", "sport", "=", f":{srv.address[1]}"],
                             capture_output=True, text=True, check=True).stdout
        sizes = [int(m) for m in re.findall(r"\btb(\d+)", out)]
        assert sizes, out
        assert max(sizes) == 2 * 32768, out  # the kernel doubles what it is given


# --------------------------------------------------------------------------
# The handshake
# --------------------------------------------------------------------------


def host_of(srv) -> str:
    return f"{srv.address[0]}:{srv.address[1]}"


@pytest.mark.parametrize("origin", [
    "http://evil.example",
    "https://evil.example",
    "null",
    "http://127.0.0.1.evil.example",
    "http://127.0.0.1:1",  # same host, another port
])
def test_foreign_origin_is_refused(live, origin):
    ans = raw_upgrade(live.address, handshake_request(host_of(live), origin=origin))
    assert ans.status == 403, (ans.status, ans.body)
    assert ans.header("upgrade") is None and ans.header("sec-websocket-accept") is None
    with pytest.raises(HandshakeRejected) as ex:
        WSClient.connect(live.address, origin=origin)
    assert ex.value.status == 403


def test_same_site_origin_and_no_origin_are_accepted(live):
    for origin in (live.base_url, None):
        with WSClient.connect(live.address, origin=origin) as ws:
            assert subscribe(ws, "ticker:de")["topic"] == "ticker:de"
            ws.close()


@pytest.mark.parametrize("headers", [
    {"Upgrade": "WebSocket", "Connection": "keep-alive, Upgrade"},
    {"Upgrade": "websocket", "Connection": "UPGRADE"},
])
def test_header_variants_are_accepted(live, headers):
    with WSClient.connect(live.address, extra_headers=headers) as ws:
        assert subscribe(ws, "ticker:de")["type"] == "subscribed"


def test_public_url_names_the_allowed_origin(make_server):
    srv = make_server({"DEPESCHE_SERVER_PUBLIC_URL": "https://news.example/"})
    with WSClient.connect(srv.address, origin="https://news.example") as ws:
        assert subscribe(ws, "ticker:en")["type"] == "subscribed"
    for origin in ("http://news.example", "https://news.example.evil", "https://evil.example"):
        ans = raw_upgrade(srv.address, handshake_request(host_of(srv), origin=origin))
        assert ans.status == 403, (origin, ans.status)


@pytest.mark.parametrize("key,status", [
    (None, 400),                         # missing
    ("", 400),
    ("not-a-key", 400),
    ("dGhlIHNhbXBsZSBub25jZQ", 400),     # 16 bytes without the padding
    ("dGhlIHNhbXBsZSBub25jZQ==x", 400),  # too long
    ("dGhlIHNhbXBsZSBub25j!Q==", 400),   # not base64
])
def test_bad_websocket_key_is_400(live, key, status):
    req = handshake_request(host_of(live), key=key if key is not None else "x",
                            omit=("Sec-WebSocket-Key",) if key is None else ())
    ans = raw_upgrade(live.address, req)
    assert ans.status == status, (ans.status, ans.body)
    assert ans.header("sec-websocket-accept") is None


@pytest.mark.parametrize("version", ["8", "12", "14", None])
def test_wrong_websocket_version_is_426(live, version):
    req = handshake_request(host_of(live), version=version)
    ans = raw_upgrade(live.address, req)
    assert ans.status == 426, (ans.status, ans.body)
    assert ans.header("sec-websocket-version") == "13"


def test_plain_get_live_is_426(live):
    r = live.get("/live")
    assert r.status == 426, r
    assert (r.header("upgrade") or "").lower() == "websocket"
    req = handshake_request(host_of(live), omit=("Upgrade", "Connection"))
    assert raw_upgrade(live.address, req).status == 426


def test_post_with_upgrade_headers_is_refused(live):
    req = handshake_request(host_of(live)).replace(b"GET /live", b"POST /live", 1)
    req = req.replace(b"\r\n\r\n", b"\r\nContent-Length: 0\r\n\r\n", 1)
    assert raw_upgrade(live.address, req).status == 405


# --------------------------------------------------------------------------
# Protocol abuse: each closes only the offender, with the right code
# --------------------------------------------------------------------------


def test_message_at_the_size_limit_is_fine_and_above_is_1009(live):
    with WSClient.connect(live.address) as ws:
        msg = json.dumps({"type": "subscribe", "topic": "ticker:de"})
        at_limit = msg[:-1] + " " * (MAX_MESSAGE_BYTES - len(msg)) + "}"
        assert len(at_limit.encode()) == MAX_MESSAGE_BYTES
        ws.send_text(at_limit)
        assert subscribe_reply(ws)["type"] == "subscribed"
        ws.send_text(at_limit[:-1] + " }")
        assert_closed_with(ws, 1009)


def test_fragmented_message_over_the_limit_is_1009(live):
    with WSClient.connect(live.address) as ws:
        # Fragments are fine while the whole stays under the limit ...
        ws.send_frame(OP_TEXT, b'{"type":"subscribe",', fin=False)
        ws.send_frame(OP_CONT, b' "topic":"ticker:de"}', fin=True)
        assert subscribe_reply(ws)["type"] == "subscribed"
        # ... but not above it.
        half = MAX_MESSAGE_BYTES // 2 + 10
        ws.send_frame(OP_TEXT, b'{"type":"subscribe","x":"' + b"a" * half, fin=False)
        ws.send_frame(OP_CONT, b"a" * half + b'"}', fin=True)
        assert_closed_with(ws, 1009)


def test_fragments_may_split_characters_and_carry_control_frames(live):
    with WSClient.connect(live.address) as ws:
        msg = json.dumps({"type": "subscribe", "topic": "ticker:ümlaut"}, ensure_ascii=False).encode()
        cut = msg.index("ü".encode()) + 1  # inside the two bytes of "ü"
        ws.send_frame(OP_TEXT, msg[:cut], fin=False)
        ws.send_frame(OP_PING, b"mittendrin")  # control frames may come between fragments
        ws.send_frame(OP_CONT, msg[cut:], fin=True)
        f = ws.recv_frame()
        assert (f.opcode, f.payload) == (OP_PONG, b"mittendrin")
        assert subscribe_reply(ws) == unknown_topic("ticker:ümlaut")
        ws.close()


def test_huge_frame_header_is_1009_without_the_payload(live):
    """A frame announcing 1 GiB is refused from its header alone."""
    with WSClient.connect(live.address) as ws:
        head = bytes([0x81, 0x80 | 127]) + (1 << 30).to_bytes(8, "big") + b"\x01\x02\x03\x04"
        ws.send_raw(head + b"x" * 100)
        assert_closed_with(ws, 1009)


@pytest.mark.parametrize("payload", [
    b"{not json",
    b"[1,2,3]",
    b'"subscribe"',
    b'{"topic":"ticker:de"}',
    b'{"type":42}',
    b'{"type":"subscribe","topic":7}',
    b'{"type":"subscribe","topic":"ticker:de","since":-1}',
    b'{"type":"subscribe","topic":"ticker:de","since":"41"}',
    b'{"type":"subscribe","topic":"ticker:de","since":1.5}',
    b'{"type":"subscribe","topic":"ticker:de","since":4,"epoch":-1}',
    b'{"type":"subscribe","topic":"ticker:de","since":4,"epoch":"1"}',
    b'{"type":"subscribe","topic":"ticker:\xff"}',  # not UTF-8
])
def test_malformed_message_is_1007(live, payload):
    with WSClient.connect(live.address) as ws:
        ws.send_frame(OP_TEXT, payload)
        assert_closed_with(ws, 1007)


def test_binary_frame_is_1003(live):
    with WSClient.connect(live.address) as ws:
        ws.send_frame(OP_BINARY, json.dumps({"type": "subscribe", "topic": "ticker:de"}).encode())
        assert_closed_with(ws, 1003)


@pytest.mark.parametrize("frame", [
    encode_frame(OP_TEXT, b'{"type":"subscribe","topic":"ticker:de"}', mask=False),  # unmasked
    encode_frame(OP_TEXT, b'{"type":"x"}', rsv=0x4),                                 # RSV1 without an extension
    encode_frame(0x3, b"reserved opcode"),
    encode_frame(OP_PING, b"p" * 126),                                               # control frame too long
    encode_frame(OP_PING, b"ping", fin=False),                                       # fragmented control frame
    encode_frame(OP_CONT, b"nothing to continue"),
    encode_frame(OP_TEXT, b'{"type":', fin=False) + encode_frame(OP_TEXT, b'"x"}'),  # new message mid-fragment
])
def test_protocol_errors_are_1002(live, frame):
    with WSClient.connect(live.address) as ws:
        ws.send_raw(frame)
        assert_closed_with(ws, 1002)


@pytest.mark.parametrize("topic", ["ticker:xx", "ticker:", "chat:de", "comments:999999", "comments:abc",
                                   "comments:", "comments:0", "comments:-1", "comments:1 ", "article:999999",
                                   "article:1x", "", "ticker:" + "d" * 300, "ticker:DE", "ticker:de ",
                                   'ticker:"quoted"\n<script>', "ticker:\u0000nul", "ticker:\u2028ü"])
def test_unknown_topic_is_an_error_and_the_connection_stays_usable(live, topic):
    with WSClient.connect(live.address) as ws:
        ws.subscribe(topic)
        assert subscribe_reply(ws) == unknown_topic(topic)
        assert subscribe(ws, "ticker:de")["type"] == "subscribed"
        # The refused topic holds no subscription: nothing more came for it.
        assert ws.barrier() == []
        ws.close()


def test_article_and_comment_topics_of_published_articles(live):
    """`article:<id>` and `comments:<id>` exist for each published article;
    with no events yet their seq is 0."""
    article = live.get("/api/v1/articles?edition=de&limit=1").json()["items"][0]
    with WSClient.connect(live.address) as ws, WSClient.connect(live.address) as other:
        for topic in (f"comments:{article['id']}", f"article:{article['id']}"):
            sub = subscribe(ws, topic)
            assert sub["seq"] == 0, sub
            assert subscribe(other, topic) == sub
            # Resuming from 0 on an empty topic replays nothing.
            assert subscribe(other, topic, since=0, epoch=sub["epoch"]) == sub
            assert other.barrier() == []
        assert ws.barrier() == []


@pytest.mark.parametrize("msg,reply", [
    ({"type": "publish", "topic": "ticker:de", "data": {"body": "x"}},
     {"type": "error", "topic": "ticker:de", "code": "invalid", "message": "unknown message type"}),
    ({"type": "publish"},
     {"type": "error", "code": "invalid", "message": "unknown message type"}),
    ({"type": "publish", "id": "m-1", "topic": "comments:1"},
     {"type": "error", "id": "m-1", "topic": "comments:1", "code": "invalid", "message": "unknown message type"}),
])
def test_unknown_message_type_is_an_error_reply(live, msg, reply):
    with WSClient.connect(live.address) as ws:
        ws.send_json(msg)
        assert subscribe_reply(ws) == reply
        assert subscribe(ws, "ticker:de")["type"] == "subscribed"
        ws.close()


def test_message_flood_is_1008(live):
    """Messages with an immediate answer (an unknown type, each with its id):
    the budget is honoured before the close, in order, and the flood is cut
    short."""
    with WSClient.connect(live.address) as ws:
        n = 4 * MAX_MESSAGES_PER_SECOND
        ws.send_raw(b"".join(encode_frame(OP_TEXT, json.dumps({"type": "hello", "id": str(i)}).encode())
                             for i in range(n)))
        replies: list = []
        c = ws.wait_close(collect=replies)
        assert c.code == 1008, c
        answered = len(replies)
        assert MAX_MESSAGES_PER_SECOND <= answered < n, replies
        assert replies == [{"type": "error", "id": str(i), "code": "invalid", "message": "unknown message type"}
                           for i in range(answered)], replies


def test_subscribe_flood_is_1008(live):
    with WSClient.connect(live.address) as ws:
        n = 4 * MAX_MESSAGES_PER_SECOND
        ws.send_raw(b"".join(encode_frame(OP_TEXT, json.dumps({"type": "subscribe", "topic": "ticker:de"}).encode())
                             for _ in range(n)))
        replies: list = []
        c = ws.wait_close(collect=replies)
        assert c.code == 1008, c
        # Subscribing again replaces a pending subscribe; whatever was
        # answered before the close is a `subscribed`.
        assert all(m.get("type") == "subscribed" for m in replies), replies
        assert len(replies) < n, replies


def test_too_many_subscriptions_is_1008(live, blogs):
    topics = ["ticker:de", "ticker:en", "ticker:ru", "ticker:" + blogs["resume"]]
    assert len(topics) == MAX_SUBSCRIPTIONS + 1
    with WSClient.connect(live.address) as ws:
        for t in topics[:MAX_SUBSCRIPTIONS]:
            subscribe(ws, t)
        # Subscribing again to one it has replaces it and is not one more.
        subscribe(ws, topics[0])
        ws.subscribe(topics[-1])
        assert_closed_with(ws, 1008)


def test_ping_gets_pong_with_the_same_payload(live):
    with WSClient.connect(live.address) as ws:
        for payload in (b"", b"hello", bytes(range(125))):
            ws.ping(payload)
            f = ws.recv_frame()
            assert (f.opcode, f.payload, f.fin) == (OP_PONG, payload, True)
        ws.send_frame(OP_PONG, b"unsolicited")  # ignored, as RFC 6455 5.5.3 allows
        assert ws.barrier() == []


def test_client_close_is_answered_and_ends_the_connection(live):
    ws = WSClient.connect(live.address)
    subscribe(ws, "ticker:de")
    c = ws.close(1000, "done")
    assert c is not None and c.code == 1000, c
    assert ws.eof


@pytest.mark.parametrize("payload,expected", [
    (b"", 1000),
    (struct.pack("!H", 1001) + "weg".encode(), 1001),
    (struct.pack("!H", 4321) + b"app", 4321),
    (b"\x03", 1002),
    (struct.pack("!H", 0), 1002),
    (struct.pack("!H", 999), 1002),
    (struct.pack("!H", 1005), 1002),
    (struct.pack("!H", 1006), 1002),
    (struct.pack("!H", 2999), 1002),
    (struct.pack("!H", 5000), 1002),
    (struct.pack("!H", 1000) + b"\xff\xfe", 1007),
])
def test_close_frames_are_validated(live, payload, expected):
    """A valid close code is echoed; a 1-byte payload or a code no endpoint
    may send is 1002, a reason that is not UTF-8 1007 (RFC 6455 7.4)."""
    ws = WSClient.connect(live.address)
    subscribe(ws, "ticker:de")
    ws.send_frame(OP_CLOSE, payload)
    c = ws.wait_close()
    assert c.code == expected, c
    ws.abort()


def test_server_survives_and_others_still_receive(live, token, blogs, sentinel):
    live.assert_alive()
    slug = blogs["sentinel"]
    e = post_entry(live, token, slug, "Immer noch da.")
    check_event(next_event(sentinel), "ticker:" + slug, sentinel.start_seq + 1, "ticker.entry", e)
    with WSClient.connect(live.address) as ws:
        assert subscribe(ws, "ticker:" + slug)["seq"] == sentinel.start_seq + 1
    # Every connection the tests ended is gone from the hub: only the
    # sentinel remains.
    wait_until(lambda: metric(live, "depesche_live_connections") == 1, 10, "closed connections to be released")
    assert metric(live, "depesche_live_subscriptions") == 1


def test_shutdown_closes_live_connections_with_1001(make_server):
    srv = make_server({"DEPESCHE_SERVER_SHUTDOWN_TIMEOUT_MS": "500"})
    polite = WSClient.connect(srv.address)
    subscribe(polite, "ticker:de")
    stuck = WSClient.connect(srv.address)  # never reads, never closes
    subscribe(stuck, "ticker:de")
    try:
        started = time.monotonic()
        srv.signal(15)
        c = polite.wait_close(15)
        assert c.code == 1001, c
        assert polite.eof
        assert srv.wait_exit(15) == 0
        # A peer that never answers holds the shutdown up only briefly.
        assert time.monotonic() - started < 8, "shutdown waited too long for a silent client"
        assert stuck.wait_close(5).code == 1001
    finally:
        polite.abort()
        stuck.abort()
