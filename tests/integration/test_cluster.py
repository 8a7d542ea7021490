"""Two `depesche serve` nodes on one PostgreSQL and one Redis (issue 9):
an entry posted on node A reaches a live reader on node B; a reader
resuming with `since` gets the same answer from either node; killing
redis-server and starting it again costs no event; one relay leads, and
when its node dies the other takes over; mails queued while both nodes
run are sent once.

Needs the engines: CTest `integration_cluster` runs this file under
scripts/with-postgres and scripts/with-redis, which export
DEPESCHE_TEST_POSTGRES_URL, DEPESCHE_TEST_REDIS_URL and
DEPESCHE_TEST_REDIS_DIR; without them the tests skip. The servers are the
real binary on port 0; waits have deadlines, and "nothing more comes" is a
ping/pong barrier after the last expected event plus a short quiet read.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from account_helpers import HIGH_LIMITS, Browser, SmtpSink, register
from conftest import run_cli, run_demo, start_server
from ws_client import WSClient, WSTimeout

PG_URL = os.environ.get("DEPESCHE_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("DEPESCHE_TEST_REDIS_URL", "")
REDIS_DIR = os.environ.get("DEPESCHE_TEST_REDIS_DIR", "")

pytestmark = pytest.mark.skipif(
    not (PG_URL and REDIS_URL and REDIS_DIR),
    reason="needs PostgreSQL and Redis (scripts/with-postgres scripts/with-redis ...)")

TOPIC = "ticker:de"


def wait_until(pred, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def metric(srv, name: str) -> float:
    r = srv.get("/metrics")
    assert r.status == 200, r
    m = re.search(rf"^{re.escape(name)} (\S+)$", r.text, flags=re.M)
    assert m, f"{name} not in /metrics"
    return float(m.group(1))


class Cluster:
    def __init__(self, env: dict, dirs: list[Path], token: str):
        self.env = env
        self.dirs = dirs
        self.token = token
        self.nodes = [start_server(d, env) for d in dirs]

    @property
    def a(self):
        return self.nodes[0]

    @property
    def b(self):
        return self.nodes[1]

    def post(self, node, body: str) -> dict:
        r = node.request("POST", f"/api/v1/tickers/de/entries", token=self.token,
                         json_body={"body": body})
        assert r.status == 201, r
        return r.json()


@pytest.fixture(scope="module")
def slow_smtp():
    """Both nodes' mail server; slow, so both outboxes are at work at once."""
    sink = SmtpSink(delay_s=0.1).start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def cluster(bin_path, tmp_path_factory, slow_smtp):
    name = "cluster_" + secrets.token_hex(6)
    proc = subprocess.run(["psql", PG_URL, "-v", "ON_ERROR_STOP=1", "-qc", f"CREATE DATABASE {name}"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    store_url = urllib.parse.urlunsplit(urllib.parse.urlsplit(PG_URL)._replace(path="/" + name))
    env = {
        # Registrations in bulk; login attempts keep their limit.
        **{k: v for k, v in HIGH_LIMITS.items() if "LOGIN" not in k},
        "DEPESCHE_MAIL_SMTP_URL": slow_smtp.url,
        # Each node looks for mails it was not woken for every 50 ms.
        "DEPESCHE_MAIL_POLL_MS": "50",
        "DEPESCHE_STORE_URL": store_url,
        "DEPESCHE_BUS_URL": REDIS_URL,
        # Channels of this run only: other suites may share the server.
        "DEPESCHE_BUS_CHANNEL_PREFIX": f"it-{secrets.token_hex(4)}:",
        "DEPESCHE_BUS_LEAD_CHECK_MS": "200",
        "DEPESCHE_LIVE_RELAY_POLL_MS": "50",
        "DEPESCHE_SERVER_BLOCKING_THREADS": "4",
        "DEPESCHE_LIVE_PING_INTERVAL_MS": "600000",
    }
    dirs = [tmp_path_factory.mktemp("node_a"), tmp_path_factory.mktemp("node_b")]
    proc = run_cli(["demo"], dirs[0], env)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(["token", "create", "--role", "editor", "--name", "cluster"], dirs[0], env)
    assert proc.returncode == 0, proc.stderr
    token = [l.strip() for l in proc.stdout.splitlines() if l.strip().startswith("dp_")][0]
    c = Cluster(env, dirs, token)
    yield c
    for node in c.nodes:
        if node.exit_code is None and node.proc.poll() is None:
            node.assert_clean_exit()


def reader(node) -> tuple[WSClient, int, int]:
    ws = WSClient.connect(node.address)
    ws.subscribe(TOPIC)
    sub = ws.wait_json(lambda m: m["type"] == "subscribed")
    return ws, sub["seq"], sub["epoch"]


def events_until(ws: WSClient, last_seq: int, timeout: float = 15.0) -> list[dict]:
    """Events (and resyncs) until the one with `last_seq`, then whatever a
    barrier and a short quiet read still bring."""
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while not any(m.get("seq") == last_seq for m in got):
        m = ws.recv_json(max(0.1, deadline - time.monotonic()))
        if m["type"] in ("event", "resync"):
            got.append(m)
    got += [m for m in ws.barrier() if m["type"] in ("event", "resync")]
    try:
        while True:
            m = ws.recv_json(0.5)
            if m["type"] in ("event", "resync"):
                got.append(m)
    except WSTimeout:
        pass
    return got


def test_an_entry_posted_on_one_node_reaches_a_reader_on_the_other(cluster):
    ws, seq, _ = reader(cluster.b)
    entry = cluster.post(cluster.a, "Von Knoten A.")
    got = events_until(ws, seq + 1)
    assert [m["seq"] for m in got] == [seq + 1]
    assert got[0]["event"] == "ticker.entry"
    assert got[0]["data"]["id"] == entry["id"]
    assert got[0]["data"]["body"] == "Von Knoten A."
    # And the other way round, to a reader on the posting node itself.
    ws_a, seq_a, _ = reader(cluster.a)
    assert seq_a == seq + 1
    entry = cluster.post(cluster.b, "Von Knoten B.")
    assert [m["data"]["id"] for m in events_until(ws_a, seq + 2)] == [entry["id"]]
    assert [m["data"]["id"] for m in events_until(ws, seq + 2)] == [entry["id"]]
    ws.abort()
    ws_a.abort()


def resume(node, since: int, epoch: int, last: int) -> tuple[dict, list[dict]]:
    """What a reader resuming at `since` gets from `node`: the subscribed
    answer and every event (or resync) up to the topic's `last` seq."""
    ws = WSClient.connect(node.address)
    ws.subscribe(TOPIC, since=since, epoch=epoch)
    sub = ws.wait_json(lambda m: m["type"] == "subscribed")
    got: list[dict] = []
    # A replay from the log comes after `subscribed`, off the hub's loop.
    while since < last and not any(m.get("seq") == last or m["type"] == "resync" for m in got):
        m = ws.recv_json(10)
        if m["type"] in ("event", "resync"):
            got.append(m)
    got += [m for m in ws.barrier() if m["type"] in ("event", "resync")]
    ws.abort()
    return sub, got


def test_both_nodes_answer_a_resume_identically(cluster):
    # B follows the topic (its memory holds the events); A does not (it
    # reads the log). The answers must not differ.
    follower, seq, epoch = reader(cluster.b)
    for i in range(4):
        cluster.post(cluster.a if i % 2 == 0 else cluster.b, f"Eintrag {i}.")
    assert len(events_until(follower, seq + 4)) == 4
    last = seq + 4
    for since in (seq, seq + 2, last, 0):
        on_a = resume(cluster.a, since, epoch, last)
        on_b = resume(cluster.b, since, epoch, last)
        assert on_a == on_b, f"since={since}"
        sub, replay = on_a
        assert sub["seq"] == last and sub["epoch"] == epoch
        seqs = [m["seq"] for m in replay if m["type"] == "event"]
        if since == last:
            assert replay == []
        else:
            assert seqs == list(range(since + 1, last + 1)), f"since={since}"
    follower.abort()


def kill_redis():
    pid = int(Path(REDIS_DIR, "redis.pid").read_text().strip())
    os.kill(pid, signal.SIGKILL)


def start_redis():
    subprocess.run([str(Path(REDIS_DIR, "start"))], check=True, timeout=30)


def test_mails_queued_while_both_nodes_run_are_sent_once(cluster, slow_smtp):
    # Registrations on alternating nodes: each node's outbox is woken by its
    # own and polls for the other's, with the mail server slow enough that
    # both are sending at once.
    addresses = [f"once{i}-{secrets.token_hex(3)}@example.org" for i in range(12)]
    for i, address in enumerate(addresses):
        r = register(Browser(cluster.nodes[i % 2]), address)
        assert r.status == 202, r
    for address in addresses:
        slow_smtp.wait_for(address, timeout=30)
    time.sleep(1.0)  # twenty polls: a second copy would have come by now
    for address in addresses:
        got = slow_smtp.for_address(address)
        assert len(got) == 1, f"{address} got {len(got)} mails"
    ids = [str(m.msg["Message-ID"]) for a in addresses for m in slow_smtp.for_address(a)]
    assert len(set(ids)) == len(addresses)


def test_login_attempts_alternating_between_nodes_share_one_budget(cluster):
    # Six failed logins a minute per account (the default), from client
    # addresses that change each time so that only the account's budget
    # counts: alternating nodes, the seventh is refused wherever it lands.
    # Per node the attacker would have had twelve.
    address = f"limit-{secrets.token_hex(3)}@example.org"
    for i in range(6):
        r = Browser(cluster.nodes[i % 2], f"127.0.0.{20 + i}").login(address, "wrong password 1234")
        assert r.status == 401, (i, r)
    for i, node in enumerate(cluster.nodes):
        r = Browser(node, f"127.0.0.{40 + i}").login(address, "wrong password 1234")
        assert r.status == 429, (i, r)
        assert r.json()["error"]["code"] == "rate_limited"
        assert r.header("retry-after", "").isdigit()


def test_killing_and_restarting_redis_costs_no_event(cluster):
    ws_b, seq, _ = reader(cluster.b)
    ws_a, _, _ = reader(cluster.a)
    cluster.post(cluster.a, "Vor dem Ausfall.")
    for ws in (ws_a, ws_b):
        assert [m["seq"] for m in events_until(ws, seq + 1)] == [seq + 1]
    reconnects = metric(cluster.b, "depesche_bus_reconnects_total")
    kill_redis()
    wait_until(lambda: metric(cluster.b, "depesche_bus_connected") == 0, 10, "B to notice")
    posted = [cluster.post(cluster.a if i % 2 == 0 else cluster.b, f"Während des Ausfalls {i}.")
              for i in range(3)]
    start_redis()
    posted.append(cluster.post(cluster.b, "Nach dem Ausfall."))
    for ws in (ws_a, ws_b):
        got = events_until(ws, seq + 5, timeout=30)
        # Every event exactly once, in order: no resync, no repeat, no gap.
        assert [(m["type"], m["seq"]) for m in got] == [("event", seq + n) for n in range(2, 6)]
        assert [m["data"]["id"] for m in got] == [p["id"] for p in posted]
    assert metric(cluster.b, "depesche_bus_reconnects_total") >= reconnects + 1
    assert metric(cluster.b, "depesche_bus_connected") == 1
    ws_a.abort()
    ws_b.abort()


def test_one_relay_leads_and_another_takes_over_when_its_node_dies(cluster):
    leading = wait_until(
        lambda: [n for n in cluster.nodes if metric(n, "depesche_relay_leading") == 1] or None,
        10, "a leader")
    assert len(leading) == 1, "exactly one node relays"
    leader = leading[0]
    other = cluster.b if leader is cluster.a else cluster.a
    ws, seq, _ = reader(other)
    leader.kill()
    entry = cluster.post(other, "Der andere Knoten übernimmt.")
    got = events_until(ws, seq + 1, timeout=20)
    assert [m["data"]["id"] for m in got] == [entry["id"]]
    assert metric(other, "depesche_relay_leading") == 1
    ws.abort()

