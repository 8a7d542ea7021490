"""Operations: health and readiness, Prometheus metrics, request ids and the
JSON access log, `depesche migrate`, configuration errors, the ready line,
and graceful shutdown."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
import uuid

import pytest

import stored
from stored import sqlite_files_only
from conftest import (
    ServerProcess,
    create_token,
    is_valid_utf8,
    parse_raw_response,
    printable,
    sanitizer_excerpt,
    sanitizer_reports,
    run_cli,
    split_raw_responses,
)

# --------------------------------------------------------------------------
# Health, readiness
# --------------------------------------------------------------------------


def test_healthz(server):
    r = server.get("/healthz")
    assert r.status == 200
    assert r.header("content-type").startswith("text/plain")
    assert r.text.strip() == "ok"


def test_readyz(server):
    r = server.get("/readyz")
    assert r.status == 200
    assert r.text.strip() == "ready"


def test_health_endpoints_answer_head(server):
    r = server.request("HEAD", "/healthz")
    assert r.status == 200
    assert r.body == b""


# --------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------

SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text: str):
    """Returns (types, samples): {family: type}, [(name, labels, value)].
    Fails on any line that is not valid text exposition format."""
    types: dict[str, str] = {}
    helps: set[str] = set()
    samples = []
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP "):
            helps.add(line.split(" ")[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), line
            types[name] = typ
            continue
        assert not line.startswith("#"), f"unexpected comment line {line!r}"
        m = SAMPLE_RE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        name, label_text, value = m.groups()
        labels = dict(LABEL_RE.findall(label_text or ""))
        if label_text:
            # Everything inside the braces must be label pairs.
            rebuilt = ",".join(f'{k}="{v}"' for k, v in LABEL_RE.findall(label_text))
            assert rebuilt == label_text, f"malformed labels in {line!r}"
        float(value)  # must parse
        samples.append((name, labels, float(value)))
    for fam in types:
        assert fam in helps, f"# TYPE without # HELP for {fam}"
    return types, samples


def value_of(samples, name, **labels) -> float:
    for n, l, v in samples:
        if n == name and all(l.get(k) == str(val) for k, val in labels.items()):
            return v
    return 0.0


def test_metrics_is_prometheus_text_with_counts_histogram_and_connections(server):
    # One keep-alive connection: the server records a request's metrics
    # before it reads the next request on the same connection, so counts
    # are exact without waiting.
    conn = server.connection()
    try:
        before = server.request("GET", "/metrics", conn=conn)
        assert before.status == 200
        ctype = before.header("content-type")
        assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
        _, s0 = parse_prometheus(before.text)

        for _ in range(3):
            assert server.request("GET", "/healthz", conn=conn).status == 200
        assert server.request("GET", "/no-such-page-at-all/x/y", conn=conn).status == 404
        assert server.request("GET", "/api/v1/articles", conn=conn).status == 400  # edition missing
        assert server.request("GET", "/en/", conn=conn).status == 200

        after = server.request("GET", "/metrics", conn=conn)
        types, s1 = parse_prometheus(after.text)
    finally:
        conn.close()

    assert types.get("depesche_http_requests_total") == "counter"
    assert types.get("depesche_http_request_duration_seconds") == "histogram"
    assert types.get("depesche_http_open_connections") == "gauge"

    def delta(route, status):
        return value_of(s1, "depesche_http_requests_total", route=route, method="GET", status=status) - value_of(
            s0, "depesche_http_requests_total", route=route, method="GET", status=status
        )

    assert delta("/healthz", 200) == 3
    assert delta("/api/v1/articles", 400) == 1
    assert delta("/{ed}/", 200) == 1
    assert delta("/metrics", 200) == 1
    # The 404 for a path no route knows is counted too, under some route label.
    not_found = sum(v for n, l, v in s1 if n == "depesche_http_requests_total" and l.get("status") == "404") - sum(
        v for n, l, v in s0 if n == "depesche_http_requests_total" and l.get("status") == "404"
    )
    assert not_found == 1

    # The latency histogram for GET /healthz: cumulative buckets, +Inf == count.
    # (Series are per method: HEAD /healthz has its own.)
    buckets = [(l["le"], v) for n, l, v in s1
               if n == "depesche_http_request_duration_seconds_bucket" and l.get("route") == "/healthz"
               and l.get("method") == "GET"]
    assert len(buckets) >= 5, buckets
    assert buckets[-1][0] == "+Inf"
    les = [float(le) for le, _ in buckets[:-1]]
    assert les == sorted(les), "bucket bounds must increase"
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "histogram buckets must be cumulative"
    count = value_of(s1, "depesche_http_request_duration_seconds_count", route="/healthz", method="GET")
    assert counts[-1] == count
    assert count - value_of(s0, "depesche_http_request_duration_seconds_count", route="/healthz",
                            method="GET") == 3
    assert value_of(s1, "depesche_http_request_duration_seconds_sum", route="/healthz", method="GET") > 0

    # Our own connection was open while the metrics were rendered.
    assert value_of(s1, "depesche_http_open_connections") >= 1


def open_connections(server) -> float:
    _, samples = parse_prometheus(server.get("/metrics").text)
    return value_of(samples, "depesche_http_open_connections")


def test_metrics_open_connections_follow_clients(server):
    socks = []
    try:
        for _ in range(4):
            s = socket.create_connection(server.address, timeout=10)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            data = b""
            while b"\r\n\r\nok\n" not in data:
                chunk = s.recv(4096)
                assert chunk, "server closed a keep-alive connection"
                data += chunk
            socks.append(s)
        # 4 idle keep-alive connections plus the one asking.
        during = open_connections(server)
        assert during >= 5
    finally:
        for s in socks:
            s.close()
    # Closing them is seen by the server shortly after; poll, never sleep blindly.
    deadline = time.monotonic() + 10
    while open_connections(server) > during - 4:
        assert time.monotonic() < deadline, "open connections did not go back down after clients closed"
        time.sleep(0.02)

# --------------------------------------------------------------------------
# Request ids and the JSON access log
# --------------------------------------------------------------------------


def test_responses_carry_unique_request_ids(server):
    ids = set()
    for path in ("/healthz", "/en/", "/api/v1/articles?edition=en&limit=1", "/nope"):
        r = server.get(path)
        rid = r.header("x-request-id")
        assert rid and re.fullmatch(r"[0-9A-Za-z_-]{8,64}", rid), (path, rid)
        ids.add(rid)
    assert len(ids) == 4


def test_access_log_is_json_with_the_request_id(server):
    probe = uuid.uuid4().hex
    r = server.get(f"/en/articles/no-such-story-{probe}")
    assert r.status == 404
    rid = r.header("x-request-id")
    rec = server.wait_for_log(lambda l: l.get("msg") == "access" and l.get("request_id") == rid, 10,
                              f"access log line for request {rid}")
    assert rec["method"] == "GET"
    assert rec["path"] == f"/en/articles/no-such-story-{probe}"
    assert rec["status"] == 404
    assert isinstance(rec.get("duration_us"), int)
    assert rec.get("level") == "info" and re.match(r"\d{4}-\d\d-\d\dT", rec["ts"])


def test_every_stdout_line_is_json(server):
    server.get("/healthz")
    lines = [l for s, l in server.lines if s == "stdout" and l]
    assert lines
    for l in lines:
        rec = json.loads(l)
        assert {"ts", "level", "msg"} <= rec.keys(), l


def test_access_log_stays_valid_json_for_non_utf8_paths(server):
    r = server.get("/en/%FF%FE%C3(-odd")
    assert r.status in (400, 404)
    rid = r.header("x-request-id")
    server.wait_for_log(lambda l: l.get("request_id") == rid, 10, f"access log line for {rid}")
    with server.cond:
        line = next(l for s, l in server.lines if s == "stdout" and l and rid in l)
    assert is_valid_utf8(line), f"log line is not UTF-8: {printable(line)}"
    json.loads(line.encode("utf-8"))


# --------------------------------------------------------------------------
# The ready line
# --------------------------------------------------------------------------


def test_ready_line_names_the_bound_port(server):
    rec = server.ready_line
    host, _, port = rec["address"].rpartition(":")
    assert host == "127.0.0.1"
    assert int(port) != 0
    assert rec["public_url"] == f"http://127.0.0.1:{port}"
    # ... and that is where the server answers.
    with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    assert parse_raw_response(data).status == 200


def test_two_servers_on_port_zero_get_different_ports(server, make_server):
    other = make_server(demo=False)
    assert other.address[1] != server.address[1]
    assert other.get("/healthz").status == 200


# --------------------------------------------------------------------------
# migrate
# --------------------------------------------------------------------------


def schema_rows(data_dir) -> list[tuple[int, int]]:
    return [(r["version"], r["applied_at"]) for r in stored.rows(data_dir, "schema_migrations")]


def test_migrate_on_a_fresh_dir_and_again(tmp_path, bin_path):
    data = tmp_path / "fresh"  # does not exist yet
    first = run_cli(["migrate"], data)
    assert first.returncode == 0, first.stderr
    rows = schema_rows(data)
    assert rows and [v for v, _ in rows] == list(range(1, len(rows) + 1))

    # State written between runs survives the second migrate untouched.
    create_token(data, "survivor", "editor")
    second = run_cli(["migrate"], data)
    assert second.returncode == 0, second.stderr
    assert schema_rows(data) == rows, "a second migrate must not re-apply migrations"
    listed = run_cli(["token", "list"], data)
    assert listed.returncode == 0 and "survivor" in listed.stdout


@sqlite_files_only
def test_migrate_creates_the_sqlite_file_in_the_data_dir(tmp_path, bin_path):
    data = tmp_path / "fresh"
    assert run_cli(["migrate"], data).returncode == 0
    assert stored.sqlite_db_file(data).is_file()


def test_demo_is_idempotent(tmp_path, bin_path):
    data = tmp_path / "d"
    assert run_cli(["demo"], data).returncode == 0
    first = stored.dump(data, "articles", "sections", "live_blogs", "ticker_entries")
    assert len(first["articles"]) >= 3
    assert run_cli(["demo"], data).returncode == 0
    again = stored.dump(data, "articles", "sections", "live_blogs", "ticker_entries")
    assert {t: len(r) for t, r in again.items()} == {t: len(r) for t, r in first.items()}
    assert again == first, "a second demo changed the sample content"


# --------------------------------------------------------------------------
# depesche store dump
# --------------------------------------------------------------------------


def dump_lines(proc) -> list[dict]:
    return [json.loads(l) for l in proc.stdout.splitlines()]


def test_store_dump_prints_every_row_as_json_lines(tmp_path, bin_path):
    data = tmp_path / "dump"  # a first run: its migrations are logged, on stderr
    proc = run_cli(["store", "dump"], data)
    assert proc.returncode == 0, proc.stderr
    assert "schema migrated" in proc.stderr
    recs = dump_lines(proc)  # stdout is the dump and nothing else
    assert recs and all(set(r) == {"table", "row"} for r in recs)
    tables = run_cli(["store", "tables"], data)
    assert tables.returncode == 0, tables.stderr
    names = tables.stdout.split()
    assert names == sorted(names) and {"accounts", "articles", "schema_migrations"} <= set(names)
    assert {r["table"] for r in recs} <= set(names)
    assert "schema_migrations" in {r["table"] for r in recs}

    secret = create_token(data, "dumped", "editor")
    proc = run_cli(["store", "dump", "--table", "api_tokens"], data)
    assert proc.returncode == 0, proc.stderr
    (rec,) = dump_lines(proc)
    row = rec["row"]
    assert rec["table"] == "api_tokens" and row["name"] == "dumped" and row["role"] == "editor"
    assert isinstance(row["created_at"], int) and row["revoked_at"] is None
    assert secret not in proc.stdout, "a token is stored (and dumped) only as its hash"
    # Tables in the order asked for.
    proc = run_cli(["store", "dump", "--table", "schema_migrations", "--table", "api_tokens"], data)
    assert [r["table"] for r in dump_lines(proc)][-1] == "api_tokens"
    assert [r["table"] for r in dump_lines(proc)][0] == "schema_migrations"


def test_store_dump_refuses_unknown_tables_and_writes_nothing(server):
    before = run_cli(["store", "dump"], server.data_dir)
    assert before.returncode == 0, before.stderr
    for bad in ("no_such_table", "articles; DROP TABLE articles", "sqlite_sequence"):
        proc = run_cli(["store", "dump", "--table", "articles", "--table", bad], server.data_dir)
        assert proc.returncode == 1, (bad, proc.stdout[:300])
        assert proc.stdout == "", "rows printed before the unknown table was noticed"
        assert "no table named" in proc.stderr
    # Beside a running server, and it changed nothing.
    assert run_cli(["store", "dump"], server.data_dir).stdout == before.stdout
    assert server.get("/api/v1/articles?edition=en").status == 200


# --------------------------------------------------------------------------
# The test clock (testing.clock_file; tests only)
# --------------------------------------------------------------------------


def test_the_test_clock_moves_the_servers_time(make_server):
    srv = make_server(test_clock=True)
    token = create_token(srv.data_dir, "clock-editor", "editor")
    assert any(r.get("msg", "").startswith("test clock on") for r in srv.log_records()), \
        "a server on the test clock must say so"

    def created_year() -> int:
        r = srv.request("POST", "/api/v1/articles", token=token,
                        json_body={"edition": "en", "section": "politics", "headline": "When?",
                                   "slug": f"when-{uuid.uuid4().hex[:8]}"})
        assert r.status == 201, r
        return int(r.json()["updated_at"][:4])

    now_year = time.gmtime().tm_year
    assert created_year() in (now_year, now_year + 1)  # offset 0 (and a New Year's Eve run)
    srv.advance_clock(3 * 366 * 86400)
    assert created_year() in (now_year + 3, now_year + 4)


def test_the_test_clock_is_off_by_default(server, editor_token):
    assert not any(r.get("msg", "").startswith("test clock on") for r in server.log_records())
    r = server.request("POST", "/api/v1/articles", token=editor_token,
                       json_body={"edition": "en", "section": "politics", "headline": "Now"})
    assert r.status == 201, r
    assert int(r.json()["updated_at"][:4]) in (time.gmtime().tm_year, time.gmtime().tm_year + 1)
    assert "testing.clock_file" in run_cli(["config"], None).stdout


# --------------------------------------------------------------------------
# Configuration errors stop start-up
# --------------------------------------------------------------------------


def serve_expecting_failure(data_dir, extra_env=None, args=("serve",)):
    env = {"DEPESCHE_SERVER_LISTEN": "127.0.0.1:0"}
    env.update(extra_env or {})
    proc = run_cli(list(args), data_dir, env, timeout=30)
    assert proc.returncode != 0, f"start-up should have failed:\n{proc.stdout}\n{proc.stderr}"
    assert '"msg":"ready"' not in proc.stdout, "a server with a bad config must not become ready"
    return proc


def test_unknown_key_in_toml_file_stops_start_up(tmp_path, bin_path):
    cfg = tmp_path / "depesche.toml"
    cfg.write_text('[server]\nlisten = "127.0.0.1:0"\nlisten_backlog = 5\n')
    proc = serve_expecting_failure(tmp_path / "d", args=("serve", "--config", str(cfg)))
    assert "server.listen_backlog" in proc.stderr, proc.stderr


def test_unknown_section_in_toml_file_stops_start_up(tmp_path, bin_path):
    cfg = tmp_path / "depesche.toml"
    cfg.write_text('[servr]\nlisten = "127.0.0.1:0"\n')
    proc = serve_expecting_failure(tmp_path / "d", args=("serve", "--config", str(cfg)))
    assert "servr.listen" in proc.stderr, proc.stderr


def test_wrong_type_in_toml_file_stops_start_up(tmp_path, bin_path):
    cfg = tmp_path / "depesche.toml"
    cfg.write_text('[server]\nthreads = "two"\n')
    proc = serve_expecting_failure(tmp_path / "d", args=("serve", "--config", str(cfg)))
    assert "server.threads" in proc.stderr, proc.stderr


def test_toml_syntax_error_names_the_file(tmp_path, bin_path):
    cfg = tmp_path / "broken.toml"
    cfg.write_text('[server\nlisten = \n')
    proc = serve_expecting_failure(tmp_path / "d", args=("serve", "--config", str(cfg)))
    assert "broken.toml" in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    "var,value,key",
    [
        ("DEPESCHE_SERVER_LISTEN", "notaport", "server.listen"),
        ("DEPESCHE_SERVER_LISTEN", "127.0.0.1:99999", "server.listen"),
        ("DEPESCHE_SERVER_THREADS", "many", "server.threads"),
        ("DEPESCHE_SERVER_MAX_BODY_BYTES", "-1", "server.max_body_bytes"),
        ("DEPESCHE_LOG_ACCESS", "maybe", "log.access"),
        ("DEPESCHE_LOG_LEVEL", "loud", "log.level"),
        ("DEPESCHE_SITE_DEFAULT_EDITION", "fr", "site.default_edition"),
        ("DEPESCHE_SERVER_LISTN", "127.0.0.1:0", "DEPESCHE_SERVER_LISTN"),
    ],
)
def test_bad_environment_value_stops_start_up(tmp_path, bin_path, var, value, key):
    proc = serve_expecting_failure(tmp_path / "d", {var: value})
    assert key in proc.stderr, f"the message should name {key}: {proc.stderr!r}"


def test_config_file_works_and_environment_overrides_it(tmp_path, bin_path):
    cfg = tmp_path / "depesche.toml"
    cfg.write_text('[server]\nlisten = "127.0.0.1:1"\n\n[log]\naccess = false\n\n[site]\nname = "From File"\n')
    data = tmp_path / "cfgdata"
    data.mkdir()
    assert run_cli(["demo"], data).returncode == 0
    srv = ServerProcess(data, {"DEPESCHE_SITE_NAME": "Env Wins"}, args=("serve", "--config", str(cfg))).start()
    try:
        srv.wait_ready()  # listen comes from the environment (127.0.0.1:0), not the file's port 1
        page = srv.get("/en/")
        assert page.status == 200
        assert "<title>Env Wins</title>" in page.text
        assert "From File" not in page.text
    finally:
        srv.assert_clean_exit()
    # log.access = false from the file applies (nothing overrides it).
    assert not [r for r in srv.log_records() if r.get("msg") == "access"]


# --------------------------------------------------------------------------
# Graceful shutdown
# --------------------------------------------------------------------------


# Two I/O threads used to wait the whole drain budget: the other workers'
# contexts ran out of work once their listeners closed, so the drain's
# session count never completed (fixed in 137420e).
@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_idle_server_exits_promptly_on_sigterm(make_server, threads):
    # A 4 s drain budget: an idle server has nothing to drain and must not
    # wait for it.
    srv = make_server({"DEPESCHE_SERVER_THREADS": threads, "DEPESCHE_SERVER_SHUTDOWN_TIMEOUT_MS": "4000"},
                      demo=False)
    assert srv.get("/healthz").status == 200
    started = time.monotonic()
    srv.signal(signal.SIGTERM)
    rc = srv.wait_exit(timeout=20)
    took = time.monotonic() - started
    assert rc == 0
    assert took < 2.0, f"idle server took {took:.1f} s to exit after SIGTERM (drain budget 4 s)"
    warnings = [r for r in srv.log_records() if r.get("level") in ("warn", "error")]
    assert not warnings, f"an idle shutdown should not warn: {warnings}"


def test_quiet_log_level_still_logs_lifecycle(make_server):
    # Scripts wait for "ready"; it is written whatever log.level says.
    srv = make_server({"DEPESCHE_LOG_LEVEL": "warn"}, demo=False)
    r = srv.get("/healthz")
    assert r.status == 200
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(timeout=15) == 0
    msgs = [rec.get("msg") for rec in srv.log_records()]
    assert "ready" in msgs and "stopped" in msgs
    assert "access" not in msgs, "info-level access lines must not appear at log.level=warn"


def test_access_log_can_be_switched_off(make_server):
    srv = make_server({"DEPESCHE_LOG_ACCESS": "false"}, demo=False)
    rid = srv.get("/healthz").header("x-request-id")
    assert rid
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(timeout=15) == 0
    assert not [rec for rec in srv.log_records() if rec.get("msg") == "access"]


def test_in_flight_request_completes_during_shutdown(make_server):
    srv = make_server({"DEPESCHE_SERVER_SHUTDOWN_TIMEOUT_MS": "3000"})
    token = create_token(srv.data_dir, "drain-editor", "editor")

    body = json.dumps({"edition": "en", "section": "politics", "headline": "Written while draining",
                       "slug": "written-while-draining", "body": "Still saved."}).encode()
    head = (
        "POST /api/v1/articles HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    with socket.create_connection(srv.address, timeout=15) as s:
        s.sendall(head)
        # "100 Continue" proves the server has read the head: the request is in flight.
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            assert chunk, f"connection closed before 100 Continue: {got!r}"
            got += chunk
        assert got.startswith(b"HTTP/1.1 100"), got
        srv.signal(signal.SIGTERM)
        srv.wait_for_log(lambda r: r.get("msg") == "shutdown requested", 10, "the shutdown log line")
        s.sendall(body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    resp = parse_raw_response(data)
    assert resp.status == 201, data[:500]
    assert (resp.header("connection") or "").lower() == "close"
    article = json.loads(resp.body)
    assert srv.wait_exit(timeout=3 + 15) == 0

    # The write the client was told about is stored.
    row = stored.one_row(srv, "articles", id=article["id"])
    assert row is not None and (row["headline"], row["status"]) == ("Written while draining", "draft")


def test_stuck_request_does_not_hold_shutdown_beyond_the_timeout(make_server):
    srv = make_server({"DEPESCHE_SERVER_SHUTDOWN_TIMEOUT_MS": "300"}, demo=False)
    with socket.create_connection(srv.address, timeout=15) as s:
        # A head announcing a body that never comes: the connection is busy.
        s.sendall(b"POST /api/v1/articles HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\nExpect: 100-continue\r\n\r\n")
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            assert chunk
            got += chunk
        assert got.startswith(b"HTTP/1.1 100")
        started = time.monotonic()
        srv.signal(signal.SIGTERM)
        rc = srv.wait_exit(timeout=15)
        took = time.monotonic() - started
    reports = sanitizer_reports(srv.all_text())
    assert not reports, "sanitizer report at shutdown:\n" + sanitizer_excerpt(srv.all_text(), 25)
    assert rc == 0
    assert took < 5, f"exit took {took:.1f} s with a 0.3 s drain budget"
    warn = [r for r in srv.log_records() if r.get("level") == "warn"]
    assert warn and warn[0].get("connections") == 1, warn


def test_sigterm_closes_idle_keep_alive_connections(make_server):
    srv = make_server({"DEPESCHE_SERVER_THREADS": "1"}, demo=False)
    with socket.create_connection(srv.address, timeout=15) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        data = b""
        while b"ok\n" not in data:
            data += s.recv(4096)
        srv.signal(signal.SIGTERM)
        # The server closes our idle connection instead of waiting on it.
        s.settimeout(10)
        assert s.recv(4096) == b""
    assert srv.wait_exit(timeout=10) == 0


def test_pipelined_requests_are_answered_in_order(server):
    data = server.raw(
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /robots.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    resps = split_raw_responses(data)
    assert [r.status for r in resps] == [200, 200, 200]
    assert [r.body for r in resps[:2]] == [b"ok\n", b"ready\n"]
    assert b"User-agent" in resps[2].body


# --------------------------------------------------------------------------
# API tokens on the command line
# --------------------------------------------------------------------------


def test_token_cli(tmp_path, bin_path):
    data = tmp_path / "tok"
    secret = create_token(data, "wire-ingest", "editor")
    assert re.fullmatch(r"dp_[A-Za-z0-9_-]{30,}", secret)
    assert create_token(data, "second", "editor") != secret

    dup = run_cli(["token", "create", "--role", "editor", "--name", "wire-ingest"], data)
    assert dup.returncode != 0
    assert not dup.stdout.strip().startswith("dp_"), "no second secret for a taken name"
    bad = run_cli(["token", "create", "--role", "editor", "--name", "has space"], data)
    assert bad.returncode != 0 and "name" in bad.stderr
    role = run_cli(["token", "create", "--role", "emperor", "--name", "x"], data)
    assert role.returncode != 0

    listed = run_cli(["token", "list"], data)
    assert listed.returncode == 0
    assert "wire-ingest" in listed.stdout and "editor" in listed.stdout
    assert secret not in listed.stdout
    # Stored hashed: the secret is nowhere in the store.
    assert secret not in stored.stored_text(data)
    assert [t["name"] for t in stored.rows(data, "api_tokens")] == ["wire-ingest", "second"]

    assert run_cli(["token", "revoke", "--name", "wire-ingest"], data).returncode == 0
    assert "revoked" in run_cli(["token", "list"], data).stdout
    again = run_cli(["token", "revoke", "--name", "wire-ingest"], data)
    assert again.returncode != 0, "revoking a token twice (or a misspelt name) must not look like success"
    unknown = run_cli(["token", "revoke", "--name", "no-such-token"], data)
    assert unknown.returncode != 0


@sqlite_files_only
def test_token_secret_is_not_in_the_sqlite_files(tmp_path, bin_path):
    data = tmp_path / "tokfiles"
    secret = create_token(data, "wire-ingest", "editor")
    raw = stored.sqlite_file_bytes(data)
    assert raw and secret.encode() not in raw
