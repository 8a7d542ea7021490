"""Nothing acknowledged is lost between commit and publish: entries are
posted under load while the server is killed with SIGKILL at random
moments; after every restart a reader resumes with its last seq and epoch
and must get every acknowledged entry, in order, once, and never a
`resync` (the event log holds them all). The relay publishes from the
log, so an entry committed just before the kill still reaches readers.

DEPESCHE_CRASH_CYCLES sets the number of kill cycles (default 6 here),
DEPESCHE_CRASH_SEED repeats a run's kill moments (crash_helpers.py)."""

from __future__ import annotations

import threading
import time

from conftest import create_token, http_request, run_demo
from crash_helpers import CrashingServer, Load, crash_cycles, crash_rng, stop_loads
from ws_client import WSClient, WSClosed, WSError, WSTimeout

CYCLES = crash_cycles(6)
WRITERS = 3
TOPIC = "ticker:de"


class Writer(Load):
    """Posts entries until told to stop; keeps the ids the server acknowledged."""

    def __init__(self, address, token: str, name: str):
        super().__init__()
        self.address, self.token, self.tag = address, token, name
        self.acked: list[int] = []
        self.n = 0

    def attempt(self) -> bool:
        self.n += 1
        r = http_request(self.address, "POST", "/api/v1/tickers/de/entries", token=self.token,
                         json_body={"body": f"{self.tag} entry {self.n}"}, timeout=5)
        if r.status == 201:
            self.acked.append(r.json()["id"])
        return r.status < 500


class Reader(threading.Thread):
    """Follows the ticker on one server until the connection dies."""

    def __init__(self, address, since: int | None, epoch: int | None, log: list, resyncs: list):
        super().__init__(daemon=True)
        self.ws = WSClient.connect(address, timeout=10)
        self.log, self.resyncs = log, resyncs
        self.ws.subscribe(TOPIC, since=since, epoch=epoch)
        sub = self.ws.wait_json(lambda m: m["type"] == "subscribed")
        self.epoch, self.head = sub["epoch"], sub["seq"]

    def run(self) -> None:
        try:
            while True:
                m = self.ws.recv_json(timeout=120)
                if m["type"] == "event":
                    self.log.append((m["seq"], m["event"], m["data"].get("id")))
                elif m["type"] == "resync":
                    self.resyncs.append(m)
        except (WSClosed, WSError, WSTimeout, OSError):
            return


def test_sigkill_between_commit_and_publish_loses_no_acknowledged_entry(bin_path, tmp_path):
    rng, _ = crash_rng()
    data = tmp_path / "data"
    data.mkdir()
    run_demo(data)
    with CrashingServer(data) as target:
        srv = target.start()
        token = create_token(data, "crash-editor", "editor")
        events: list[tuple[int, str, int]] = []  # (seq, event, entry id) as the reader got them
        resyncs: list = []
        acked: list[int] = []
        reader = Reader(srv.address, None, None, events, resyncs)
        epoch, start = reader.epoch, reader.head
        reader.start()
        for cycle in range(CYCLES):
            writers = [Writer(srv.address, token, f"c{cycle}w{i}") for i in range(WRITERS)]
            for w in writers:
                w.start()
            # Kill at a random moment under load: some entries are committed,
            # their answers or their live events not yet sent.
            time.sleep(rng.uniform(0.05, 0.6))
            target.kill_hard()
            stop_loads(writers)
            for w in writers:
                acked.extend(w.acked)
            reader.join(30)
            srv = target.restart()
            last = events[-1][0] if events else start
            reader = Reader(srv.address, last, epoch, events, resyncs)
            assert reader.epoch == epoch, "a restart must not change the topic's history"
            reader.start()
        # Everything acknowledged has to arrive; wait for the reader to catch up.
        deadline = time.monotonic() + 60
        wanted = set(acked)
        while time.monotonic() < deadline and not wanted <= {e[2] for e in events}:
            time.sleep(0.05)
        target.close()
    reader.join(30)
    assert not resyncs, f"resync inside retention: {resyncs}"
    seqs = [e[0] for e in events]
    assert seqs == list(range(start + 1, start + 1 + len(seqs))), "gaps, repeats or disorder"
    got = [e[2] for e in events if e[1] == "ticker.entry"]
    assert len(got) == len(set(got)), "an entry arrived twice"
    missing = wanted - set(got)
    assert not missing, f"{len(missing)} of {len(wanted)} acknowledged entries never arrived"
    assert len(acked) >= CYCLES, f"the load was too light to test anything: {len(acked)} entries"
    print(f"[crash] {CYCLES} SIGKILL cycles, {len(acked)} acknowledged entries, "
          f"{len(got)} delivered (unacknowledged but committed ones included), 0 lost")
