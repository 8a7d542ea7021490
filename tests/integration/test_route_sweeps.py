"""Sweeps over the server's own route table: every state-changing route is
tried without its CSRF defence, and every route that needs a role is tried
by every caller below it, and nothing may change; then the callers a route
is for are let through, and what they asked for must have happened.

The table comes from the binary itself (`depesche routes`, built as `serve`
builds it), with what each route declares: `who` may use it (anyone,
signed_in, moderator, editor, admin) and `via` which credentials (nothing,
session, bearer, session_or_bearer). A route added to the server is in the
sweep the moment it is registered. What the sweep cannot know from the
table is a request that would really change something (a valid body, real
ids from the demo data); that is one entry in CASES per state-changing
route, and a route without one fails `test_every_route_is_classified` with
a message saying what to add. So does a route whose declaration the sweep
does not know, and `test_unclassifiable_routes_fail_the_sweep` shows both.

The contract swept (docs/accounts.md, docs/decisions.md "Route sweeps"):

- Forms (every POST outside /api/) and API routes that take a session
  refuse, with 403, a signed-in request that lacks the CSRF token, carries
  a wrong one, names neither Origin nor Referer, or names another site.
- API routes that act on no session (`via` nothing: register, login,
  mailed-token endpoints) take JSON only, which a foreign page cannot send
  without a CORS preflight, and refuse a foreign Origin or Referer (403); a
  form or text/plain body is 415. The CSRF token and a missing Origin do
  not apply to them: they act on nobody's session, and machine clients
  send no Origin.
- API routes taking only bearer tokens (`via` bearer) ignore cookies: a
  signed-in browser, CSRF token or not, is refused with 401. A bearer
  token carries no ambient authority, so bearer requests pass no CSRF
  checks; the sweep sends them as machine clients do, without cookies or
  Origin.
- A route needing a role refuses anonymous callers (401, or a page's 303 to
  the login form) and every lower role, by session and by bearer token
  (403; 401 for a token where the route takes sessions only), before it
  looks at the body: a junk body is refused like a valid one. The declared
  credentials are held to as well: a `bearer` route refuses the right
  role's session, a `session` route the highest role's token.

Path parameters are real ids and slugs from the demo data, so a refusal
never hides behind a 404 (the console answers 404 for an unknown ticker
before it reads the form; nothing can change on a ticker that does not
exist). Stored state is compared through `depesche store dump` (stored.py)
before and after all refusals, after the outbox has sent what was queued.

One server, sessions and tokens made once; about 20 s on two cores.
"""

from __future__ import annotations

import concurrent.futures
import json
import secrets
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable

import pytest

import stored
from account_helpers import (PASSWORD, PASSWORD2, Barrier, Browser, MaildirBox, create_user,
                             start_account_server, unique_email)
from conftest import Resp, create_token, http_request, run_cli
from ws_client import handshake_request, raw_upgrade

EVIL = "http://evil.example"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
READING = {"GET", "HEAD"}
ROLES = ("reader", "moderator", "editor", "admin")
# What a route's `who` needs and what an account's role is, as ranks: a
# caller ranked below what a route needs is refused.
NEEDS = {"anyone": 0, "signed_in": 1, "moderator": 2, "editor": 3, "admin": 4}
ROLE_RANK = {"reader": 1, "moderator": 2, "editor": 3, "admin": 4}
VIAS = {"nothing", "session", "bearer", "session_or_bearer"}


class Unclassified(AssertionError):
    """A route the sweep cannot test as it stands: the message says why."""


# --------------------------------------------------------------------------
# The route table and its classification
# --------------------------------------------------------------------------


def route_table(srv) -> list[dict]:
    proc = run_cli(["routes"], srv.data_dir)
    assert proc.returncode == 0, f"depesche routes failed:\n{proc.stderr}"
    routes = [json.loads(line) for line in proc.stdout.splitlines()]
    assert routes, "depesche routes printed nothing"
    return routes


def key(method: str, pattern: str) -> str:
    return f"{method} {pattern}"


def params_of(pattern: str) -> list[str]:
    return [seg[1:-1] for seg in pattern.split("/") if seg.startswith("{") and seg.endswith("}")]


def kind_of(route: dict, method: str) -> str:
    """How the sweep treats one method of a route:
    - "read": GET/HEAD, changes nothing (role-swept if it needs a role);
    - "form": a page's POST (CSRF token and Origin, whatever `via` says);
    - "session_api": an API state change that takes a session (token and Origin);
    - "anonymous_json": an API state change that acts on no session (JSON and Origin);
    - "bearer_api": an API state change for bearer tokens only (cookies ignored);
    - "upgrade": the WebSocket handshake.
    Anything else raises Unclassified."""
    who, via = route.get("who"), route.get("via")
    if who not in NEEDS:
        raise Unclassified(f"{key(method, route['pattern'])}: unknown who {who!r}")
    if via not in VIAS:
        raise Unclassified(f"{key(method, route['pattern'])}: unknown via {via!r}")
    if route.get("upgrade"):
        if route["upgrade"] != "websocket":
            raise Unclassified(f"{route['pattern']}: unknown upgrade {route['upgrade']!r}")
        return "upgrade"
    if method in READING:
        return "read"
    if method not in STATE_CHANGING:
        raise Unclassified(f"{key(method, route['pattern'])}: unknown method")
    if not route["pattern"].startswith("/api/"):
        return "form"
    return {"nothing": "anonymous_json", "session": "session_api",
            "session_or_bearer": "session_api", "bearer": "bearer_api"}[via]


