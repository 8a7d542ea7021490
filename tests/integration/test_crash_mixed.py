"""Durability under a mixed write load: ticker entries, registrations,
article creates, updates and publications, and mail delivery to a real SMTP
server (aiosmtpd) all at once, while the server is killed with SIGKILL at
random moments and started again on the same data directory.

After every restart:
- every acknowledged write (a 2xx answer received in full) is there and
  intact, read back through the API, the pages and `depesche store dump`:
  entries with their text and flags; articles with every field as last
  acknowledged (or with the one update in flight at the kill applied
  whole, never in part); for every accepted registration an account with
  its confirmation link and its mail, queued or delivered;
- a POST in flight at the kill is sent again with its Idempotency-Key: it
  is answered 2xx (replayed when the first attempt was committed) and its
  write exists once;
- every mail the SMTP server received carries the Message-ID stored with it
  in the outbox, one per registration however often it arrived (a mail
  delivered just before the kill may come again after it, never under a
  new id), and every mail the outbox marked sent was received;
- on SQLite, the file passes `PRAGMA integrity_check` and
  `foreign_key_check`, and nothing is half-written: no account without its
  link and mail, no article without the revisions of its earlier versions,
  no entry without its event (nor an event without its entry), no
  remembered answer without its change, no gap in a topic's seq. These
  read the file itself (stored.sqlite_query) and are skipped on
  PostgreSQL; the rest runs on any store.

Each cycle reads back its own writes and a sample of older ones; every
DEPESCHE_CRASH_FULL_CHECK_EVERY cycles (default 100) and at the end, all
of them. Problems are collected rather than raised, so a long run reports
everything it found; the test fails at the end if there was any.

DEPESCHE_CRASH_CYCLES sets the number of kill cycles (default 6: the short
version in `make test`; `make soak` runs 1,000), DEPESCHE_CRASH_SEED
repeats a run's choices, DEPESCHE_CRASH_REPORT names a file for the
summary as JSON (`make soak` writes bench/results/soak.json)."""

from __future__ import annotations

import collections
import html
import json
import os
import random
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import stored
from account_helpers import HIGH_LIMITS, PASSWORD, Browser, SmtpSink, wait_until
from conftest import Resp, ServerProcess, create_token, http_request, run_demo, urlencode
from crash_helpers import CrashingServer, Load, crash_cycles, crash_rng, stop_loads

CYCLES = crash_cycles(6)
FULL_CHECK_EVERY = int(os.environ.get("DEPESCHE_CRASH_FULL_CHECK_EVERY", "100"))
REPORT = os.environ.get("DEPESCHE_CRASH_REPORT", "")
ENTRY_TICKERS = ("de", "de", "en")  # two writers share a ticker, and so its seq
REGISTRANTS = 2
KILL_AFTER_S = (0.05, 1.2)  # load time before the kill, drawn per cycle
SAMPLE = 8  # older writes of each kind read back per cycle
DUMP_EVERY = 10  # cycles between store dumps once past the first 20
DOMAIN = "crash-mixed.example.org"  # every address registered here
TIMEOUT_S = 10.0
ENV = {
    **HIGH_LIMITS,
    # A mail whose delivery failed (the sink is always up, but a kill can
    # cut a delivery short) is retried soon, not after 15 s.
    "DEPESCHE_MAIL_RETRY_FIRST_MS": "200",
    "DEPESCHE_MAIL_RETRY_MAX_MS": "1000",
}
ARTICLE_SECTIONS = {"en": "politics", "de": "politik"}
ARTICLE_FIELDS = ("section", "headline", "teaser", "body", "tags", "author")
OUR_ENTRY = re.compile(r"^c\d+w\d+ entry \d+: ")  # every entry body posted here is unique


# --------------------------------------------------------------------------
# What was written, and what went wrong
# --------------------------------------------------------------------------


@dataclass
class Post:
    """A POST in hand: sent again with the same key after a kill."""
    path: str
    payload: dict
    key: str


@dataclass
class Entry:
    id: int
    ticker: str
    payload: dict
    cycle: int


@dataclass
class Article:
    id: int
    edition: str
    slug: str
    fields: dict  # ARTICLE_FIELDS as last acknowledged
    version: int
    status: str
    cycle: int  # the last cycle that changed it
    updates_left: int
    pending: dict | None = None  # a PATCH in flight: the fields it sets


