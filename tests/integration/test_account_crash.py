"""An accepted registration survives a crash: readers register under load
while the server is killed with SIGKILL at random moments; after the
restarts every address that was answered 202 gets its confirmation mail,
and its link confirms the account with the password given. Nothing is
read from the database: the mails (the maildir outbox), the API and a
login say it all, so the test runs unchanged on any store.

DEPESCHE_CRASH_CYCLES sets the number of kill cycles (default 4 here)."""

from __future__ import annotations

import os
import random
import signal
import threading
import time

from account_helpers import HIGH_LIMITS, PASSWORD, Browser, MaildirBox, unique_email, wait_until
from conftest import ServerProcess, sanitizer_excerpt, sanitizer_reports

CYCLES = int(os.environ.get("DEPESCHE_CRASH_CYCLES", "4"))
WRITERS = 3


class Registrant(threading.Thread):
    """Registers new addresses until told to stop; keeps those answered 202."""

    def __init__(self, srv: ServerProcess, tag: str):
        super().__init__(daemon=True)
        self.srv, self.tag = srv, tag
        self.accepted: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            address = unique_email(self.tag)
            try:
                r = Browser(self.srv).api("POST", "/api/v1/auth/register", {
                    "email": address, "password": PASSWORD, "display_name": "Crash Reader",
                    "edition": "en"}, csrf=False)
            except OSError:
                return  # the server is gone: what was not answered was not accepted
            if r.status == 202:
                self.accepted.append(address)
            elif r.status >= 500:
                return


def test_sigkill_loses_no_accepted_registration(make_server):
    rng = random.Random(int(os.environ.get("DEPESCHE_CRASH_SEED", str(time.time_ns()))))
    srv = make_server(dict(HIGH_LIMITS), demo=False)
    data, env = srv.data_dir, dict(HIGH_LIMITS)
    accepted: list[str] = []
    for cycle in range(CYCLES):
        writers = [Registrant(srv, f"crash{cycle}w{i}") for i in range(WRITERS)]
        for w in writers:
            w.start()
        # Argon2 makes each registration take a while: kill somewhere inside
        # the first few, when some are committed and not yet answered.
        time.sleep(rng.uniform(0.2, 1.5))
        srv.signal(signal.SIGKILL)
        assert srv.wait_exit(10) == -signal.SIGKILL
        assert not sanitizer_reports(srv.all_text()), sanitizer_excerpt(srv.all_text())
        for w in writers:
            w.stop.set()
            w.join(15)
            accepted.extend(w.accepted)
        srv = ServerProcess(data, env).start()
        srv.wait_ready()

    box = MaildirBox(data)
    # The outbox delivers after the restart what was committed before the kill.
    wait_until(lambda: all(box.for_address(a) for a in accepted), 60,
               f"a confirmation mail for each of {len(accepted)} accepted addresses")
    for address in accepted:
        mail = box.for_address(address)[-1]
        b = Browser(srv)
        r = b.api("POST", "/api/v1/auth/confirm", {"token": mail.token("/account/confirm")},
                  csrf=False)
        assert r.status == 200, f"{address}: the mailed link did not confirm: {r}"
        r = b.login(address, PASSWORD)
        assert r.status == 200, f"{address}: no login with the registered password: {r}"
        assert b.me().json()["may_post"] is True, address
    srv.assert_clean_exit()
    assert len(accepted) >= CYCLES, f"the load was too light to test anything: {len(accepted)}"
    print(f"[crash] {CYCLES} SIGKILL cycles, {len(accepted)} accepted registrations, "
          "every one mailed and confirmable, 0 lost")
