"""Two `depesche serve` nodes on one PostgreSQL and one Redis (issue 9):
an entry posted on node A reaches a live reader on node B; a reader
resuming with `since` gets the same answer from either node; killing
redis-server and starting it again costs no event; one relay leads, and
when its node dies the other takes over; mails queued while both nodes
run are sent once. nginx, configured by deploy/nginx/depesche.conf itself
(only its node and listen lines replaced), stands in front: a reader
through it gets every entry, and a reader whose node is killed reconnects
through it to the other node with its last seq and misses nothing.

Needs the engines: CTest `integration_cluster` runs this file under
scripts/with-postgres and scripts/with-redis, which export
DEPESCHE_TEST_POSTGRES_URL, DEPESCHE_TEST_REDIS_URL and
DEPESCHE_TEST_REDIS_DIR; without them the tests skip. The servers are the
real binary on port 0; waits have deadlines, and "nothing more comes" is a
ping/pong barrier after the last expected event plus a short quiet read.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from account_helpers import HIGH_LIMITS, Browser, SmtpSink, register
from conftest import REPO_ROOT, HTTP_TIMEOUT_S, Resp, http_request, run_cli, run_demo, start_server
from ws_client import HandshakeRejected, WSClient, WSClosed, WSTimeout

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


# --------------------------------------------------------------------------
# nginx in front, from deploy/nginx/depesche.conf
# --------------------------------------------------------------------------

NGINX_SITE = REPO_ROOT / "deploy" / "nginx" / "depesche.conf"
NGINX_READY_TIMEOUT_S = 15.0


def render_nginx_site(nodes: list[tuple[str, str]], listen: str) -> str:
    """deploy/nginx/depesche.conf for the test's nodes: the upstream's server
    lines become one per `nodes` entry (address, extra parameters such as
    "backup"), each with the parameters the file gives its own nodes, and
    the listen line becomes `listen`. Everything else is the file as
    shipped, so the tests run the configuration operators get."""
    text = NGINX_SITE.read_text()
    server_line = re.compile(r"^([ \t]*)server[ \t]+[0-9.]+:\d+((?:[ \t]+\w+=\S+)*)[ \t]*;[ \t]*\n", re.M)
    found = list(server_line.finditer(text))
    assert found, f"no `server host:port ...;` line in {NGINX_SITE}"
    indent, params = found[0].group(1), found[0].group(2)
    lines = "".join(f"{indent}server {addr}{params}{' ' + extra if extra else ''};\n"
                    for addr, extra in nodes)
    start, end = found[0].start(), found[-1].end()
    # The lines replaced are the upstream's block of nodes and nothing else.
    assert not server_line.sub("", text[start:end]).strip(), "the node lines are not one block"
    text = text[:start] + lines + text[end:]
    text, n = re.subn(r"^([ \t]*)listen[ \t]+80;", rf"\g<1>listen {listen};", text, flags=re.M)
    assert n == 1, f"expected one `listen 80;` line in {NGINX_SITE}"
    return text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx in the foreground on a temporary prefix: every path it writes
    (pid, logs, temp files) is under `prefix`, so it needs no root and
    touches nothing of the system's nginx."""

    def __init__(self, prefix: Path, nodes: list[tuple[str, str]]):
        self.prefix = prefix
        self.nodes = nodes
        self.proc: subprocess.Popen | None = None
        self.address: tuple[str, int] | None = None

    def _main_conf(self, port: int) -> str:
        p = self.prefix
        (p / "site.conf").write_text(render_nginx_site(self.nodes, f"127.0.0.1:{port}"))
        return f"""daemon off;
master_process off;
pid {p}/nginx.pid;
lock_file {p}/nginx.lock;
error_log {p}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {p}/access.log;
    client_body_temp_path {p}/temp/body;
    proxy_temp_path {p}/temp/proxy;
    fastcgi_temp_path {p}/temp/fastcgi;
    uwsgi_temp_path {p}/temp/uwsgi;
    scgi_temp_path {p}/temp/scgi;
    include {p}/site.conf;
}}
"""

    def start(self) -> "Nginx":
        (self.prefix / "temp").mkdir(parents=True, exist_ok=True)
        # Another process may take the port between the probe and nginx's
        # bind: then try another one.
        for _ in range(3):
            port = free_port()
            conf = self.prefix / "nginx.conf"
            conf.write_text(self._main_conf(port))
            self.proc = subprocess.Popen(
                ["nginx", "-p", f"{self.prefix}/", "-e", str(self.prefix / "error.log"), "-c", str(conf)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.address = ("127.0.0.1", port)
            deadline = time.monotonic() + NGINX_READY_TIMEOUT_S
            while self.proc.poll() is None and time.monotonic() < deadline:
                try:
                    if self.get("/healthz").status == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            self.stop()
        raise AssertionError(f"nginx did not start:\n{self.error_log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no error log)"

    def __enter__(self) -> "Nginx":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def request(self, method: str, path: str, **kw) -> Resp:
        return http_request(self.address, method, path, **kw)

    def get(self, path: str, **kw) -> Resp:
        return self.request("GET", path, **kw)


def node_address(node) -> str:
    return f"{node.address[0]}:{node.address[1]}"


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
        # nginx reaches the nodes from 127.0.0.1 (deploy/nginx/depesche.conf
        # asks for this); the login test's readers come from other loopback
        # addresses, so their own address still counts for them.
        "DEPESCHE_SERVER_TRUSTED_PROXIES": "127.0.0.1",
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


@pytest.fixture(scope="module")
def front(cluster, tmp_path_factory):
    """nginx before both nodes, round robin as shipped."""
    with Nginx(tmp_path_factory.mktemp("nginx"), [(node_address(n), "") for n in cluster.nodes]) as n:
        yield n


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


def test_a_reader_through_nginx_gets_entries_posted_through_nginx_and_on_a_node(cluster, front):
    ws, seq, _ = reader(front)
    posted = [cluster.post(front, "Über nginx."), cluster.post(cluster.a, "Direkt auf Knoten A."),
              cluster.post(front, "Wieder über nginx.")]
    got = events_until(ws, seq + 3)
    assert [(m["type"], m["seq"]) for m in got] == [("event", seq + n) for n in (1, 2, 3)]
    assert [m["data"]["id"] for m in got] == [p["id"] for p in posted]
    assert [m["data"]["body"] for m in got] == ["Über nginx.", "Direkt auf Knoten A.", "Wieder über nginx."]
    ws.abort()


def test_requests_through_nginx_reach_both_nodes(cluster, front):
    # No stickiness: round robin spreads even one client's requests, and
    # each node answers with the same shared state.
    ids = []
    for _ in range(6):
        r = front.get("/api/v1/tickers/de/entries?limit=1")
        assert r.status == 200, r
        ids.append(r.header("x-request-id"))
    assert all(ids)

    def answered_by():
        logged = [{rec.get("request_id") for rec in n.log_records()} for n in cluster.nodes]
        where = [[i for i, got in enumerate(logged) if rid in got] for rid in ids]
        return where if all(len(w) == 1 for w in where) else None

    where = wait_until(answered_by, 10, "every request in one node's access log")
    assert {w[0] for w in where} == {0, 1}


def test_nodes_count_the_reader_nginx_forwards_not_nginx(cluster, front):
    # nginx appends the reader's address to X-Forwarded-For; the nodes
    # trust 127.0.0.1 (nginx) and so log the reader's.
    conn = http.client.HTTPConnection(*front.address, timeout=HTTP_TIMEOUT_S,
                                      source_address=("127.0.0.77", 0))
    try:
        conn.request("GET", "/de/ticker")
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
        rid = r.getheader("X-Request-Id")
    finally:
        conn.close()
    rec = wait_until(lambda: next((x for n in cluster.nodes for x in n.log_records()
                                   if x.get("request_id") == rid), None), 10, "the access log line")
    assert rec["remote"] == "127.0.0.77", json.dumps(rec)


def test_live_through_nginx_accepts_the_sites_origin_only(cluster, front):
    # The node compares Origin with the Host nginx passes on, port and all.
    site = f"http://{front.address[0]}:{front.address[1]}"
    ws = WSClient.connect(front.address, origin=site)
    ws.subscribe(TOPIC)
    assert ws.wait_json(lambda m: m["type"] == "subscribed")["topic"] == TOPIC
    ws.abort()
    with pytest.raises(HandshakeRejected) as refused:
        WSClient.connect(front.address, origin="http://elsewhere.example")
    assert refused.value.status == 403


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


def test_presence_counts_the_readers_of_every_node(cluster):
    """A reader on A and one on B of the same topic both see 2; when B's
    reader leaves, A's sees 1. A topic no other test follows."""
    topic = "ticker:en"

    def presence(ws, count):
        return ws.wait_json(lambda m: m["type"] == "presence" and m["topic"] == topic
                            and m["count"] == count, timeout=10, skip_presence=False)

    on_a = WSClient.connect(cluster.a.address)
    on_b = WSClient.connect(cluster.b.address)
    try:
        on_a.subscribe(topic)
        on_a.wait_json(lambda m: m["type"] == "subscribed")
        presence(on_a, 1)
        on_b.subscribe(topic)
        on_b.wait_json(lambda m: m["type"] == "subscribed")
        # Each node has one reader; both show the sum.
        presence(on_b, 2)
        presence(on_a, 2)
        on_b.close()
        presence(on_a, 1)
    finally:
        on_a.close()


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


def live_connections(node) -> float:
    return metric(node, "depesche_live_connections")


def test_a_reader_whose_node_is_killed_resumes_through_nginx_on_the_other(cluster, tmp_path):
    a, b = cluster.a, cluster.b
    # The readers of earlier tests are gone, so the counts below are this
    # test's own.
    wait_until(lambda: live_connections(a) == 0 and live_connections(b) == 0, 10, "no live readers")
    # B first and A as its backup: the first connection reaches B for
    # certain, and once B refuses connections nginx goes to A.
    try:
        with Nginx(tmp_path / "nginx", [(node_address(b), ""), (node_address(a), "backup")]) as front:
            ws, seq, epoch = reader(front)
            wait_until(lambda: live_connections(b) == 1, 10, "the reader on B")
            assert live_connections(a) == 0
            first = cluster.post(a, "Vor dem Absturz von B.")
            got = events_until(ws, seq + 1)
            assert [(m["type"], m["seq"], m["data"]["id"]) for m in got] == [("event", seq + 1, first["id"])]
            last = got[-1]["seq"]

            b.kill()
            # nginx closes the reader's side when B's goes.
            with pytest.raises(WSClosed):
                while True:
                    ws.recv_json(10)
            ws.abort()
            # Posted while the reader is away: on A, and through nginx
            # (refused by B, so nginx sends even this POST on to A).
            missed = [cluster.post(a, "Während B fehlt 1."), cluster.post(front, "Während B fehlt 2."),
                      cluster.post(a, "Während B fehlt 3.")]

            ws = WSClient.connect(front.address)
            ws.subscribe(TOPIC, since=last, epoch=epoch)
            sub = ws.wait_json(lambda m: m["type"] == "subscribed")
            assert sub["epoch"] == epoch and sub["seq"] == last + 3
            wait_until(lambda: live_connections(a) == 1, 10, "the reader on A")
            after = cluster.post(a, "Nach der Wiederverbindung.")
            got = events_until(ws, last + 4)
            # Every entry exactly once, in order: no resync, no repeat, no gap.
            assert [(m["type"], m["seq"]) for m in got] == [("event", last + n) for n in range(1, 5)]
            assert [m["data"]["id"] for m in got] == [p["id"] for p in missed + [after]]
            ws.abort()
    finally:
        # The leader test after this one needs both nodes again.
        if b.proc.poll() is not None:
            cluster.nodes[1] = start_server(cluster.dirs[1], cluster.env)


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