@dataclass
class Case:
    """A request to a state-changing route that changes something when it
    is let through. `variants` are path parameters (several when one
    pattern stands for several actions), `body(ctx, variant, n)` the valid
    JSON or form body of the n-th allowed call (n: one per declared
    credential, so each call changes something of its own), `as_` the
    account of the allowed session call (default: the role `who` names),
    `call_params(ctx, variant, n)` other path parameters for the n-th
    allowed call where two calls cannot change the same thing (deleting),
    and `happened(ctx, before, after)` whether the allowed calls did what
    they asked, from two store dumps."""
    happened: Callable[["Ctx", dict, dict], bool]
    variants: Callable[["Ctx"], list[dict]] = lambda c: [{}]
    body: Callable[["Ctx", dict, int], dict | None] = lambda c, v, n: {}
    as_: Callable[["Ctx", dict], "Browser"] | None = None
    call_params: Callable[["Ctx", dict, int], dict] | None = None


# GET routes needing a role, and the values of their path parameters.
READ_PARAMS: dict[str, Callable[["Ctx"], dict]] = {
    "/admin/tickers/{id}": lambda c: {"id": "de"},
}


def fill(pattern: str, values: dict) -> str:
    out = []
    for seg in pattern.split("/"):
        if seg.startswith("{") and seg.endswith("}"):
            out.append(urllib.parse.quote(str(values[seg[1:-1]]), safe=""))
        else:
            out.append(seg)
    return "/".join(out)


def classify(routes: list[dict], cases: dict) -> list[tuple[dict, str, str]]:
    """(route, method, kind) for every method of every route; raises
    Unclassified for a route the sweep cannot test."""
    out = []
    for r in routes:
        for m in r["methods"]:
            if m == "HEAD":
                continue  # answered by the GET handler
            kind = kind_of(r, m)
            if kind not in ("read", "upgrade") and key(m, r["pattern"]) not in cases:
                raise Unclassified(
                    f"{key(m, r['pattern'])} (who {r['who']}, via {r['via']}) has no entry in "
                    f"CASES: add one with real path parameters, a valid body and what it changes")
            if kind == "read" and NEEDS[r["who"]] > 0 and params_of(r["pattern"]) and \
                    r["pattern"] not in READ_PARAMS:
                raise Unclassified(f"GET {r['pattern']} needs {r['who']}: add its path "
                                   f"parameters to READ_PARAMS")
            out.append((r, m, kind))
    known = {key(m, r["pattern"]) for r in routes for m in r["methods"]}
    stale = sorted(set(cases) - known)
    if stale:
        raise Unclassified(f"CASES names routes the server no longer has: {stale}")
    return out


# --------------------------------------------------------------------------
# Stored state
# --------------------------------------------------------------------------


def comparable(d: dict, sentinel_id: int, sentinel: str) -> dict:
    """A dump without what changes by itself: a session's last_seen_at
    (reading with it touches it), a queued mail's delivery state (the
    outbox works on its own), and the barrier's sentinel account, whose
    reset requests prove the outbox sent what was queued before."""
    out = {}
    for table, rows in d.items():
        keep = []
        for r in rows:
            if r.get("account_id") == sentinel_id or (table == "accounts" and r["id"] == sentinel_id):
                continue
            if table == "mail_queue":
                if r["mail_to"] == sentinel:
                    continue
                r = {k: r[k] for k in ("id", "kind", "mail_to")}
            elif table == "sessions":
                r = {k: v for k, v in r.items() if k != "last_seen_at"}
            keep.append(r)
        out[table] = keep
    return out


def differences(before: dict, after: dict) -> list[str]:
    out = []
    for table in sorted(set(before) | set(after)):
        b = [json.dumps(r, sort_keys=True, default=str) for r in before.get(table, [])]
        a = [json.dumps(r, sort_keys=True, default=str) for r in after.get(table, [])]
        gone, new = sorted(set(b) - set(a)), sorted(set(a) - set(b))
        out += [f"{table}: - {x[:300]}" for x in gone] + [f"{table}: + {x[:300]}" for x in new]
    return out


def rows(d: dict, table: str, **match) -> list[dict]:
    return [r for r in d.get(table, []) if all(r.get(k) == v for k, v in match.items())]


def row(d: dict, table: str, **match) -> dict | None:
    found = rows(d, table, **match)
    return found[0] if found else None