@dataclass
class Ledger:
    """Every acknowledged write of the run, and the tallies of the report."""
    entries: dict[int, Entry] = field(default_factory=dict)
    articles: dict[int, Article] = field(default_factory=dict)
    registrations: dict[str, int] = field(default_factory=dict)  # address -> cycle
    acknowledged: collections.Counter = field(default_factory=collections.Counter)
    retried: collections.Counter = field(default_factory=collections.Counter)
    replayed: collections.Counter = field(default_factory=collections.Counter)
    committed_unacknowledged: collections.Counter = field(default_factory=collections.Counter)
    lost: collections.Counter = field(default_factory=collections.Counter)
    duplicated: collections.Counter = field(default_factory=collections.Counter)
    half_written: collections.Counter = field(default_factory=collections.Counter)
    integrity_failures: int = 0
    unexpected: int = 0
    problems: list[str] = field(default_factory=list)
    mails: collections.Counter = field(default_factory=collections.Counter)
    mails_seen: list[tuple[str, str | None]] = field(default_factory=list)  # (Message-ID, to)
    sqlite_marks: tuple[int, int] = (0, 0)  # newest entry id, event position at the last check
    current_article: Article | None = None
    cycle: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, kind: str) -> None:
        with self.lock:  # the writers count from their own threads
            self.acknowledged[kind] += 1

    def problem(self, tally: collections.Counter | None, kind: str, text: str) -> None:
        if tally is not None:
            tally[kind] += 1
        self.problems.append(f"cycle {self.cycle}: {text}")
        print(f"[crash-mixed] PROBLEM cycle {self.cycle}: {text}")

    def unexpected_answer(self, what: str, r: Resp) -> None:
        self.unexpected += 1
        self.problem(None, "", f"{what} answered {r.status}: {r.body[:300]!r}")


def post(srv: ServerProcess, token: str, p: Post) -> Resp:
    return http_request(srv.address, "POST", p.path, json_body=p.payload, token=token,
                        headers={"Idempotency-Key": p.key}, timeout=TIMEOUT_S)


def replayed(r: Resp) -> bool:
    return (r.header("idempotent-replayed") or "").lower() == "true"


# --------------------------------------------------------------------------
# The writers: one thread each, new ones every cycle, the ledger for all
# --------------------------------------------------------------------------


class EntryWriter(Load):
    """Posts entries to one ticker, each with an Idempotency-Key."""

    def __init__(self, ledger: Ledger, srv: ServerProcess, token: str, ticker: str, tag: str):
        super().__init__()
        self.ledger, self.srv, self.token, self.ticker, self.tag = ledger, srv, token, ticker, tag
        self.n = 0
        self.in_flight: Post | None = None

    def attempt(self) -> bool:
        self.n += 1
        payload = {"body": f"{self.tag} entry {self.n}: the *{self.ticker}* desk reports."}
        if self.n % 2:
            payload["title"] = f"{self.tag} title {self.n}"
        if self.n % 5 == 0:
            payload["breaking"] = True
        self.in_flight = Post(f"/api/v1/tickers/{self.ticker}/entries", payload,
                              f"{self.tag}-e{self.n}")
        r = post(self.srv, self.token, self.in_flight)
        self.in_flight = None
        return entry_answered(self.ledger, self.ticker, payload, r)


def entry_answered(ledger: Ledger, ticker: str, payload: dict, r: Resp) -> bool:
    if r.status != 201:
        ledger.unexpected_answer(f"POST entry to {ticker}", r)
        return False
    e = r.json()
    ledger.entries[e["id"]] = Entry(e["id"], ticker, payload, ledger.cycle)
    ledger.ack("entries")
    if (bad := entry_mismatch(ticker, payload, e)) is not None:
        ledger.problem(ledger.half_written, "entries", f"entry {e['id']} answered {bad}")
    return True


def entry_mismatch(ticker: str, payload: dict, got: dict) -> str | None:
    want = {"ticker": ticker, "title": payload.get("title", ""), "body": payload["body"],
            "breaking": payload.get("breaking", False), "pinned": False}
    have = {k: got.get(k) for k in want}
    return None if have == want else f"{have}, not {want}"


class Registrant(Load):
    """Registers new addresses; an accepted one has its account, link and
    mail committed."""

    def __init__(self, ledger: Ledger, srv: ServerProcess, tag: str):
        super().__init__()
        self.ledger, self.srv, self.tag = ledger, srv, tag
        self.n = 0
        self.in_flight: str | None = None

    def attempt(self) -> bool:
        self.n += 1
        address = f"{self.tag}r{self.n}@{DOMAIN}"
        edition = ("en", "de", "ru")[self.n % 3]
        self.in_flight = address
        r = Browser(self.srv).api("POST", "/api/v1/auth/register", {
            "email": address, "password": PASSWORD, "display_name": f"Reader {self.tag} {self.n}",
            "edition": edition}, csrf=False)
        self.in_flight = None
        if r.status != 202:
            self.ledger.unexpected_answer(f"register {address}", r)
            return False
        self.ledger.registrations[address] = self.ledger.cycle
        self.ledger.ack("registrations")
        return True


