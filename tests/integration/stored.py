"""Stored state, read from outside the server: the one module of the
integration tests that knows how.

Everything here goes through `depesche store dump` (one JSON object per
stored row, through the Store interface), so the suites run unchanged on
any store the binary supports: a later PostgreSQL run changes this module
(and the environment the servers get), not the tests. The dump shows
tables and columns by the names every store shares, booleans as 0/1 and
times as Unix milliseconds (see Store::dump in src/store/store.hpp).

The exceptions are the `sqlite_*` helpers, which read the SQLite files in
the data directory byte for byte. Only tests about the SQLite store's own
files use them, and those tests carry `@sqlite_files_only`, which skips
them when the suite runs against another store.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import threading
import urllib.parse
from pathlib import Path

import pytest

from conftest import run_cli

# Which store the servers under test use: empty for the embedded SQLite
# store (the default), else the URL of a PostgreSQL server
# (postgres://user@host:port/db?...), on which every data directory gets a
# database of its own (see store_url_for). The switch is made here and
# nowhere else.
TEST_STORE_URL = os.environ.get("INTEG_STORE_URL", "")


def store_kind() -> str:
    if not TEST_STORE_URL:
        return "sqlite"
    scheme = TEST_STORE_URL.split(":", 1)[0]
    return "postgres" if scheme in ("postgres", "postgresql") else scheme


_created: set[str] = set()
_created_lock = threading.Lock()


def _database_name(data_dir: Path) -> str:
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:24]
    return f"it_{digest}"


def store_url_for(data_dir) -> str | None:
    """The store.url for the servers and commands of `data_dir`: None for
    SQLite (the store is a file in the data dir), else a database of its
    own on the PostgreSQL server of INTEG_STORE_URL, created empty the first
    time the data dir is used. One data dir is one store, as on SQLite: a
    server restarted on it, and the CLI run beside it, see the same data;
    another data dir starts from nothing."""
    if store_kind() != "postgres":
        return None
    name = _database_name(Path(data_dir))
    base = urllib.parse.urlsplit(TEST_STORE_URL)
    with _created_lock:
        if name not in _created:
            # psql from Debian's postgresql-client, which the server package
            # brings; the standard library has no PostgreSQL client.
            proc = subprocess.run(
                ["psql", TEST_STORE_URL, "-v", "ON_ERROR_STOP=1", "-qc", f"CREATE DATABASE {name}"],
                capture_output=True, text=True, timeout=60)
            assert proc.returncode == 0, f"CREATE DATABASE {name} failed:\n{proc.stderr}"
            _created.add(name)
    return urllib.parse.urlunsplit(base._replace(path="/" + name))


sqlite_files_only = pytest.mark.skipif(
    store_kind() != "sqlite", reason="reads the SQLite store's own files")


def _data_dir(srv_or_dir) -> Path:
    return Path(srv_or_dir.data_dir if hasattr(srv_or_dir, "data_dir") else srv_or_dir)


def _value(v):
    # Bytes (and text that is not UTF-8) come as {"hex": "..."}.
    if isinstance(v, dict) and set(v) == {"hex"}:
        return bytes.fromhex(v["hex"])
    return v


def dump(srv_or_dir, *tables: str) -> dict[str, list[dict]]:
    """Every stored row of `tables` (all tables when none is named), as one
    consistent snapshot: table name -> rows (column -> value) in primary-key
    order. A named table without rows maps to []."""
    args = ["store", "dump"]
    for t in tables:
        args += ["--table", t]
    proc = run_cli(args, _data_dir(srv_or_dir))
    assert proc.returncode == 0, f"depesche store dump failed ({proc.returncode}):\n{proc.stderr}"
    out: dict[str, list[dict]] = {t: [] for t in tables}
    for line in proc.stdout.splitlines():
        rec = json.loads(line)  # stdout holds nothing but the dump
        assert set(rec) == {"table", "row"}, rec
        out.setdefault(rec["table"], []).append({k: _value(v) for k, v in rec["row"].items()})
    return out


def rows(srv_or_dir, table: str, **match) -> list[dict]:
    """The rows of `table` whose columns equal `match`, in primary-key order."""
    return [r for r in dump(srv_or_dir, table)[table]
            if all(r.get(k) == v for k, v in match.items())]


def one_row(srv_or_dir, table: str, **match) -> dict | None:
    """The single row matching (None when there is none; two fail the test)."""
    found = rows(srv_or_dir, table, **match)
    assert len(found) <= 1, f"{len(found)} rows of {table} match {match}"
    return found[0] if found else None


def count(srv_or_dir, table: str, **match) -> int:
    return len(rows(srv_or_dir, table, **match))


def account(srv_or_dir, address: str) -> dict | None:
    """The stored account row of an address (addresses are stored lower-case)."""
    return one_row(srv_or_dir, "accounts", email=address.lower())


def _texts(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def stored_text(srv_or_dir) -> str:
    """Every stored value of every table, as text, one per line (for
    searching for secrets that must never be stored in clear)."""
    out = []
    for table_rows in dump(srv_or_dir).values():
        for r in table_rows:
            out.extend(t for t in map(_texts, r.values()) if t is not None)
    return "\n".join(out)


def columns_containing(srv_or_dir, needle: str) -> list[str]:
    """"table.column" of every stored value that contains `needle`."""
    found = set()
    for table, table_rows in dump(srv_or_dir).items():
        for r in table_rows:
            for name, v in r.items():
                t = _texts(v)
                if t is not None and needle in t:
                    found.add(f"{table}.{name}")
    return sorted(found)


# --------------------------------------------------------------------------
# The SQLite files themselves (tests marked @sqlite_files_only)
# --------------------------------------------------------------------------


def sqlite_db_file(srv_or_dir) -> Path:
    """Where the embedded store keeps its database."""
    return _data_dir(srv_or_dir) / "depesche.db"


def sqlite_file_bytes(srv_or_dir) -> bytes:
    """The database file plus its WAL, shared-memory and journal files, as
    they lie on disk (free pages and old WAL frames included)."""
    base = sqlite_db_file(srv_or_dir)
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(str(base) + suffix)
        if p.exists():
            data += p.read_bytes()
    return data


def sqlite_query(srv_or_dir, sql: str, params: tuple = ()) -> list[tuple]:
    """The rows of one query on the SQLite store's file, through a
    read-only connection (mode=ro: it never writes, recovers or
    checkpoints, so it changes nothing the server sees; call it while the
    server runs, which has recovered the file). For the tests about the
    file itself only: PRAGMA integrity_check and structural consistency
    (rows that must come together); stored content goes through dump()."""
    uri = sqlite_db_file(srv_or_dir).resolve().as_uri() + "?mode=ro"
    con = sqlite3.connect(uri, uri=True, timeout=10)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()