def new_rows(before: dict, after: dict, table: str, **match) -> list[dict]:
    seen = [json.dumps(r, sort_keys=True, default=str) for r in rows(before, table, **match)]
    return [r for r in rows(after, table, **match)
            if json.dumps(r, sort_keys=True, default=str) not in seen]


# --------------------------------------------------------------------------
# The callers and the demo data the requests name
# --------------------------------------------------------------------------


@dataclass
class Ctx:
    srv: object
    mails: MaildirBox
    address: dict[str, str] = field(default_factory=dict)  # account name -> e-mail
    ids: dict[str, int] = field(default_factory=dict)  # account name -> id
    sessions: dict[str, Browser] = field(default_factory=dict)  # account name -> signed in
    tokens: dict[str, str] = field(default_factory=dict)  # role -> bearer token
    mailed: dict[str, str] = field(default_factory=dict)  # what for -> mailed token
    data: dict[str, object] = field(default_factory=dict)  # ids and slugs from the demo
    marks: dict[str, str] = field(default_factory=dict)
    barrier: Barrier | None = None

    def mark(self, tag: str) -> str:
        """A value unique to this run, the same for the same tag."""
        if tag not in self.marks:
            self.marks[tag] = f"sweep-{tag}-{secrets.token_hex(4)}"
        return self.marks[tag]

    def fresh(self, tag: str) -> str:
        """A new address, the same for the same tag."""
        if "@" + tag not in self.marks:
            self.marks["@" + tag] = unique_email(tag.replace("_", ""))
        return self.marks["@" + tag]

    def anonymous(self) -> Browser:
        """No session, but this site's CSRF cookie, so a refusal is about
        who calls and not about forgery."""
        b = Browser(self.srv)
        assert b.get("/api/v1/auth/csrf").status == 200
        assert b.cookies.get("depesche_csrf")
        return b

    def stored(self) -> dict:
        return comparable(stored.dump(self.srv), self.ids["sentinel"], self.address["sentinel"])


# Accounts made once: the four roles, and one of its own for every allowed
# request that ends a session or an account, or spends a mailed token.
ACCOUNTS = {
    "reader": "reader", "moderator": "moderator", "editor": "editor", "admin": "admin",
    "pw_api": "reader", "pw_page": "reader", "del_api": "reader", "del_page": "reader",
    "reset_api": "reader", "reset_page": "reader", "mover": "reader", "role_target": "reader",
    "sentinel": "reader",
}
# Signed in through the API's login; the two logout sessions are extra
# sessions of the reader, so logging them out leaves the reader's own.
SIGNED_IN = {"reader": "reader", "moderator": "moderator", "editor": "editor", "admin": "admin",
             "pw_api": "pw_api", "pw_page": "pw_page", "del_api": "del_api",
             "del_page": "del_page", "mover": "mover", "logout_api": "reader",
             "logout_page": "reader"}
UNCONFIRMED = ("confirm_api", "resend_api", "resend_page")


def make_ctx(srv) -> Ctx:
    c = Ctx(srv, MaildirBox(srv.data_dir))
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
    for name in ACCOUNTS:
        c.address[name] = unique_email(name.replace("_", ""))
    made = {name: pool.submit(create_user, srv, c.address[name], PASSWORD, role, name.replace("_", " "))
            for name, role in ACCOUNTS.items()}
    tokens = {role: pool.submit(create_token, srv.data_dir, f"sweep-{role}", role) for role in ROLES}
    c.ids = {name: f.result() for name, f in made.items()}
    c.tokens = {role: f.result() for role, f in tokens.items()}

    def sign_in(account: str) -> Browser:
        b = Browser(srv)
        r = b.login(c.address[account], PASSWORD)
        assert r.status == 200, r
        return b

    signed = {name: pool.submit(sign_in, account) for name, account in SIGNED_IN.items()}
    c.sessions = {name: f.result() for name, f in signed.items()}
    pool.shutdown()
    for name in ("logout_api", "logout_page"):
        c.data["secret_" + name] = c.sessions[name].session

    anon = c.anonymous()
    for name in UNCONFIRMED:
        c.address[name] = unique_email(name.replace("_", ""))
        r = anon.api("POST", "/api/v1/auth/register",
                     {"email": c.address[name], "password": PASSWORD, "display_name": "Pending",
                      "edition": "en"}, csrf=False)
        assert r.status == 202, r
    for name in ("reset_api", "reset_page"):
        r = anon.api("POST", "/api/v1/auth/reset-request", {"email": c.address[name]}, csrf=False)
        assert r.status == 202, r
    c.address["mover_new"] = unique_email("movernew")
    r = c.sessions["mover"].api("POST", "/api/v1/me/email",
                                {"email": c.address["mover_new"], "password": PASSWORD})
    assert r.status == 202, r

    # A draft to publish, and entries and live blogs of the demo to name.
    r = http_request(srv.address, "POST", "/api/v1/articles", token=c.tokens["editor"], json_body={
        "edition": "en", "section": "politics", "headline": c.mark("draft"), "teaser": "A draft.",
        "body": "Not yet."})
    assert r.status == 201 and r.json()["status"] == "draft", r
    c.data["draft"] = r.json()["id"]
    r = srv.get("/api/v1/articles?edition=en&limit=1")
    c.data["article"] = r.json()["items"][0]["id"]
    for ed in ("de", "en"):
        items = srv.get(f"/api/v1/tickers/{ed}/entries?limit=100").json()["items"]
        assert len(items) >= 3, items
        c.data[f"entries_{ed}"] = [e["id"] for e in items]
        blogs = [t for t in srv.get(f"/api/v1/tickers?edition={ed}").json()["items"] if t["id"] != ed]
        assert blogs, f"the demo has no live blog in {ed}"
        c.data[f"blog_{ed}"] = blogs[0]["id"]

    c.mailed["confirm_api"] = c.mails.wait_for(c.address["confirm_api"]).token("/account/confirm")
    for name in ("reset_api", "reset_page"):
        c.mailed[name] = c.mails.wait_for(c.address[name]).token("/account/reset")
    c.mailed["email_change"] = c.mails.wait_for(c.address["mover_new"]).token("/account/confirm-email")
    c.barrier = Barrier(srv, c.mails, c.address["sentinel"])
    return c