class ArticleWriter(Load):
    """Works one article at a time: creates it (POST with a key), changes it
    a few times (PATCH with its version), sometimes publishes it (POST with
    a key), then starts the next. The article in hand carries over from one
    cycle to the next."""

    def __init__(self, ledger: Ledger, srv: ServerProcess, token: str, tag: str, rng: random.Random):
        super().__init__()
        self.ledger, self.srv, self.token, self.tag, self.rng = ledger, srv, token, tag, rng
        self.n = 0
        self.in_flight: Post | None = None

    def attempt(self) -> bool:
        self.n += 1
        a = self.ledger.current_article
        if a is None or a.updates_left <= 0:
            return self.create()
        if a.status == "draft" and self.rng.random() < 0.25:
            return self.publish(a)
        return self.patch(a)

    def create(self) -> bool:
        edition = self.rng.choice(("en", "de"))
        name = f"{self.tag}-a{self.n}"
        payload = {"edition": edition, "section": ARTICLE_SECTIONS[edition], "slug": name,
                   "headline": f"Crash desk {name}", "teaser": f"Teaser of {name}.",
                   "body": f"First paragraph of {name}.\n\nSecond *paragraph*.",
                   "tags": ["crash", f"t{self.n % 4}"], "author": "Crash Desk"}
        self.in_flight = Post("/api/v1/articles", payload, f"{name}-create")
        r = post(self.srv, self.token, self.in_flight)
        self.in_flight = None
        return article_created(self.ledger, payload, r, self.rng.randint(1, 4))

    def publish(self, a: Article) -> bool:
        self.in_flight = Post(f"/api/v1/articles/{a.id}/publish", {}, f"{self.tag}-a{a.id}-publish")
        r = post(self.srv, self.token, self.in_flight)
        self.in_flight = None
        return article_published(self.ledger, a, r)

    def patch(self, a: Article) -> bool:
        v = a.version + 1
        choices = {
            "headline": f"Crash desk {a.slug} v{v}",
            "teaser": f"Teaser of {a.slug}, version {v}.",
            "body": f"Paragraph of {a.slug} at version {v}.\n\n- a list\n- of {v} items",
            "tags": ["crash", f"v{v % 3}"],
        }
        keys = self.rng.sample(sorted(choices), self.rng.randint(1, len(choices)))
        changes = {k: choices[k] for k in keys}
        a.pending = changes
        r = http_request(self.srv.address, "PATCH", f"/api/v1/articles/{a.id}", token=self.token,
                         json_body={**changes, "version": a.version}, timeout=TIMEOUT_S)
        if r.status != 200:
            a.pending = None
            self.ledger.unexpected_answer(f"PATCH article {a.id}", r)
            return False
        got = r.json()
        a.fields.update(changes)
        a.pending = None
        a.version += 1
        a.cycle = self.ledger.cycle
        a.updates_left -= 1
        self.ledger.ack("article_updates")
        if (bad := article_mismatch(a, got)) is not None:
            self.ledger.problem(self.ledger.half_written, "articles", f"PATCH answered {bad}")
        return True


def article_created(ledger: Ledger, payload: dict, r: Resp, updates: int) -> bool:
    if r.status != 201:
        ledger.unexpected_answer("POST article", r)
        return False
    got = r.json()
    a = Article(got["id"], payload["edition"], payload["slug"],
                {k: payload[k] for k in ARTICLE_FIELDS}, got["version"], "draft", ledger.cycle,
                updates)
    ledger.articles[a.id] = a
    ledger.current_article = a
    ledger.ack("article_creates")
    if (bad := article_mismatch(a, got)) is not None:
        ledger.problem(ledger.half_written, "articles", f"POST article answered {bad}")
    return True


def article_published(ledger: Ledger, a: Article, r: Resp) -> bool:
    if r.status != 200:
        ledger.unexpected_answer(f"publish article {a.id}", r)
        return False
    got = r.json()
    a.status, a.version, a.cycle = "published", got["version"], ledger.cycle
    ledger.ack("article_publishes")
    if (bad := article_mismatch(a, got)) is not None:
        ledger.problem(ledger.half_written, "articles", f"publish answered {bad}")
    return True


