// The page's live connection (static/live-connection.js, issue 7) against
// the real server: several topics on one socket; resuming after the server
// went away delivers what was missed once, in order, without resync; a
// reset topic (new epoch) is told to resync; messages to handlers are
// answered through their Promise (the server has no handlers yet, so every
// type is refused with its "unknown message type" error); and live.js loads
// its modules with its own ?v=.
//
// The module is imported into a page of the site that has no live part of
// its own (the log-in page), under the site's CSP, and driven through
// page.evaluate; what its handlers were called with is logged in the page.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import {
  ARTIFACTS_DIR, startServer, launchBrowser, formatProblems, poll, newReaderPage, gotoOk,
} from './server.mjs';

const TEST_TIMEOUT = 60_000;
const LIVE_TIMEOUT = 10_000;
const RECONNECT_TIMEOUT = 30_000;
const BLOG = 'regionalwahl-live'; // the demo's German live blog

let server;
let browser;
let post; // (ticker, entry) -> the entry, as the API answers

function makePost(srv, token) {
  return async (ticker, entry) => {
    const res = await fetch(`${srv.baseURL}/api/v1/tickers/${encodeURIComponent(ticker)}/entries`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(entry),
    });
    const text = await res.text();
    assert.equal(res.status, 201, `POST entry to ${ticker}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
}

// A page with the module loaded as window.live.m, one LiveConnection as
// window.live.conn, and window.live.log: every handler call, in order.
async function openLivePage(options = {}) {
  const { context, page, problems } = await newReaderPage(browser, 'de');
  const sockets = [];
  page.on('websocket', (ws) => {
    const rec = { url: ws.url(), sent: [], received: [] };
    sockets.push(rec);
    ws.on('framesent', (f) => rec.sent.push(JSON.parse(String(f.payload))));
    ws.on('framereceived', (f) => rec.received.push(JSON.parse(String(f.payload))));
  });
  await gotoOk(page, `${server.baseURL}/account/login?ed=de`);
  await page.evaluate(async (opts) => {
    const m = await import('/static/live-connection.js');
    const live = { m, conn: new m.LiveConnection(opts), log: [], subs: {}, states: [] };
    live.conn.onState((s) => live.states.push(s));
    window.live = live;
  }, options);
  return { context, page, problems, sockets };
}

// Subscribes in the page; handler calls go to window.live.log.
async function subscribe(page, topic, opts = {}) {
  return page.evaluate(({ topic, opts }) => {
    const { log, conn } = window.live;
    const rec = (kind) => (arg) => log.push({ topic, kind, arg: JSON.parse(JSON.stringify(arg ?? null)) });
    const onError = (err) => log.push({ topic, kind: 'error', arg: { code: err.code, message: err.message, topic: err.topic } });
    window.live.subs[topic] = conn.subscribe(topic, {
      ...opts, onEvent: rec('event'), onResync: rec('resync'), onSubscribed: rec('subscribed'), onError,
    });
  }, { topic, opts });
}

const handlerLog = (page) => page.evaluate(() => window.live.log);
const handle = (page, topic) => page.evaluate((t) => {
  const h = window.live.subs[t];
  return { seq: h.seq, epoch: h.epoch, active: h.active };
}, topic);
const connState = (page) => page.evaluate(() => window.live.conn.state);

async function waitLog(page, pred, what, timeoutMs = LIVE_TIMEOUT) {
  const got = await poll(async () => (await handlerLog(page)).find(pred), timeoutMs);
  assert.ok(got, `${what}; handler calls: ${JSON.stringify(await handlerLog(page), null, 1).slice(0, 3000)}`);
  return got;
}

// send() in the page; resolves to how its Promise settled.
function sendInPage(page, type, topic, data, options) {
  return page.evaluate(async ({ type, topic, data, options }) => {
    try {
      return { ok: true, data: await window.live.conn.send(type, topic, data, options) };
    } catch (err) {
      return {
        ok: false, name: err.name, isLiveError: err instanceof window.live.m.LiveError,
        code: err.code, message: err.message, id: err.id, topic: err.topic,
      };
    }
  }, { type, topic, data, options });
}

function assertNoProblems(problems, what, allowed = () => false) {
  const real = problems.filter((p) => !allowed(p));
  assert.equal(real.length, 0, `problems on ${what}:\n${formatProblems(real)}`);
}

// While the server is down Chromium logs each refused WebSocket.
const wsDown = (p) => p.kind === 'console' && /WebSocket connection to 'ws:\/\/[^']*\/live' failed/.test(p.text);

const events = (log, topic) => log.filter((x) => x.topic === topic && x.kind === 'event').map((x) => x.arg);

describe('live connection', { timeout: 5 * 60_000 }, () => {
  before(async () => {
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    server = await startServer({ name: 'live-connection' });
    post = makePost(server, await server.createToken({ role: 'editor', name: 'browser-live-connection' }));
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  it('two topics share one socket; each gets its own events, once; a refused topic leaves the others alone',
    { timeout: TEST_TIMEOUT }, async () => {
      const { context, page, problems, sockets } = await openLivePage();
      try {
        await subscribe(page, 'ticker:de');
        await subscribe(page, `ticker:${BLOG}`);
        await subscribe(page, 'nope:nothing');
        for (const t of ['ticker:de', `ticker:${BLOG}`]) {
          await waitLog(page, (x) => x.topic === t && x.kind === 'subscribed', `${t}: no onSubscribed`);
        }
        const refused = await waitLog(page, (x) => x.topic === 'nope:nothing' && x.kind === 'error', 'unknown topic: no onError');
        assert.equal(refused.arg.code, 'not_found', 'unknown topic: error code');
        assert.equal((await handle(page, 'nope:nothing')).active, false, 'a refused topic is no longer subscribed');
        const de0 = await handle(page, 'ticker:de');
        assert.equal(de0.active, true);
        assert.ok(Number.isSafeInteger(de0.epoch), `ticker:de epoch from "subscribed": ${de0.epoch}`);

        const a = await post('de', { title: 'Eins', body: 'Erster Eintrag.' });
        const b = await post(BLOG, { title: 'Blog', body: 'Ein Eintrag im Live-Blog.' });
        const c = await post('de', { title: 'Zwei', body: 'Zweiter Eintrag.' });
        await waitLog(page, (x) => x.kind === 'event' && x.arg.data.id === c.id, `event for entry ${c.id}`);
        await waitLog(page, (x) => x.kind === 'event' && x.arg.data.id === b.id, `event for entry ${b.id}`);
        await page.waitForTimeout(500);
        const log = await handlerLog(page);
        const de = events(log, 'ticker:de');
        assert.deepEqual(de.map((e) => e.data.id), [a.id, c.id], 'ticker:de handler: its two entries, in order, once');
        assert.deepEqual(de.map((e) => e.seq), [de0.seq + 1, de0.seq + 2], 'ticker:de seqs follow "subscribed"');
        assert.ok(de.every((e) => e.topic === 'ticker:de' && e.event === 'ticker.entry'), JSON.stringify(de));
        assert.deepEqual(events(log, `ticker:${BLOG}`).map((e) => e.data.id), [b.id], 'live blog handler: its entry only');
        assert.equal((await handle(page, 'ticker:de')).seq, de0.seq + 2, 'handle.seq is the last seq seen');
        assert.ok(!log.some((x) => x.kind === 'resync'), 'no resync');

        assert.equal(sockets.length, 1, `one WebSocket for every topic (${sockets.length})`);
        assert.deepEqual(sockets[0].sent.filter((m) => m.type === 'subscribe').map((m) => m.topic),
          ['ticker:de', `ticker:${BLOG}`, 'nope:nothing'], 'subscribes on the one socket');

        // After unsubscribe the handler hears nothing more; the other topic goes on.
        await page.evaluate(() => window.live.subs['ticker:de'].unsubscribe());
        const d = await post('de', { title: 'Drei', body: 'Nach dem Abbestellen.' });
        const e = await post(BLOG, { title: 'Blog 2', body: 'Noch ein Eintrag im Live-Blog.' });
        await waitLog(page, (x) => x.kind === 'event' && x.arg.data.id === e.id, `event for entry ${e.id}`);
        await page.waitForTimeout(300);
        assert.ok(!events(await handlerLog(page), 'ticker:de').some((x) => x.data.id === d.id), 'no event after unsubscribe');
        assert.deepEqual(sockets[0].sent.at(-1), { type: 'unsubscribe', topic: 'ticker:de' });
        assertNoProblems(problems, 'the test page');
      } finally {
        await context.close();
      }
    });

  it('a message for which the server has no handler is rejected with its error; a late answer is ignored',
    { timeout: TEST_TIMEOUT }, async () => {
      const { context, page, problems, sockets } = await openLivePage();
      try {
        await subscribe(page, 'ticker:de');
        await waitLog(page, (x) => x.kind === 'subscribed', 'ticker:de: no onSubscribed');

        const r = await sendInPage(page, 'publish', 'chat:lobby', { body: 'Hallo' });
        assert.equal(r.ok, false, `send resolved: ${JSON.stringify(r)}`);
        assert.equal(r.isLiveError, true, `rejected with ${r.name}, not a LiveError`);
        assert.equal(r.code, 'invalid', 'the hub\'s code for an unknown type');
        assert.equal(r.message, 'unknown message type');
        assert.equal(r.topic, 'chat:lobby');
        const sent = sockets[0].sent.find((m) => m.type === 'publish');
        assert.deepEqual(sent, { body: 'Hallo', type: 'publish', id: r.id, topic: 'chat:lobby' }, 'the frame sent');
        assert.ok(/^[\x21-\x7e]{1,64}$/.test(r.id), `id ${r.id}`);
        const answer = sockets[0].received.find((m) => m.type === 'error' && m.id === r.id);
        assert.deepEqual(answer, { type: 'error', id: r.id, topic: 'chat:lobby', code: 'invalid', message: 'unknown message type' });

        // Each send has its own id; answers find their Promise by it.
        const [x, y] = await Promise.all([
          sendInPage(page, 'react', 'comments:1', { kind: 'like' }),
          sendInPage(page, 'publish', 'chat:other', { body: 'Zweite' }),
        ]);
        assert.notEqual(x.id, y.id, 'ids differ');
        assert.deepEqual([x.code, x.topic, y.code, y.topic], ['invalid', 'comments:1', 'invalid', 'chat:other']);

        // No answer in time: rejected with "timeout". The server's error for
        // it comes later, names a subscribed topic, and must not be taken for
        // a refusal of that topic.
        const late = await sendInPage(page, 'publish', 'ticker:de', { body: 'zu spät' }, { timeoutMs: 0 });
        assert.equal(late.code, 'timeout', JSON.stringify(late));
        await poll(() => sockets[0].received.some((m) => m.type === 'error' && m.id === late.id), 5000);
        assert.ok(sockets[0].received.some((m) => m.type === 'error' && m.id === late.id), 'the late answer came');
        assert.equal((await handle(page, 'ticker:de')).active, true, 'ticker:de still subscribed after the late error');
        const entry = await post('de', { title: 'Danach', body: 'Nach der späten Antwort.' });
        await waitLog(page, (l) => l.kind === 'event' && l.arg.data.id === entry.id, 'events go on after the late error');
        assert.ok(!(await handlerLog(page)).some((l) => l.kind === 'error'), 'no onError for the topic');
        assertNoProblems(problems, 'the test page');
      } finally {
        await context.close();
      }
    });

  it('after the server went away, the connection resumes with its seq: what was missed comes once, in order, no resync',
    { timeout: TEST_TIMEOUT }, async () => {
      // The first reconnect waits 2-4 s, long enough for the server to be
      // back and the entries posted, so that they are missed, not live.
      const { context, page, problems, sockets } = await openLivePage({ initialBackoffMs: 4000, maxBackoffMs: 8000 });
      try {
        await subscribe(page, 'ticker:de');
        await subscribe(page, `ticker:${BLOG}`);
        await waitLog(page, (x) => x.topic === 'ticker:de' && x.kind === 'subscribed', 'no onSubscribed');
        const warm = await post('de', { title: 'Vorher', body: 'Vor dem Neustart.' });
        const seen = await waitLog(page, (x) => x.kind === 'event' && x.arg.data.id === warm.id, 'live before the restart');
        const before = await handle(page, 'ticker:de');

        await server.kill('SIGKILL');
        assert.ok(await poll(async () => (await connState(page)) === 'offline', 5000), 'state "offline" after the kill');
        const down = await sendInPage(page, 'publish', 'chat:lobby', { body: 'offline' });
        assert.equal(down.code, 'disconnected', `send while offline: ${JSON.stringify(down)}`);
        await server.restart();
        const missed = [];
        for (let i = 1; i <= 3; i += 1) missed.push(await post('de', { title: `Verpasst ${i}`, body: `Eintrag ${i}.` }));
        const blogMissed = await post(BLOG, { title: 'Blog verpasst', body: 'Im Live-Blog verpasst.' });

        const last = missed.at(-1);
        await waitLog(page, (x) => x.kind === 'event' && x.arg.data.id === last.id, `missed entry ${last.id} after the reconnect`, RECONNECT_TIMEOUT);
        await waitLog(page, (x) => x.kind === 'event' && x.arg.data.id === blogMissed.id, 'missed live blog entry', LIVE_TIMEOUT);
        await page.waitForTimeout(500);
        const log = await handlerLog(page);
        const after = events(log, 'ticker:de').filter((e) => e.seq > seen.arg.seq);
        assert.deepEqual(after.map((e) => e.data.id), missed.map((e) => e.id), 'the missed entries, in order, once');
        assert.deepEqual(after.map((e) => e.seq), [1, 2, 3].map((n) => before.seq + n), 'consecutive seqs');
        assert.ok(!log.some((x) => x.kind === 'resync'), `no resync: ${JSON.stringify(log.filter((x) => x.kind === 'resync'))}`);
        assert.ok(sockets.length >= 2, 'a new socket');
        const resub = sockets.at(-1).sent.find((m) => m.type === 'subscribe' && m.topic === 'ticker:de');
        assert.deepEqual(resub, { type: 'subscribe', topic: 'ticker:de', since: before.seq, epoch: before.epoch },
          'the resubscribe carries the last seq seen and the epoch');
        const answer = sockets.at(-1).received.find((m) => m.type === 'subscribed' && m.topic === 'ticker:de');
        assert.ok(answer.seq >= before.seq + 3, `replayed, not live: "subscribed" at ${answer.seq} already covers the missed entries`);
        assert.equal((await handlerLog(page)).filter((x) => x.topic === 'ticker:de' && x.kind === 'subscribed').length, 2,
          'onSubscribed once per connection');
        assertNoProblems(problems, 'the test page', wsDown);
      } finally {
        await context.close();
      }
    });

  it('a topic whose history was reset (new epoch) gets onResync, and counts in the new history',
    { timeout: TEST_TIMEOUT }, async () => {
      const { context, page, problems } = await openLivePage({ initialBackoffMs: 500, maxBackoffMs: 2000 });
      try {
        await subscribe(page, 'ticker:en');
        await subscribe(page, 'ticker:de');
        await waitLog(page, (x) => x.topic === 'ticker:en' && x.kind === 'subscribed', 'no onSubscribed');
        await waitLog(page, (x) => x.topic === 'ticker:de' && x.kind === 'subscribed', 'no onSubscribed');
        const warm = await post('en', { title: 'Before', body: 'Before the reset.' });
        await waitLog(page, (x) => x.kind === 'event' && x.arg.data.id === warm.id, 'live before the reset');
        const old = await handle(page, 'ticker:en');

        await server.kill('SIGKILL');
        await server.cli(['events', 'reset', '--topic', 'ticker:en']);
        await server.restart();
        const resync = await waitLog(page, (x) => x.topic === 'ticker:en' && x.kind === 'resync', 'no onResync for ticker:en', RECONNECT_TIMEOUT);
        assert.notEqual(resync.arg.epoch, old.epoch, 'onResync tells the new epoch');
        const now = await handle(page, 'ticker:en');
        assert.equal(now.epoch, resync.arg.epoch, 'handle.epoch is the new one');
        assert.equal(now.seq, resync.arg.seq, 'handle.seq is the topic\'s head');

        const next = await post('en', { title: 'After', body: 'After the reset.' });
        const ev = await waitLog(page, (x) => x.kind === 'event' && x.arg.data.id === next.id, 'an event after the resync');
        assert.equal(ev.arg.seq, resync.arg.seq + 1, 'the next seq of the new history');
        const log = await handlerLog(page);
        assert.equal(log.filter((x) => x.kind === 'resync').length, 1, 'one resync, for the reset topic only');
        assertNoProblems(problems, 'the test page', wsDown);
      } finally {
        await context.close();
      }
    });

  it('live.js loads its modules with its own ?v= (cached as immutable) and opens one socket for the page',
    { timeout: TEST_TIMEOUT }, async () => {
      const { context, page, problems } = await newReaderPage(browser, 'de');
      const scripts = [];
      page.on('response', (res) => {
        const u = new URL(res.url());
        if (u.pathname.endsWith('.js')) scripts.push({ path: u.pathname, v: u.searchParams.get('v'), cache: res.headers()['cache-control'] });
      });
      let sockets = 0;
      page.on('websocket', () => { sockets += 1; });
      try {
        await gotoOk(page, `${server.baseURL}/de/ticker`);
        const state = await poll(() => page.locator('[data-ticker] .live-indicator').getAttribute('data-state')
          .then((s) => (s === 'live' ? s : null)), LIVE_TIMEOUT);
        assert.equal(state, 'live', 'the ticker goes live');
        const paths = scripts.map((s) => s.path).sort();
        assert.deepEqual(paths, ['/static/live-connection.js', '/static/live.js', '/static/ticker.js'], JSON.stringify(scripts));
        const v = scripts.find((s) => s.path === '/static/live.js').v;
        assert.ok(v, 'live.js has a version');
        for (const s of scripts) {
          assert.equal(s.v, v, `${s.path}: same ?v= as live.js`);
          assert.match(s.cache, /immutable/, `${s.path}: Cache-Control ${s.cache}`);
        }
        assert.equal(sockets, 1, 'one WebSocket');
        assertNoProblems(problems, '/de/ticker');
      } finally {
        await context.close();
      }
    });
});