# --------------------------------------------------------------------------
# The requests that change something, one per state-changing route
# --------------------------------------------------------------------------


def account_of(c: Ctx, d: dict, name: str) -> dict:
    return row(d, "accounts", id=c.ids[name])


def hash_changed(name: str):
    return lambda c, b, a: account_of(c, b, name)["password_hash"] != account_of(c, a, name)["password_hash"]


def mailed_to(address: Callable[[Ctx], str], kind: str):
    return lambda c, b, a: bool(new_rows(b, a, "mail_queue", mail_to=address(c).lower(), kind=kind))


def signed_out(name: str):
    # The server ended the session: its cookie, sent again, opens nothing
    # (the browser dropped it when told to; the dump has only its hash).
    return lambda c, b, a: http_request(c.srv.address, "GET", "/api/v1/me", headers={
        "Cookie": f"depesche_session={c.data['secret_' + name]}"}).status == 401


def new_session_of(name: str):
    return lambda c, b, a: bool(new_rows(b, a, "sessions", account_id=c.ids[name]))


def entry_body(c: Ctx, d: dict, entry_id: int) -> str | None:
    r = row(d, "ticker_entries", id=entry_id)
    return r["body"] if r else None


def settings_body(c: Ctx, v: dict, n: int) -> dict:
    return {
        "profile": {"display_name": c.mark("profile"), "edition": "en"},
        "password": {"current_password": PASSWORD, "new_password": PASSWORD2},
        "email": {"email": c.fresh("settings_email"), "password": PASSWORD},
        "delete": {"password": PASSWORD},
    }[v["action"]]


def settings_happened(c: Ctx, b: dict, a: dict) -> bool:
    return (account_of(c, a, "reader")["display_name"] == c.mark("profile")
            and hash_changed("pw_page")(c, b, a)
            and bool(new_rows(b, a, "account_tokens", account_id=c.ids["reader"],
                              purpose="email_change", new_email=c.fresh("settings_email")))
            and account_of(c, a, "del_page")["deleted_at"] is not None)


