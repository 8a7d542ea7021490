"""An accepted registration survives a crash: readers register under load
while the server is killed with SIGKILL at random moments; after the
restarts every address that was answered 202 gets its confirmation mail,
and its link confirms the account with the password given. Nothing is
read from the database: the mails (the maildir outbox), the API and a
login say it all, so the test runs unchanged on any store.

DEPESCHE_CRASH_CYCLES sets the number of kill cycles (default 4 here),
DEPESCHE_CRASH_SEED repeats a run's kill moments (crash_helpers.py)."""

from __future__ import annotations

import time

from account_helpers import HIGH_LIMITS, PASSWORD, Browser, MaildirBox, unique_email, wait_until
from conftest import ServerProcess
from crash_helpers import CrashingServer, Load, crash_cycles, crash_rng, stop_loads

CYCLES = crash_cycles(4)
WRITERS = 3


class Registrant(Load):
    """Registers new addresses until told to stop; keeps those answered 202."""

    def __init__(self, srv: ServerProcess, tag: str):
        super().__init__()
        self.srv, self.tag = srv, tag
        self.accepted: list[str] = []

    def attempt(self) -> bool:
        address = unique_email(self.tag)
        r = Browser(self.srv).api("POST", "/api/v1/auth/register", {
            "email": address, "password": PASSWORD, "display_name": "Crash Reader",
            "edition": "en"}, csrf=False)
        if r.status == 202:
            self.accepted.append(address)
        return r.status < 500


def test_sigkill_loses_no_accepted_registration(bin_path, tmp_path):
    rng, _ = crash_rng()
    data = tmp_path / "data"
    data.mkdir()
    accepted: list[str] = []
    with CrashingServer(data, HIGH_LIMITS) as target:
        srv = target.start()
        for cycle in range(CYCLES):
            writers = [Registrant(srv, f"crash{cycle}w{i}") for i in range(WRITERS)]
            for w in writers:
                w.start()
            # Argon2 makes each registration take a while: kill somewhere inside
            # the first few, when some are committed and not yet answered.
            time.sleep(rng.uniform(0.2, 1.5))
            target.kill_hard()
            stop_loads(writers)
            for w in writers:
                accepted.extend(w.accepted)
            srv = target.restart()

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
        target.close()
    assert len(accepted) >= CYCLES, f"the load was too light to test anything: {len(accepted)}"
    print(f"[crash] {CYCLES} SIGKILL cycles, {len(accepted)} accepted registrations, "
          "every one mailed and confirmable, 0 lost")