def article_mismatch(a: Article, got: dict, fields: dict | None = None,
                     version: int | None = None) -> str | None:
    want = {"id": a.id, "edition": a.edition, "slug": a.slug, "status": a.status,
            "version": a.version if version is None else version, **(fields or a.fields)}
    have = {k: got.get(k) for k in want}
    return None if have == want else f"{have}, not {want}"


# --------------------------------------------------------------------------
# After a restart: settle what was in flight, then read everything back
# --------------------------------------------------------------------------


def settle(ledger: Ledger, srv: ServerProcess, token: str, loads: list[Load]) -> None:
    """Sends every POST that was in flight at the kill again, with its key,
    and resolves the PATCH in flight by reading the article: it is either
    not there at all or there whole."""
    for w in loads:
        if isinstance(w, EntryWriter) and w.in_flight is not None:
            r = post(srv, token, w.in_flight)
            ledger.retried["entries"] += 1
            ledger.replayed["entries"] += replayed(r)
            entry_answered(ledger, w.ticker, w.in_flight.payload, r)
        elif isinstance(w, ArticleWriter) and w.in_flight is not None:
            p = w.in_flight
            r = post(srv, token, p)
            kind = "article_creates" if p.path == "/api/v1/articles" else "article_publishes"
            ledger.retried[kind] += 1
            ledger.replayed[kind] += replayed(r)
            if kind == "article_creates":
                article_created(ledger, p.payload, r, random.Random(p.key).randint(1, 4))
            else:
                article_published(ledger, ledger.current_article, r)
        elif isinstance(w, Registrant) and w.in_flight is not None:
            ledger.retried["registrations_unanswered"] += 1
    a = ledger.current_article
    if a is not None and a.pending is not None:
        got = read_article(srv, token, a.id)
        if got is not None and article_mismatch(a, got) is None:
            pass  # the update was not committed: nothing of it is there
        elif got is not None and article_mismatch(a, got, {**a.fields, **a.pending},
                                                  a.version + 1) is None:
            a.fields.update(a.pending)
            a.version += 1
            ledger.committed_unacknowledged["article_updates"] += 1
        else:
            ledger.problem(ledger.half_written, "articles",
                           f"article {a.id} after a PATCH in flight is neither before nor after "
                           f"it: {got}")
        a.pending = None
        a.updates_left -= 1


def read_article(srv: ServerProcess, token: str, aid: int) -> dict | None:
    r = srv.get(f"/api/v1/articles/{aid}", token=token)
    return r.json() if r.status == 200 else None


def entries_page(srv: ServerProcess, ticker: str, order: str, cursor: str | None) -> dict:
    q = {"order": order, "limit": "100"}
    if cursor:
        q["cursor"] = cursor
    r = srv.get(f"/api/v1/tickers/{ticker}/entries?" + urlencode(q))
    assert r.status == 200, r
    return r.json()


def listed_entries(srv: ServerProcess, ticker: str, down_to: int | None) -> dict[int, dict]:
    """Entries of a ticker newest first, down to the id `down_to` (None:
    all of them), by id."""
    out: dict[int, dict] = {}
    cursor = None
    while True:
        page = entries_page(srv, ticker, "newest", cursor)
        for e in page["items"]:
            out[e["id"]] = e
        cursor = page["next_cursor"]
        if cursor is None or (down_to is not None and page["items"]
                              and min(e["id"] for e in page["items"]) < down_to):
            return out


def sample(rng: random.Random, items: list, n: int) -> list:
    return items if len(items) <= n else rng.sample(items, n)