CASES: dict[str, Case] = {
    # -- articles (bearer tokens only) --
    "POST /api/v1/articles": Case(
        body=lambda c, v, n: {"edition": "en", "section": "politics", "headline": c.mark("created"),
                              "teaser": "Swept.", "body": "Swept."},
        happened=lambda c, b, a: bool(new_rows(b, a, "articles", headline=c.mark("created")))),
    "PATCH /api/v1/articles/{id}": Case(
        variants=lambda c: [{"id": c.data["article"]}],
        body=lambda c, v, n: {"teaser": c.mark("teaser")},
        happened=lambda c, b, a: row(a, "articles", id=c.data["article"])["teaser"] == c.mark("teaser")),
    "POST /api/v1/articles/{id}/publish": Case(
        variants=lambda c: [{"id": c.data["draft"]}], body=lambda c, v, n: None,
        happened=lambda c, b, a: row(a, "articles", id=c.data["draft"])["status"] == "published"),
    "POST /api/v1/sections": Case(
        body=lambda c, v, n: {"edition": "en", "slug": c.mark("section"), "name": "Swept"},
        happened=lambda c, b, a: bool(new_rows(b, a, "sections", slug=c.mark("section")))),
    # -- account API acting on no session --
    "POST /api/v1/auth/register": Case(
        body=lambda c, v, n: {"email": c.fresh("reg_api"), "password": PASSWORD,
                              "display_name": "Swept", "edition": "en"},
        happened=lambda c, b, a: row(a, "accounts", email=c.fresh("reg_api").lower()) is not None),
    "POST /api/v1/auth/confirm": Case(
        body=lambda c, v, n: {"token": c.mailed["confirm_api"]},
        happened=lambda c, b, a: row(a, "accounts", email=c.address["confirm_api"].lower())[
            "confirmed_at"] is not None),
    "POST /api/v1/auth/resend": Case(
        body=lambda c, v, n: {"email": c.address["resend_api"]},
        happened=mailed_to(lambda c: c.address["resend_api"], "confirm")),
    "POST /api/v1/auth/login": Case(
        body=lambda c, v, n: {"email": c.address["moderator"], "password": PASSWORD},
        happened=new_session_of("moderator")),
    "POST /api/v1/auth/reset-request": Case(
        body=lambda c, v, n: {"email": c.address["role_target"]},
        happened=mailed_to(lambda c: c.address["role_target"], "reset")),
    "POST /api/v1/auth/reset": Case(
        body=lambda c, v, n: {"token": c.mailed["reset_api"], "password": PASSWORD2},
        happened=hash_changed("reset_api")),
    "POST /api/v1/auth/confirm-email": Case(
        body=lambda c, v, n: {"token": c.mailed["email_change"]},
        happened=lambda c, b, a: account_of(c, a, "mover")["email"] == c.address["mover_new"].lower()),
    # -- account API on the caller's session --
    "POST /api/v1/auth/logout": Case(
        body=lambda c, v, n: None, as_=lambda c, v: c.sessions["logout_api"],
        happened=signed_out("logout_api")),
    "PATCH /api/v1/me": Case(
        body=lambda c, v, n: {"display_name": c.mark("me")},
        as_=lambda c, v: c.sessions["moderator"],
        happened=lambda c, b, a: account_of(c, a, "moderator")["display_name"] == c.mark("me")),
    "POST /api/v1/me/password": Case(
        body=lambda c, v, n: {"current_password": PASSWORD, "new_password": PASSWORD2},
        as_=lambda c, v: c.sessions["pw_api"], happened=hash_changed("pw_api")),
    "POST /api/v1/me/email": Case(
        body=lambda c, v, n: {"email": c.fresh("me_email"), "password": PASSWORD},
        as_=lambda c, v: c.sessions["editor"],
        happened=lambda c, b, a: bool(new_rows(b, a, "account_tokens", account_id=c.ids["editor"],
                                               purpose="email_change",
                                               new_email=c.fresh("me_email")))),
    "POST /api/v1/me/delete": Case(
        body=lambda c, v, n: {"password": PASSWORD}, as_=lambda c, v: c.sessions["del_api"],
        happened=lambda c, b, a: account_of(c, a, "del_api")["deleted_at"] is not None),
    "POST /api/v1/users/{id}/role": Case(
        variants=lambda c: [{"id": c.ids["role_target"]}],
        # The session call makes a moderator, the token call then an editor.
        body=lambda c, v, n: {"role": ("moderator", "editor")[n]},
        happened=lambda c, b, a: account_of(c, a, "role_target")["role"] == "editor"),
    # -- tickers (sessions or tokens) --
    "POST /api/v1/tickers": Case(
        body=lambda c, v, n: {"slug": c.mark(f"blog{n}"), "edition": "en", "title": "Swept"},
        happened=lambda c, b, a: all(row(a, "live_blogs", slug=c.mark(f"blog{n}")) for n in (0, 1))),
    "PATCH /api/v1/tickers/{id}": Case(
        variants=lambda c: [{"id": c.data["blog_en"]}], body=lambda c, v, n: {"ended": True},
        happened=lambda c, b, a: row(a, "live_blogs", slug=c.data["blog_en"])["ended_at"] is not None),
    "POST /api/v1/tickers/{id}/entries": Case(
        variants=lambda c: [{"id": "en"}], body=lambda c, v, n: {"body": c.mark(f"entry{n}")},
        happened=lambda c, b, a: all(new_rows(b, a, "ticker_entries", body=c.mark(f"entry{n}"))
                                     for n in (0, 1))),
    "PATCH /api/v1/tickers/{id}/entries/{entry}": Case(
        variants=lambda c: [{"id": "en", "entry": c.data["entries_en"][0]}],
        body=lambda c, v, n: {"body": c.mark(f"edited{n}")},
        happened=lambda c, b, a: entry_body(c, a, c.data["entries_en"][0]) == c.mark("edited1")),
    # Each allowed call deletes an entry of its own.
    "DELETE /api/v1/tickers/{id}/entries/{entry}": Case(
        variants=lambda c: [{"id": "en", "entry": c.data["entries_en"][1]}], body=lambda c, v, n: None,
        call_params=lambda c, v, n: {"id": "en", "entry": c.data["entries_en"][1 + n]},
        happened=lambda c, b, a: all(row(a, "ticker_entries", id=c.data["entries_en"][i]) is None
                                     for i in (1, 2))),
    # -- account pages (forms) --
    "POST /account/register": Case(
        body=lambda c, v, n: {"email": c.fresh("reg_page"), "password": PASSWORD,
                              "display_name": "Swept", "ed": "en"},
        happened=lambda c, b, a: row(a, "accounts", email=c.fresh("reg_page").lower()) is not None),
    "POST /account/resend": Case(
        body=lambda c, v, n: {"email": c.address["resend_page"], "ed": "en"},
        happened=mailed_to(lambda c: c.address["resend_page"], "confirm")),
    "POST /account/login": Case(
        body=lambda c, v, n: {"email": c.address["reader"], "password": PASSWORD, "ed": "en"},
        happened=new_session_of("reader")),
    "POST /account/logout": Case(
        body=lambda c, v, n: {"ed": "en"}, as_=lambda c, v: c.sessions["logout_page"],
        happened=signed_out("logout_page")),
    "POST /account/reset-request": Case(
        body=lambda c, v, n: {"email": c.address["moderator"], "ed": "en"},
        happened=mailed_to(lambda c: c.address["moderator"], "reset")),
    "POST /account/reset": Case(
        body=lambda c, v, n: {"token": c.mailed["reset_page"], "password": PASSWORD2, "ed": "en"},
        happened=hash_changed("reset_page")),
    "POST /account/settings/{action}": Case(
        variants=lambda c: [{"action": a} for a in ("profile", "password", "email", "delete")],
        body=settings_body,
        as_=lambda c, v: c.sessions[{"profile": "reader", "password": "pw_page", "email": "reader",
                                     "delete": "del_page"}[v["action"]]],
        happened=settings_happened),
    # -- the editors' console (forms) --
    "POST /admin/tickers/{id}/entries": Case(
        variants=lambda c: [{"id": "de"}], body=lambda c, v, n: {"body": c.mark("console")},
        happened=lambda c, b, a: bool(new_rows(b, a, "ticker_entries", body=c.mark("console")))),
    "POST /admin/tickers/{id}/entries/{entry}": Case(
        variants=lambda c: [{"id": "de", "entry": c.data["entries_de"][0]}],
        body=lambda c, v, n: {"op": "update", "title": "", "body": c.mark("console_edit")},
        happened=lambda c, b, a: entry_body(c, a, c.data["entries_de"][0]) == c.mark("console_edit")),
    "POST /admin/tickers/{id}/state": Case(
        variants=lambda c: [{"id": c.data["blog_de"]}], body=lambda c, v, n: {"op": "end"},
        happened=lambda c, b, a: row(a, "live_blogs", slug=c.data["blog_de"])["ended_at"] is not None),
}


