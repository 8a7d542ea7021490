"""store.url chooses the store at start: empty for the embedded SQLite file
in the data dir, postgres:// (or postgresql://) for PostgreSQL. A URL that
names another scheme, or that libpq cannot parse, stops start-up with a
message naming store.url (and never repeating a password in it); a
PostgreSQL server that cannot be reached stops it too, with a clear
message and a plain non-zero exit, not a crash.

On PostgreSQL, the lock that keeps one server per data directory stays
per data directory: two servers with data directories of their own share
one database, and what one writes the other serves."""

from __future__ import annotations

import pytest

import stored
from account_helpers import free_port, wait_until
from conftest import create_token, http_request, run_cli

postgres_only = pytest.mark.skipif(stored.store_kind() != "postgres",
                                   reason="needs a PostgreSQL server (INTEG_STORE_URL)")


def start_fails(data_dir, url: str, command=("serve",), code: int = 1):
    # 2 for a bad configuration, 1 for a store that cannot be opened; a
    # signal (negative) would be a crash, not a refusal.
    proc = run_cli(list(command), data_dir,
                   {"DEPESCHE_SERVER_LISTEN": "127.0.0.1:0", "DEPESCHE_STORE_URL": url}, timeout=60)
    assert proc.returncode == code, f"exit {proc.returncode}, not {code}:\n{proc.stderr}"
    assert '"msg":"ready"' not in proc.stdout
    return proc


@pytest.mark.parametrize("url,expect", [
    ("mysql://root:hunter2@127.0.0.1/news", "'mysql' is not a store"),
    ("sqlite:///tmp/depesche.db", "'sqlite' is not a store"),
    ("redis://127.0.0.1:6379", "'redis' is not a store"),
    ("/var/lib/depesche/depesche.db", "no scheme"),
    ("postgres://127.0.0.1/news?no_such_option=1", "not a valid PostgreSQL URL"),
    ("postgresql://u:hunter2@127.0.0.1/news%zz", "not a valid PostgreSQL URL"),
])
def test_a_bad_store_url_stops_start_up_naming_the_key(tmp_path, bin_path, url, expect):
    for command in (("serve",), ("migrate",), ("store", "tables")):
        proc = start_fails(tmp_path / "d", url, command, code=2)
        assert "store.url" in proc.stderr and expect in proc.stderr, proc.stderr
        assert "hunter2" not in proc.stdout + proc.stderr, "the password is repeated"


def test_an_unreachable_postgresql_stops_start_up_with_a_clear_message(tmp_path, bin_path):
    # Nothing listens on this port: connecting is refused at once.
    url = f"postgres://depesche:hunter2@127.0.0.1:{free_port()}/news?connect_timeout=5"
    for command in (("serve",), ("demo",), ("token", "list")):
        proc = start_fails(tmp_path / "d", url, command)
        assert "store.url: cannot connect to PostgreSQL" in proc.stderr, proc.stderr
        assert "hunter2" not in proc.stdout + proc.stderr, "the password is repeated"


@postgres_only
def test_two_servers_with_their_own_data_dirs_share_one_postgresql(make_server, tmp_path):
    first = make_server()
    shared = {"DEPESCHE_STORE_URL": stored.store_url_for(first.data_dir)}
    # Its own data dir, so its own lock; the demo is already in the database.
    second = make_server(shared, demo=False, data_dir=tmp_path / "second-node")
    token = create_token(first.data_dir, "node-a", "editor")
    r = http_request(first.address, "POST", "/api/v1/tickers/en/entries", token=token,
                     json_body={"body": "posted on node A"})
    assert r.status == 201, r
    entry = r.json()

    def served_by_second():
        r = http_request(second.address, "GET", "/api/v1/tickers/en/entries?limit=5")
        return r.status == 200 and any(e["id"] == entry["id"] for e in r.json()["items"])

    wait_until(served_by_second, 10, "node B serving the entry node A wrote")
    # The token lives in the store, so it works on either node.
    r = http_request(second.address, "POST", "/api/v1/tickers/en/entries", token=token,
                     json_body={"body": "posted on node B"})
    assert r.status == 201, r
    for srv in (first, second):
        assert http_request(srv.address, "GET", "/readyz").status == 200


@postgres_only
def test_the_sqlite_parts_stay_off_on_postgresql(server):
    # No WAL checkpointer and no SQLite file: the data dir keeps media and
    # the outbox only.
    assert not stored.sqlite_db_file(server).exists()
    text = server.get("/metrics").text
    assert "depesche_wal_" not in text
    assert "depesche_relay_position" in text
    assert server.get("/readyz").status == 200