def verify_entries(ledger: Ledger, srv: ServerProcess, rng: random.Random, full: bool) -> None:
    mine = [e for e in ledger.entries.values() if e.cycle >= ledger.cycle - 1]
    older = [e for e in ledger.entries.values() if e.cycle < ledger.cycle - 1]
    by_ticker = collections.defaultdict(list)
    for e in (ledger.entries.values() if full else mine):
        by_ticker[e.ticker].append(e)
    for ticker, wanted in by_ticker.items():
        listed = listed_entries(srv, ticker, None if full else min(e.id for e in wanted))
        for e in wanted:
            got = listed.get(e.id)
            if got is None:
                r = srv.get(f"/api/v1/tickers/{ticker}/entries/{e.id}")
                what = "missing from the list" if r.status == 200 else "lost"
                ledger.problem(ledger.lost, "entries",
                               f"acknowledged entry {e.id} ({ticker}, cycle {e.cycle}) {what}")
            elif (bad := entry_mismatch(ticker, e.payload, got)) is not None:
                ledger.problem(ledger.lost, "entries", f"entry {e.id} reads {bad}")
        if full:
            # Nothing twice: a retried POST found the first attempt's entry.
            counts = collections.Counter(e["body"] for e in listed.values()
                                         if OUR_ENTRY.match(e["body"]))
            for body, n in counts.items():
                if n > 1:
                    ledger.problem(ledger.duplicated, "entries", f"{n} entries {body!r}")
    if not full:
        for e in sample(rng, older, SAMPLE):
            r = srv.get(f"/api/v1/tickers/{e.ticker}/entries/{e.id}")
            if r.status != 200:
                ledger.problem(ledger.lost, "entries", f"acknowledged entry {e.id} answers {r.status}")
            elif (bad := entry_mismatch(e.ticker, e.payload, r.json())) is not None:
                ledger.problem(ledger.lost, "entries", f"entry {e.id} reads {bad}")


def h1_of(page: str) -> str:
    m = re.search(r"<h1[^>]*>(.*?)</h1>", page, flags=re.S)
    return html.unescape(m.group(1)).strip() if m else ""


def verify_articles(ledger: Ledger, srv: ServerProcess, token: str, rng: random.Random,
                    full: bool) -> None:
    every = list(ledger.articles.values())
    if full:
        todo = every
    else:
        todo = [a for a in every if a.cycle >= ledger.cycle - 1]
        todo += sample(rng, [a for a in every if a.cycle < ledger.cycle - 1], SAMPLE)
    for a in todo:
        got = read_article(srv, token, a.id)
        if got is None:
            ledger.problem(ledger.lost, "articles", f"acknowledged article {a.id} is gone")
            continue
        if (bad := article_mismatch(a, got)) is not None:
            ledger.problem(ledger.lost, "articles", f"article {a.id} reads {bad}")
            continue
        if a.status == "published":
            page = srv.get(f"/{a.edition}/articles/{a.slug}")
            if page.status != 200 or h1_of(page.text) != a.fields["headline"]:
                ledger.problem(ledger.lost, "articles",
                               f"the page of article {a.id} answers {page.status} with "
                               f"{h1_of(page.text) if page.status == 200 else ''!r}, "
                               f"not {a.fields['headline']!r}")


def verify_registrations_and_mail(ledger: Ledger, srv: ServerProcess, sink: SmtpSink) -> None:
    """Through the store dump: every accepted address has its account, its
    confirmation link and its mail; every account of ours that exists
    (accepted or not: a registration in flight may have been committed)
    has all three. Through the SMTP sink: every mail received carries its
    stored Message-ID, one per address, and every mail marked sent came."""
    d = stored.dump(srv, "accounts", "account_tokens", "mail_queue")
    accounts = {a["email"]: a for a in d["accounts"] if (a["email"] or "").endswith("@" + DOMAIN)}
    confirm_links = collections.Counter(t["account_id"] for t in d["account_tokens"]
                                        if t["purpose"] == "confirm")
    mails = collections.defaultdict(list)
    for m in d["mail_queue"]:
        if m["mail_to"].endswith("@" + DOMAIN):
            mails[m["mail_to"]].append(m)
    ledger.committed_unacknowledged["registrations"] = len(set(accounts) - set(ledger.registrations))
    for address in ledger.registrations:
        if address not in accounts:
            ledger.problem(ledger.lost, "registrations", f"accepted {address} has no account")
    for address, a in accounts.items():
        queued = [m for m in mails[address] if m["kind"] == "confirm"]
        if not confirm_links[a["id"]] or len(queued) != 1:
            ledger.problem(ledger.half_written, "registrations",
                           f"account {address}: {confirm_links[a['id']]} confirmation links, "
                           f"{len(queued)} queued mails (want 1 and 1)")
    for address, queued in mails.items():
        if address not in accounts:
            ledger.problem(ledger.half_written, "mails", f"a mail to {address}, who has no account")
    # The mails at the SMTP server.
    stored_ids = {m["message_id"]: m for ms in mails.values() for m in ms}
    received = collections.defaultdict(set)
    copies = collections.Counter()
    for mail in sink.all()[len(ledger.mails_seen):]:
        ledger.mails_seen.append((str(mail.msg["Message-ID"] or "").strip(),
                                  next((r for r in mail.envelope_to if r.endswith("@" + DOMAIN)),
                                       None)))
    for mid, to in ledger.mails_seen:
        if to is None:
            continue
        copies[mid] += 1
        row = stored_ids.get(mid.strip("<>"))
        if not mid or row is None or row["mail_to"] != to:
            ledger.problem(ledger.half_written, "mails",
                           f"{to} got a mail with Message-ID {mid!r}, which the outbox does not "
                           f"hold for that address")
        received[to].add(mid)
    for to, ids in received.items():
        if len(ids) > 1:
            ledger.problem(ledger.duplicated, "mails", f"{to} got {len(ids)} Message-IDs: {ids}")
    for mid, row in stored_ids.items():
        if row["state"] == "sent" and f"<{mid}>" not in copies:
            ledger.problem(ledger.lost, "mails", f"mail {row['id']} to {row['mail_to']} is marked "
                                                 f"sent but never arrived")
    ledger.mails["queued"] = len(stored_ids)
    ledger.mails["received"] = sum(copies.values())
    ledger.mails["received_again_same_message_id"] = sum(n - 1 for n in copies.values())