# --------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------


def send_session(b: Browser, method: str, path: str, body, *, form: bool, csrf: str | None = "auto",
                 origin: str | None = "same", referer: str | None = None) -> Resp:
    """A browser's request with its cookies: a form post or a script's JSON
    call. `csrf` "auto" sends the right token, None none, else that value."""
    hdrs = {}
    if origin == "same":
        hdrs["Origin"] = b.origin
    elif origin is not None:
        hdrs["Origin"] = origin
    if referer is not None:
        hdrs["Referer"] = referer
    token = b.cookies.get("depesche_csrf") if csrf == "auto" else csrf
    if form:
        fields = dict(body or {})
        if token is not None:
            fields["csrf"] = token
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        return b.request(method, path, body=urllib.parse.urlencode(fields), headers=hdrs)
    if token is not None:
        hdrs["X-CSRF-Token"] = token
    if body is None:
        return b.request(method, path, headers=hdrs)
    return b.request(method, path, json_body=body, headers=hdrs)


def send_bearer(c: Ctx, token: str, method: str, path: str, body) -> Resp:
    # As a machine client: no cookies, no Origin.
    return http_request(c.srv.address, method, path, token=token, json_body=body)


def junk(form: bool) -> dict:
    return {"junk": "1"} if form else {"junk": True}


def login_redirect(r: Resp) -> bool:
    return r.status in (302, 303) and (r.header("location") or "").startswith("/account/login")


def refused(r: Resp) -> bool:
    return r.status in (401, 403) or login_redirect(r)


def principal_session(c: Ctx, who: str) -> Browser:
    """A signed-in session of the role a route needs (a reader where any
    account, or anyone, will do)."""
    return c.sessions["reader" if NEEDS[who] <= 1 else who]


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def srv(bin_path, tmp_path_factory):
    s = start_account_server(tmp_path_factory.mktemp("sweeps"))
    yield s
    s.assert_clean_exit()


@pytest.fixture(scope="module")
def routes(srv):
    return route_table(srv)


@pytest.fixture(scope="module")
def ctx(srv):
    return make_ctx(srv)


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------


def test_every_route_is_classified(routes):
    swept = classify(routes, CASES)
    kinds = {(k, key(m, r["pattern"])) for r, m, k in swept}
    # The sweep must have found what it is about; an empty class would
    # mean the table lost its declarations.
    for k in ("form", "session_api", "anonymous_json", "bearer_api", "upgrade"):
        assert any(kind == k for kind, _ in kinds), f"no {k} route in the table"
    for r in routes:
        assert r["pattern"].startswith("/"), r
        assert set(r["methods"]) <= READING | STATE_CHANGING, r


