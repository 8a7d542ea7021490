// Journeys only a cluster has (DEPESCHE_BROWSER_CLUSTER=1, see cluster.mjs;
// skipped otherwise): a reader's node dies and the page carries on through
// nginx on the other node, missing nothing and showing nothing twice.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  startServer, launchBrowser, formatProblems, poll, newReaderPage, gotoOk,
} from './server.mjs';

const CLUSTER = process.env.DEPESCHE_BROWSER_CLUSTER === '1';
const TEST_TIMEOUT = 120_000;
const RECONNECT_TIMEOUT = 35_000; // the page's backoff with jitter
const BLOCK = '[data-ticker]';

let server;
let browser;
let token;

async function post(ticker, entry) {
  const res = await fetch(`${server.baseURL}/api/v1/tickers/${encodeURIComponent(ticker)}/entries`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(entry),
  });
  const text = await res.text();
  assert.equal(res.status, 201, `POST entry to ${ticker} through nginx: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

// Live readers on a node, from its own /metrics (not through nginx).
async function liveConnections(node) {
  const text = await (await fetch(`${node.baseURL}/metrics`)).text();
  const m = /^depesche_live_connections (\S+)$/m.exec(text);
  assert.ok(m, `depesche_live_connections not in ${node.baseURL}/metrics`);
  return Number(m[1]);
}

async function listIds(page) {
  return page.locator(`${BLOCK} .ticker-list > li`).evaluateAll((els) => els.map((e) => Number(e.dataset.id)));
}

async function indicatorState(page) {
  return page.locator(`${BLOCK} .live-indicator`).evaluate((el) => el.dataset.state);
}

// Every WebSocket of the page with the JSON frames it sent and received.
function watchSockets(page) {
  const sockets = [];
  page.on('websocket', (ws) => {
    const rec = { opened: Date.now(), sent: [], received: [] };
    sockets.push(rec);
    const parse = (f) => { try { return JSON.parse(String(f.payload)); } catch { return null; } };
    ws.on('framesent', (f) => rec.sent.push(parse(f)));
    ws.on('framereceived', (f) => rec.received.push(parse(f)));
  });
  return sockets;
}

const wsDown = (p) => p.kind === 'console' && /WebSocket connection to 'ws:\/\/[^']*\/live' failed/.test(p.text);

describe('cluster', { skip: !CLUSTER && 'needs DEPESCHE_BROWSER_CLUSTER=1' }, () => {
  before(async () => {
    server = await startServer({ name: 'cluster' });
    token = await server.createToken({ role: 'editor', name: 'cluster-browser' });
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  it('de: the reader\'s node is killed; the page reconnects through nginx to the other and shows every entry once',
    { timeout: TEST_TIMEOUT }, async () => {
      const { context, page, problems } = await newReaderPage(browser, 'de');
      const sockets = watchSockets(page);
      let killed;
      try {
        await gotoOk(page, `${server.baseURL}/de/ticker`);
        assert.ok(await poll(async () => (await indicatorState(page)) === 'live', 15_000), 'live before the kill');
        const warm = await post('de', { title: 'Vor dem Ausfall', body: 'Live gesehen, bevor ein Knoten ausfällt.' });
        assert.ok(await poll(async () => (await listIds(page)).includes(warm.id), 10_000), 'entry before the kill shown live');

        // The page has one socket; /metrics of each node says where it is.
        const counts = await Promise.all(server.nodes.map(liveConnections));
        assert.deepEqual([...counts].sort(), [0, 1], `one live reader in all: ${counts}`);
        killed = server.nodes[counts.indexOf(1)];
        const survivor = server.nodes[counts.indexOf(0)];
        const lastSeq = sockets.at(-1).received.filter((m) => m && m.type === 'event' && m.topic === 'ticker:de').at(-1).seq;

        await killed.kill('SIGKILL');
        // Posted through nginx while the reader is away: they reach the survivor.
        const missed = [];
        for (let i = 1; i <= 3; i += 1) missed.push(await post('de', { title: `Während des Ausfalls ${i}`, body: `Eintrag ${i}.` }));

        const expected = [warm.id, ...missed.map((e) => e.id)];
        const shown = await poll(async () => {
          const ids = await listIds(page);
          return expected.every((id) => ids.includes(id)) && (await indicatorState(page)) === 'live' ? ids : null;
        }, RECONNECT_TIMEOUT, 200);
        const ids = shown || await listIds(page);
        assert.ok(shown, `the page did not show every entry live again within ${RECONNECT_TIMEOUT} ms: ${JSON.stringify(ids.slice(0, 8))}, expected ${expected}`);
        assert.equal(new Set(ids).size, ids.length, `an entry shown twice: ${JSON.stringify(ids)}`);
        assert.equal(await liveConnections(survivor), 1, 'the reader is on the other node now');

        const resub = sockets.at(-1).sent.find((m) => m && m.type === 'subscribe' && m.topic === 'ticker:de');
        assert.equal(resub && resub.since, lastSeq, `the resubscribe carries the last seq: ${JSON.stringify(resub)}`);
        const all = sockets.flatMap((s) => s.received).filter((m) => m && m.topic === 'ticker:de');
        assert.ok(!all.some((m) => m.type === 'resync'), 'no resync');
        const seqs = all.filter((m) => m.type === 'event').map((m) => m.seq);
        assert.deepEqual(seqs, [...new Set(seqs)].sort((x, y) => x - y), `every event once, in order: ${seqs}`);
        assert.ok(seqs.length >= 4 && seqs.slice(-3).every((s, i) => s === lastSeq + 1 + i), `consecutive seqs after ${lastSeq}: ${seqs}`);

        const bad = problems.filter((p) => !wsDown(p));
        assert.equal(bad.length, 0, `problems on /de/ticker:\n${formatProblems(bad)}`);
      } finally {
        await context.close();
        if (killed && !killed.running()) await killed.restart();
      }
    });
});