def verify_sqlite_file(ledger: Ledger, srv: ServerProcess, full: bool) -> None:
    """The file itself: integrity, and rows that only exist together."""
    def q(sql: str) -> list[tuple]:
        return stored.sqlite_query(srv, sql)

    integrity = q("PRAGMA integrity_check")
    if integrity != [("ok",)]:
        ledger.integrity_failures += 1
        ledger.problem(None, "", f"PRAGMA integrity_check: {integrity[:10]}")
    fks = q("PRAGMA foreign_key_check")
    if fks:
        ledger.integrity_failures += 1
        ledger.problem(None, "", f"PRAGMA foreign_key_check: {fks[:10]}")

    def half(kind: str, text: str, rows: list) -> None:
        if rows:
            ledger.problem(ledger.half_written, kind, f"{text}: {rows[:10]}")

    half("registrations", "unconfirmed accounts without a confirmation link or mail", q(
        "SELECT a.id, a.email FROM accounts a WHERE a.confirmed_at IS NULL AND a.deleted_at IS "
        "NULL AND (a.id NOT IN (SELECT account_id FROM account_tokens WHERE purpose = 'confirm') "
        "OR a.email NOT IN (SELECT mail_to FROM mail_queue))"))
    half("articles", "articles whose revisions are not exactly their earlier versions", q(
        "SELECT a.id, a.version, COUNT(r.id), MIN(r.version), MAX(r.version) FROM articles a "
        "LEFT JOIN article_revisions r ON r.article_id = a.id GROUP BY a.id HAVING COUNT(r.id) "
        "<> a.version - 1 OR (a.version > 1 AND (MIN(r.version) <> 1 OR MAX(r.version) <> "
        "a.version - 1))"))
    half("articles", "articles without their tags", q(
        "SELECT a.id FROM articles a WHERE a.slug GLOB 'c[0-9]*-a[0-9]*' AND NOT EXISTS (SELECT 1 FROM "
        "article_tags t WHERE t.article_id = a.id AND t.tag = 'crash')"))
    half("events", "topics whose seq has gaps or whose head is not their newest event", q(
        "SELECT t.topic, t.last_seq, MIN(e.seq), MAX(e.seq), COUNT(e.seq) FROM event_topics t "
        "JOIN events e ON e.topic = t.topic GROUP BY t.topic HAVING MAX(e.seq) <> t.last_seq OR "
        "COUNT(e.seq) <> MAX(e.seq) - MIN(e.seq) + 1"))
    half("mails", "outbox rows without a Message-ID, sharing one, or sent without a time", q(
        "SELECT id, message_id, state FROM mail_queue WHERE message_id = '' OR (state = 'sent') "
        "<> (sent_at IS NOT NULL) OR message_id IN (SELECT message_id FROM mail_queue GROUP BY "
        "message_id HAVING COUNT(*) > 1)"))
    # An entry and its event come in one unit of work: neither without the
    # other. Every event's entry, by its primary key, every time.
    half("entries", "events without their entry, or with another text", q(
        "SELECT v.topic, v.seq FROM events v WHERE v.name = 'ticker.entry' AND NOT EXISTS (SELECT "
        "1 FROM ticker_entries e WHERE e.id = json_extract(v.data, '$.id') AND 'ticker:' || "
        "e.ticker = v.topic AND e.body = json_extract(v.data, '$.body'))"))
    # Every entry's event has no index to find it by: the entries and events
    # committed since the last check (both come in one transaction, so a
    # new entry's event is a new event), all of them at a full check
    # (within what the log still holds: it is pruned by count).
    since_entry, since_event = (0, 0) if full else ledger.sqlite_marks
    half("entries", "entries without their event", q(
        "WITH oldest AS (SELECT topic, MIN(json_extract(data, '$.id')) AS id FROM events WHERE "
        "name = 'ticker.entry' GROUP BY topic), logged AS (SELECT topic, json_extract(data, "
        f"'$.id') AS id FROM events WHERE position > {int(since_event)} AND name = "
        "'ticker.entry') SELECT e.ticker, e.id FROM ticker_entries e JOIN oldest o ON o.topic = "
        f"'ticker:' || e.ticker WHERE e.id > {int(since_entry)} AND e.id > o.id AND "
        "('ticker:' || e.ticker, e.id) NOT IN (SELECT topic, id FROM logged)"))
    (marks,) = q("SELECT (SELECT COALESCE(MAX(id), 0) FROM ticker_entries), (SELECT "
                 "COALESCE(MAX(position), 0) FROM events)")
    ledger.sqlite_marks = marks
    # A remembered answer (Idempotency-Key) comes with its change.
    answer = "CASE WHEN json_valid(k.body) THEN json_extract(k.body, '$.{}') END"
    half("idempotency", "remembered answers whose change is not stored", q(
        f"SELECT k.key FROM idempotency_keys k WHERE k.status < 300 AND ((({answer.format('ticker')}) "
        f"IS NOT NULL AND ({answer.format('id')}) NOT IN (SELECT id FROM ticker_entries)) OR "
        f"(({answer.format('headline')}) IS NOT NULL AND ({answer.format('id')}) NOT IN (SELECT id "
        "FROM articles)))"))