def test_unclassifiable_routes_fail_the_sweep(routes):
    """What a new route must bring to be swept: a declaration the sweep
    knows, a case if it changes state, path parameters if it needs a role."""
    broken = [
        ({"methods": ["POST"], "pattern": "/api/v1/new-thing", "who": "editor", "via": "session"},
         "no entry in CASES"),
        ({"methods": ["POST"], "pattern": "/api/v1/articles", "who": "editor", "via": "cookie"},
         "unknown via"),
        ({"methods": ["DELETE"], "pattern": "/x", "who": "superuser", "via": "session"}, "unknown who"),
        ({"methods": ["PUT"], "pattern": "/x", "who": "anyone", "via": "nothing"}, "no entry in CASES"),
        ({"methods": ["GET"], "pattern": "/admin/new/{id}", "who": "editor", "via": "session"},
         "READ_PARAMS"),
        ({"methods": ["GET"], "pattern": "/live", "who": "anyone", "via": "session", "upgrade": "h2c"},
         "unknown upgrade"),
    ]
    for extra, why in broken:
        with pytest.raises(Unclassified, match=why):
            classify(routes + [extra], CASES)
    with pytest.raises(Unclassified, match="no longer has"):
        classify([r for r in routes if r["pattern"] != "/api/v1/sections"], CASES)


# --------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------


def csrf_refusals(c: Ctx, route: dict, method: str, kind: str, path: str, body) -> list[str]:
    """Every way a forged request can come, for one route; the failures."""
    failures = []
    b = principal_session(c, route["who"])
    form = kind == "form"
    name = f"{method} {path}"

    def expect(r: Resp, status: int | tuple, what: str):
        if r.status not in (status if isinstance(status, tuple) else (status,)):
            failures.append(f"{name} {what}: expected {status}, got {r.status} {r.body[:160]!r}")
        elif not form and r.json()["error"]["code"] not in ("forbidden", "unauthorized",
                                                               "unsupported_media_type"):
            failures.append(f"{name} {what}: unexpected error {r.body[:160]!r}")

    if kind in ("form", "session_api", "bearer_api"):
        # Bearer-only routes ignore cookies: the session gets 401 whatever
        # it sends; the others must see the forgery (403).
        status = 401 if kind == "bearer_api" else 403
        wrong = secrets.token_urlsafe(32)
        expect(send_session(b, method, path, body, form=form, csrf=None), status, "without a CSRF token")
        expect(send_session(b, method, path, body, form=form, csrf=wrong), status, "with a wrong CSRF token")
        expect(send_session(b, method, path, body, form=form, origin=None), status,
               "without Origin or Referer")
        expect(send_session(b, method, path, body, form=form, origin=EVIL), status, "from a foreign Origin")
        expect(send_session(b, method, path, body, form=form, origin=None, referer=EVIL + "/page"),
               status, "with a foreign Referer")
        expect(send_session(b, method, path, body, form=form, origin="null"), status, "from Origin null")
    elif kind == "anonymous_json":
        # Acting on no session: what a foreign page can send (a form or
        # text/plain, no preflight) is 415, a foreign Origin or Referer 403.
        expect(send_session(b, method, path, body, form=False, origin=EVIL), 403, "from a foreign Origin")
        expect(send_session(b, method, path, body, form=False, origin=None, referer=EVIL + "/"), 403,
               "with a foreign Referer")
        expect(send_session(b, method, path, body, form=False, origin="null"), 403, "from Origin null")
        as_form = b.request(method, path, body=urllib.parse.urlencode(body or {}),
                            headers={"Content-Type": "application/x-www-form-urlencoded",
                                     "Origin": EVIL})
        # Refused for its type or for its origin, whichever is looked at first.
        expect(as_form, (403, 415), "as a cross-site form")
        plain = b.request(method, path, body=json.dumps(body or {}),
                          headers={"Content-Type": "text/plain", "Origin": b.origin})
        expect(plain, 415, "as text/plain")
    return failures


def role_refusals(c: Ctx, route: dict, method: str, kind: str, path: str, body) -> list[str]:
    """Every caller below the route's role, by every credential; the failures."""
    failures = []
    need = NEEDS[route["who"]]
    form = kind == "form"
    api = route["pattern"].startswith("/api/")
    reading = method in READING
    bodies = [None] if reading else [body, junk(form)]
    name = f"{method} {path}"

    def expect_refused(r: Resp, who: str, b):
        if not refused(r):
            failures.append(f"{name} as {who} (body {json.dumps(b)[:80]}): not refused: "
                            f"{r.status} {r.body[:160]!r}")

    for b_ in bodies:
        expect_refused(send_session(c.anonymous(), method, path, b_, form=form), "anonymous", b_)
        for role in ROLES:
            if ROLE_RANK[role] >= need:
                break
            expect_refused(send_session(c.sessions[role], method, path, b_, form=form),
                           f"the {role}'s session", b_)
            if api:
                expect_refused(send_bearer(c, c.tokens[role], method, path, b_), f"the {role}'s token", b_)
        # What the route says it takes is all it takes.
        if route["via"] == "bearer":
            expect_refused(send_session(c.sessions[route["who"] if need > 1 else "reader"], method,
                                        path, b_, form=form), f"the {route['who']}'s session", b_)
        if route["via"] == "session" and need >= 1:
            # Pages never read Authorization; session-only API routes refuse it.
            expect_refused(send_bearer(c, c.tokens["admin"], method, path, b_), "an admin token", b_)
    return failures


