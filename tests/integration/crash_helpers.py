"""Shared pieces of the crash suites (test_live_crash.py,
test_account_crash.py, test_crash_mixed.py).

- `crash_cycles`, `crash_rng`: the number of kill cycles
  (DEPESCHE_CRASH_CYCLES, each suite has its own default) and the random
  source for the kill moments (DEPESCHE_CRASH_SEED repeats a run; the seed
  is printed either way).
- `CrashingServer`: one data directory whose server is killed with SIGKILL
  and started again on it, any number of times; a server still running
  when the test ends early is killed, so a failed test leaves no process.
- `Load`: a thread that makes one request after another until told to
  stop, or until the server is gone; what it was not answered was not
  acknowledged.

Only the Python standard library and pytest are used.
"""

from __future__ import annotations

import http.client
import os
import random
import signal
import threading
import time
from pathlib import Path

from conftest import ServerProcess, sanitizer_excerpt, sanitizer_reports, start_server


def crash_cycles(default: int) -> int:
    """How many SIGKILL cycles a crash suite runs (DEPESCHE_CRASH_CYCLES)."""
    return int(os.environ.get("DEPESCHE_CRASH_CYCLES", str(default)))


def crash_rng() -> tuple[random.Random, int]:
    """The random source for kill moments and its seed; DEPESCHE_CRASH_SEED
    repeats a run's choices (the timing of the server still differs)."""
    seed = int(os.environ.get("DEPESCHE_CRASH_SEED", str(time.time_ns())))
    print(f"[crash] DEPESCHE_CRASH_SEED={seed}")
    return random.Random(seed), seed


class CrashingServer:
    """`depesche serve` on one data directory, killed and restarted at will.

    Use it as a context manager: leaving the block early (a failed
    assertion) kills whatever server is still running; `close()` is the
    regular end, a SIGTERM that must exit cleanly."""

    def __init__(self, data_dir: Path, env: dict | None = None):
        self.data_dir = Path(data_dir)
        self.env = dict(env or {})
        self.srv: ServerProcess | None = None
        self.kills = 0

    def __enter__(self) -> "CrashingServer":
        return self

    def __exit__(self, *exc) -> None:
        if self.srv is not None:
            self.srv.kill()

    def start(self) -> ServerProcess:
        assert self.srv is None or self.srv.exit_code is not None, "a server is running"
        self.srv = start_server(self.data_dir, self.env)
        return self.srv

    def kill_hard(self) -> None:
        """SIGKILL: no drain, no flush, no exit handler. The process must
        die of the signal, and nothing it wrote before may be a sanitizer
        report."""
        srv = self.srv
        assert srv is not None
        srv.signal(signal.SIGKILL)
        assert srv.wait_exit(10) == -signal.SIGKILL, f"not killed:\n{srv.output()}"
        assert not sanitizer_reports(srv.all_text()), sanitizer_excerpt(srv.all_text())
        self.kills += 1

    def restart(self) -> ServerProcess:
        """A new server on the same data directory, once it is ready."""
        return self.start()

    def close(self) -> None:
        """The regular end: SIGTERM, exit 0, no sanitizer report."""
        if self.srv is not None:
            srv, self.srv = self.srv, None
            srv.assert_clean_exit()


class Load(threading.Thread):
    """Calls `attempt()` until told to stop, until it returns False, or
    until the server is gone (an OSError, or an answer cut short: the
    request in hand was not acknowledged). Subclasses keep what the server
    acknowledged."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                if not self.attempt():
                    return
            except (OSError, http.client.HTTPException):
                return

    def attempt(self) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError


def stop_loads(loads: list[Load], timeout: float = 15) -> None:
    """Tells every load to stop and waits for each (they end by themselves
    once the server is killed)."""
    for load in loads:
        load.stop.set()
    for load in loads:
        load.join(timeout)
        assert not load.is_alive(), f"{load!r} did not stop within {timeout} s"