def verify(ledger: Ledger, srv: ServerProcess, token: str, sink: SmtpSink, rng: random.Random,
           full: bool) -> None:
    verify_entries(ledger, srv, rng, full)
    verify_articles(ledger, srv, token, rng, full)
    # The dump reads every account and mail: each cycle while the store is
    # small, then every DUMP_EVERY cycles (a lost registration is still
    # found, a few cycles later), and at every full check.
    if full or ledger.cycle < 20 or (ledger.cycle + 1) % DUMP_EVERY == 0:
        verify_registrations_and_mail(ledger, srv, sink)
    if stored.store_kind() == "sqlite":
        verify_sqlite_file(ledger, srv, full)


def confirm_some(ledger: Ledger, srv: ServerProcess, sink: SmtpSink, rng: random.Random,
                 n: int) -> None:
    """A sample of accepted registrations end to end: the mailed link
    confirms, the password given logs in, the account may post."""
    for address in sample(rng, sorted(ledger.registrations), n):
        mail = [m for m in sink.all() if address in m.envelope_to][-1]
        b = Browser(srv)
        r = b.api("POST", "/api/v1/auth/confirm", {"token": mail.token("/account/confirm")},
                  csrf=False)
        if r.status != 200:
            ledger.problem(ledger.lost, "registrations", f"{address}: the link answers {r}")
            continue
        r = b.login(address, PASSWORD)
        if r.status != 200 or b.me().json().get("may_post") is not True:
            ledger.problem(ledger.lost, "registrations", f"{address}: no login after confirming")


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------


def start_loads(ledger: Ledger, srv: ServerProcess, token: str, rng: random.Random) -> list[Load]:
    tag = f"c{ledger.cycle}"
    loads: list[Load] = [EntryWriter(ledger, srv, token, t, f"{tag}w{i}")
                         for i, t in enumerate(ENTRY_TICKERS)]
    loads += [Registrant(ledger, srv, f"{tag}w{i}") for i in range(REGISTRANTS)]
    loads.append(ArticleWriter(ledger, srv, token, tag, random.Random(rng.random())))
    for load in loads:
        load.start()
    return loads


KINDS = ("entries", "registrations", "article_creates", "article_updates")
# What a run appends to the report's .log (one line per run).
LOG_KEYS = ("date", "commit", "store", "cycles", "seconds", "acknowledged", "lost", "half_written",
            "duplicated", "integrity_failures", "unexpected_answers")