def upgrade_refusals(c: Ctx, route: dict) -> list[str]:
    """The WebSocket handshake: a session cookie from a foreign page must
    not open a connection (which may publish); from this site it does."""
    host = f"{c.srv.address[0]}:{c.srv.address[1]}"
    cookie = "; ".join(f"{k}={v}" for k, v in c.sessions["reader"].cookies.items())
    failures = []
    for origin, status in ((EVIL, 403), ("null", 403), (c.srv.base_url, 101)):
        ans = raw_upgrade(c.srv.address, handshake_request(host, route["pattern"], origin=origin,
                                                           extra_headers={"Cookie": cookie}))
        if ans.status != status:
            failures.append(f"upgrade {route['pattern']} from {origin}: expected {status}, got {ans.status}")
    return failures


def test_forged_and_unauthorised_requests_change_nothing(routes, ctx):
    c = ctx
    c.barrier.wait()
    before = c.stored()
    failures: list[str] = []
    swept = 0
    for route, method, kind in classify(routes, CASES):
        if kind == "upgrade":
            failures += upgrade_refusals(c, route)
            continue
        if kind == "read":
            if NEEDS[route["who"]] == 0:
                continue
            path = fill(route["pattern"], READ_PARAMS.get(route["pattern"], lambda c: {})(c))
            failures += role_refusals(c, route, method, kind, path, None)
            swept += 1
            continue
        case = CASES[key(method, route["pattern"])]
        for variant in case.variants(c):
            path = fill(route["pattern"], variant)
            body = case.body(c, variant, 0)
            failures += csrf_refusals(c, route, method, kind, path, body)
            if NEEDS[route["who"]] > 0:
                failures += role_refusals(c, route, method, kind, path, body)
            swept += 1
    c.barrier.wait()
    changed = differences(before, c.stored())
    assert not failures and not changed, (
        f"{len(failures)} refusals missing:\n" + "\n".join(failures)
        + "\nstored state changed:\n" + "\n".join(changed or ["(nothing)"]))
    assert swept >= 30, swept
    c.srv.assert_alive()


# --------------------------------------------------------------------------
# The callers a route is for get through
# --------------------------------------------------------------------------


def test_allowed_callers_get_through(routes, ctx):
    c = ctx
    before = c.stored()
    # Before anything is let through, no case may find its change done: a
    # check that holds either way would prove nothing (here or above).
    done_already = [name for name, case in CASES.items() if case.happened(c, before, before)]
    assert not done_already, f"these cases see their change before it is made: {done_already}"
    failures: list[str] = []
    checks: list[tuple[str, Case]] = []
    for route, method, kind in classify(routes, CASES):
        if kind == "upgrade":
            continue
        if kind == "read":
            if NEEDS[route["who"]] == 0:
                continue
            path = fill(route["pattern"], READ_PARAMS.get(route["pattern"], lambda c: {})(c))
            r = send_session(principal_session(c, route["who"]), method, path, None, form=False)
            if r.status != 200:
                failures.append(f"{method} {path} as {route['who']}: {r.status} {r.body[:160]!r}")
            continue
        case = CASES[key(method, route["pattern"])]
        form = kind == "form"
        for variant in case.variants(c):
            # One call by each credential the route declares; the n-th call
            # gets a body (and, where it must, path parameters) of its own.
            ways = []
            if route["via"] == "nothing":
                ways.append("anonymous")
            if route["via"] in ("session", "session_or_bearer"):
                ways.append("session")
            if route["via"] in ("bearer", "session_or_bearer"):
                ways.append("token")
            for n, how in enumerate(ways):
                values = case.call_params(c, variant, n) if case.call_params else variant
                path = fill(route["pattern"], values)
                body = case.body(c, variant, n)
                if how == "anonymous":
                    r = send_session(c.anonymous(), method, path, body, form=form)
                elif how == "session":
                    b = case.as_(c, variant) if case.as_ else principal_session(c, route["who"])
                    r = send_session(b, method, path, body, form=form)
                else:
                    role = route["who"] if route["who"] in ROLE_RANK else "reader"
                    r = send_bearer(c, c.tokens[role], method, path, body)
                if refused(r) or r.status >= 400:
                    failures.append(f"{method} {path} by {how}: {r.status} {r.body[:200]!r}")
        checks.append((key(method, route["pattern"]), case))
    c.barrier.wait()
    after = c.stored()
    for name, case in checks:
        try:
            ok = case.happened(c, before, after)
        except (KeyError, TypeError) as e:
            ok = False
            failures.append(f"{name}: checking what happened failed: {e!r}")
        if not ok:
            failures.append(f"{name}: let through, but what it asked for is not stored")
    assert not failures, f"{len(failures)} allowed requests failed:\n" + "\n".join(failures)