def summary(ledger: Ledger, seed: int, seconds: float, phases: list[tuple[float, float, float]],
            kills: int) -> dict:
    def mean(xs) -> float:
        return round(sum(xs) / max(1, len(xs)), 2)

    commit = subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return {
        "suite": "tests/integration/test_crash_mixed.py",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": commit,
        "store": stored.store_kind(),
        "binary": str(os.environ.get("DEPESCHE_BIN", "build/ci/depesche")),
        "seed": seed,
        "cycles": len(phases),
        "sigkills": kills,
        "seconds": round(seconds, 1),
        "seconds_per_cycle": {
            "mean": mean([sum(p) for p in phases]),
            "max": round(max((sum(p) for p in phases), default=0), 2),
            "load_until_kill": mean([p[0] for p in phases]),
            "restart_until_ready": mean([p[1] for p in phases]),
            "read_back_and_check": mean([p[2] for p in phases]),
        },
        "acknowledged": dict(sorted(ledger.acknowledged.items())),
        "mails": dict(ledger.mails),
        "in_flight_at_kill_sent_again": dict(sorted(ledger.retried.items())),
        "of_those_replayed": dict(sorted(ledger.replayed.items())),
        "unacknowledged_but_committed": dict(sorted(ledger.committed_unacknowledged.items())),
        "lost": sum(ledger.lost.values()),
        "lost_by_kind": dict(sorted(ledger.lost.items())),
        "half_written": sum(ledger.half_written.values()),
        "half_written_by_kind": dict(sorted(ledger.half_written.items())),
        "duplicated": sum(ledger.duplicated.values()),
        "integrity_failures": ledger.integrity_failures,
        "unexpected_answers": ledger.unexpected,
        "problems": ledger.problems[:50],
    }


def test_sigkill_under_mixed_writes_loses_nothing_acknowledged(bin_path, tmp_path):
    rng, seed = crash_rng()
    data = tmp_path / "data"
    data.mkdir()
    run_demo(data)
    ledger = Ledger()
    sink = SmtpSink().start()
    target = CrashingServer(data, {**ENV, "DEPESCHE_MAIL_SMTP_URL": sink.url})
    started = time.monotonic()
    phases: list[tuple[float, float, float]] = []  # load, restart, check
    try:
        with target:
            srv = target.start()
            token = create_token(data, "crash-mixed", "editor")
            for cycle in range(CYCLES):
                t0 = time.monotonic()
                ledger.cycle = cycle
                loads = start_loads(ledger, srv, token, rng)
                if cycle == 0:
                    # One acknowledged write of every kind before the first
                    # kill, so even a short run tests them all.
                    wait_until(lambda: all(ledger.acknowledged[k] for k in KINDS), 60,
                               f"a first write of every kind: {ledger.acknowledged}")
                time.sleep(rng.uniform(*KILL_AFTER_S))
                target.kill_hard()
                stop_loads(loads)
                t1 = time.monotonic()
                srv = target.restart()
                t2 = time.monotonic()
                settle(ledger, srv, token, loads)
                verify(ledger, srv, token, sink, rng, full=(cycle + 1) % FULL_CHECK_EVERY == 0)
                t3 = time.monotonic()
                phases.append((t1 - t0, t2 - t1, t3 - t2))
                if (cycle + 1) % 10 == 0 or cycle + 1 == CYCLES:
                    print(f"[crash-mixed] cycle {cycle + 1}/{CYCLES}: "
                          f"{dict(ledger.acknowledged)}, {len(ledger.problems)} problems, "
                          f"{time.monotonic() - started:.0f} s", flush=True)
            # The outbox delivers after the last restart whatever the kills
            # left queued: then every accepted registration has its mail.
            try:
                wait_until(lambda: all(any(a in m.envelope_to for m in sink.all())
                                       for a in ledger.registrations), 60,
                           "a confirmation mail for every accepted registration")
            except AssertionError:
                got = {r for m in sink.all() for r in m.envelope_to}
                for a in sorted(set(ledger.registrations) - got):
                    ledger.problem(ledger.lost, "mails", f"no mail ever arrived for {a}")
            verify(ledger, srv, token, sink, rng, full=True)
            confirm_some(ledger, srv, sink, rng, 5)
            target.close()
    finally:
        sink.stop()
        report = summary(ledger, seed, time.monotonic() - started, phases, target.kills)
        print("[crash-mixed] " + json.dumps(report, indent=2))
        if REPORT:
            Path(REPORT).parent.mkdir(parents=True, exist_ok=True)
            Path(REPORT).write_text(json.dumps(report, indent=2) + "\n")
            with open(Path(REPORT).with_suffix(".log"), "a", encoding="utf-8") as log:
                log.write(json.dumps({k: report[k] for k in LOG_KEYS}) + "\n")
    assert not ledger.problems, f"{len(ledger.problems)} problems:\n" + "\n".join(ledger.problems[:30])
    for kind in KINDS:
        assert ledger.acknowledged[kind], f"no acknowledged {kind}: the load tested nothing"
