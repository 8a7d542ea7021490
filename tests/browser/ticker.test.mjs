// The live newsticker as readers see it (issue 4): entries posted by an
// editor through the API show up on open pages without a reload, exactly
// once, with the edition's time format; the "N new" counter for a reader who
// has scrolled past the top of the list (German and Russian plurals); the
// order toggle and "load more", with JavaScript and without; the live blog
// page and its JSON-LD; accessibility; and a reader who stays on the page
// while the server is killed and started again (same port, same data dir).
//
// Entries are posted with a bearer token from `depesche token create`; the
// API's own lists (GET /api/v1/tickers/{id}/entries) are the reference for
// what a page must show.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import {
  ARTIFACTS_DIR, startServer, launchBrowser, formatProblems, loadCatalogs, poll, newReaderPage,
  gotoOk, assertAccessible,
} from './server.mjs';

const TEST_TIMEOUT = 60_000;
const RECONNECT_TIMEOUT = 35_000; // backoff with jitter after a restart
const LIVE_TIMEOUT = 10_000;      // an entry posted -> shown on an open page
const PAGE_SIZE = 20;             // data-limit of /{ed}/ticker
const HOME_SIZE = 5;              // data-limit of the home page's ticker block
const NAME = 'ticker';
const BLOG = 'regionalwahl-live'; // the demo's German live blog

let server;
let browser;
const openPage = (ed, options) => newReaderPage(browser, ed, options);
let catalogs;
let api; // for `server`

// --- API ---------------------------------------------------------------------

function makeApi(srv, token) {
  async function call(method, path, body) {
    const res = await fetch(`${srv.baseURL}${path}`, {
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null, text };
  }
  return {
    async post(ticker, entry) {
      const r = await call('POST', `/api/v1/tickers/${encodeURIComponent(ticker)}/entries`, entry);
      assert.equal(r.status, 201, `POST entry to ${ticker}: ${r.status} ${r.text}`);
      return r.json;
    },
    // One page of entries: { items, next_cursor }.
    async entries(ticker, { order = 'newest', cursor = null, limit = PAGE_SIZE } = {}) {
      const q = new URLSearchParams({ order, limit: String(limit) });
      if (cursor) q.set('cursor', cursor);
      const r = await call('GET', `/api/v1/tickers/${encodeURIComponent(ticker)}/entries?${q}`);
      assert.equal(r.status, 200, `GET entries of ${ticker}: ${r.status} ${r.text}`);
      return r.json;
    },
    async patch(ticker, id, fields) {
      const r = await call('PATCH', `/api/v1/tickers/${encodeURIComponent(ticker)}/entries/${id}`, fields);
      assert.equal(r.status, 200, `PATCH entry ${id} of ${ticker}: ${r.status} ${r.text}`);
      return r.json;
    },
    async remove(ticker, id) {
      const r = await call('DELETE', `/api/v1/tickers/${encodeURIComponent(ticker)}/entries/${id}`);
      assert.equal(r.status, 204, `DELETE entry ${id} of ${ticker}: ${r.status} ${r.text}`);
    },
    async pinnedIds(ticker) {
      const r = await call('GET', `/api/v1/tickers/${encodeURIComponent(ticker)}/pinned`);
      assert.equal(r.status, 200, `GET pinned of ${ticker}: ${r.status} ${r.text}`);
      return r.json.items.map((e) => e.id);
    },
    async ids(ticker, opts) {
      return (await this.entries(ticker, opts)).items.map((e) => e.id);
    },
    async tickers(edition) {
      const r = await call('GET', `/api/v1/tickers?edition=${edition}`);
      assert.equal(r.status, 200, `GET tickers: ${r.status} ${r.text}`);
      return r.json.items;
    },
    // The server-rendered page's HTML (no browser), for reference.
    async html(path) {
      const res = await fetch(`${srv.baseURL}${path}`);
      assert.equal(res.status, 200, `GET ${path}: ${res.status}`);
      return res.text();
    },
  };
}

// --- pages -------------------------------------------------------------------



const BLOCK = '[data-ticker]';

async function indicator(page) {
  return page.locator(`${BLOCK} .live-indicator`).evaluate((el) => ({
    state: el.dataset.state, text: el.textContent.trim(), hidden: el.hidden,
  }));
}

// Waits for the live indicator to say "live" in the edition's words.
async function waitLive(page, ed, what, timeoutMs = 15_000) {
  const ind = await poll(async () => {
    const i = await indicator(page);
    return i.state === 'live' ? i : null;
  }, timeoutMs);
  const last = ind || await indicator(page);
  assert.equal(last.state, 'live', `${what}: live indicator did not reach data-state="live" (${JSON.stringify(last)})`);
  assert.equal(last.text, catalogs[ed].ticker_live, `${what}: live indicator text`);
  assert.equal(last.hidden, false, `${what}: live indicator is hidden`);
  assert.ok(await page.locator(`${BLOCK} .live-indicator`).isVisible(), `${what}: live indicator not visible`);
}

// The ids of the entries in the ticker list, top to bottom.
async function listIds(page) {
  return page.locator(`${BLOCK} .ticker-list > li`).evaluateAll((els) => els.map((e) => Number(e.dataset.id)));
}

// The ids in the pinned list above the ticker, top to bottom; [] when the
// list is hidden (it must then be empty too). Both are read at one moment:
// read one after the other, an entry arriving in between would look like
// an empty list left visible.
async function pinnedIds(page) {
  const { ids, visible } = await page.locator(`${BLOCK} .ticker-pinned`).evaluate((list) => ({
    ids: [...list.querySelectorAll(':scope > li')].map((e) => Number(e.dataset.id)),
    visible: list.getClientRects().length > 0 && getComputedStyle(list).visibility !== 'hidden',
  }));
  assert.equal(visible, ids.length > 0, `pinned list visible (${visible}) with ${ids.length} entries`);
  return ids;
}

async function waitForPinned(page, want, what) {
  const got = await poll(async () => {
    const ids = await pinnedIds(page);
    return JSON.stringify(ids) === JSON.stringify(want) ? ids : null;
  }, LIVE_TIMEOUT);
  assert.deepEqual(got || await pinnedIds(page), want, `${what}: pinned list`);
}

function duplicates(ids) {
  const seen = new Set();
  return ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
}

// What the page shows of one entry.
async function entryView(page, id) {
  return page.locator(`${BLOCK} .ticker-list`).evaluate((list, id) => {
    const all = [...list.querySelectorAll(`:scope > li[data-id="${id}"]`)];
    if (!all.length) return { count: 0 };
    const li = all[0];
    const time = li.querySelector('time');
    const h = li.querySelector('.entry-title');
    const body = li.querySelector('.entry-body');
    return {
      count: all.length,
      index: [...list.children].indexOf(li),
      liId: li.id,
      datetime: time && time.getAttribute('datetime'),
      timeText: time && time.textContent.trim(),
      title: h ? h.textContent.trim() : null,
      bodyHTML: body ? body.innerHTML.trim() : null,
      visible: li.getClientRects().length > 0,
    };
  }, id);
}

// The time text the server renders for an entry (the reference for the
// time the script renders for a live one).
function serverTimeText(html, id) {
  const m = new RegExp(`data-id="${id}">\\s*<time datetime="([^"]*)">([^<]*)</time>`).exec(html);
  if (!m) return null;
  const dec = (s) => s.replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return { datetime: dec(m[1]), text: dec(m[2]).trim() };
}

// Checks a live-added entry against the API's copy and the server-rendered
// page (`pagePath`), and that it is at list index `index`, once.
async function checkEntry(page, entry, { index = 0, pagePath, what, srvApi = api }) {
  const v = await entryView(page, entry.id);
  assert.equal(v.count, 1, `${what}: entry ${entry.id} is in the list ${v.count} times`);
  if (index !== null) assert.equal(v.index, index, `${what}: entry ${entry.id} is at position ${v.index}, expected ${index}`);
  assert.equal(v.liId, `entry-${entry.id}`, `${what}: li id`);
  assert.ok(v.visible, `${what}: entry ${entry.id} is not rendered`);
  if (entry.title) assert.equal(v.title, entry.title, `${what}: entry title`);
  assert.equal(v.bodyHTML, entry.body_html.trim(), `${what}: entry body`);
  assert.equal(v.datetime, entry.created_at, `${what}: time[datetime]`);
  const ref = serverTimeText(await srvApi.html(pagePath), entry.id);
  assert.ok(ref, `${what}: entry ${entry.id} is not on the server-rendered ${pagePath}`);
  // Compared with all kinds of spaces as one: the server's ICU and
  // Chromium's may differ in which space they put (e.g. ru "2026\u202Fг."
  // vs "2026 г."), which a reader cannot see.
  const norm = (x) => x.replace(/\s+/g, ' ');
  assert.equal(norm(v.timeText), norm(ref.text),
    `${what}: the time of the live entry differs from the server-rendered one for the same entry`);
}

async function waitForEntries(page, ids, timeoutMs = LIVE_TIMEOUT) {
  return poll(async () => {
    const shown = new Set(await listIds(page));
    return ids.every((id) => shown.has(id));
  }, timeoutMs);
}

// The catalog's "N new entries" for n, by the language's plural rules.
function newText(ed, n) {
  const cat = new Intl.PluralRules(ed).select(n);
  const key = { one: 'ticker_new_one', few: 'ticker_new_few', many: 'ticker_new_many' }[cat] || 'ticker_new_other';
  return catalogs[ed][key].replace('%n', new Intl.NumberFormat(ed).format(n));
}

async function counterState(page) {
  return page.locator(`${BLOCK} .ticker-new`).evaluate((b) => {
    const r = b.getBoundingClientRect();
    return {
      hidden: b.hidden,
      text: b.textContent.trim(),
      displayed: b.getClientRects().length > 0,
      inViewport: r.height > 0 && r.bottom > 0 && r.top < window.innerHeight,
      top: Math.round(r.top),
    };
  });
}

// Scrolls so that the top of the ticker list is well above the viewport.
async function scrollPastListTop(page, what) {
  const top = await page.locator(`${BLOCK} .ticker-list`).evaluate((list) => {
    window.scrollTo(0, list.getBoundingClientRect().top + window.scrollY + 400);
    return list.getBoundingClientRect().top;
  });
  // The scroll event is dispatched asynchronously; let it run.
  await page.waitForTimeout(200);
  const now = await page.locator(`${BLOCK} .ticker-list`).evaluate((l) => l.getBoundingClientRect().top);
  assert.ok(now < 0, `${what}: could not scroll past the top of the list (list top at ${now}, was ${top}); page too short?`);
}


function assertNoProblems(problems, what, allowed = () => false) {
  const real = problems.filter((p) => !allowed(p));
  assert.equal(real.length, 0, `problems on ${what}:\n${formatProblems(real)}`);
}

// Failures of checks that should not stop the rest of a test from running;
// reported together at its end.
function deferred() {
  const list = [];
  return {
    check(ok, message) { if (!ok) list.push(message); },
    assertNone(what) {
      assert.equal(list.length, 0, `${what}:\n${list.map((m) => `  - ${m}`).join('\n')}`);
    },
  };
}

// Records the states the live indicator goes through (from now on).
async function recordIndicator(page) {
  await page.locator(`${BLOCK} .live-indicator`).evaluate((el) => {
    window.__indicatorLog = [];
    const rec = () => window.__indicatorLog.push({ t: Date.now(), state: el.dataset.state, text: el.textContent.trim(), hidden: el.hidden });
    new MutationObserver(rec).observe(el, { attributes: true, childList: true, characterData: true, subtree: true });
  });
}

function indicatorLog(page) {
  return page.evaluate(() => window.__indicatorLog || []);
}

// The page's WebSockets and their frames, for the messages of failing
// resilience checks.
function watchSockets(page) {
  const sockets = [];
  page.on('websocket', (ws) => {
    const rec = { url: ws.url(), opened: Date.now(), frames: [] };
    sockets.push(rec);
    ws.on('framesent', (f) => rec.frames.push({ t: Date.now(), dir: '>', data: String(f.payload).slice(0, 4000) }));
    ws.on('framereceived', (f) => rec.frames.push({ t: Date.now(), dir: '<', data: String(f.payload).slice(0, 4000) }));
    ws.on('socketerror', (e) => { rec.error = String(e); });
    ws.on('close', () => { rec.closed = Date.now(); });
  });
  return sockets;
}

function describeSockets(sockets, since, marks) {
  const rel = (t) => `+${((t - since) / 1000).toFixed(2)}s`;
  const out = [`  (times relative to the kill; ${Object.entries(marks).map(([k, t]) => `${k} ${rel(t)}`).join(', ')})`];
  for (const s of sockets.filter((x) => (x.closed || Infinity) >= since)) {
    out.push(`  socket opened ${rel(s.opened)}${s.closed ? `, closed ${rel(s.closed)}` : ''}${s.error ? `, error ${s.error}` : ''}`);
    for (const f of s.frames.filter((x) => x.t >= since - 2000)) {
      const short = f.data.replace(/"data":\{.*$/, '"data":{…}').slice(0, 160);
      out.push(`    ${rel(f.t)} ${f.dir} ${short}`);
    }
  }
  return out.join('\n');
}

// WebSocket connections refused or broken while the server is down are
// expected in the restart tests (Chromium logs each as a console error).
const wsDown = (p) => p.kind === 'console' && /WebSocket connection to 'ws:\/\/[^']*\/live' failed/.test(p.text);

// --- tests ---------------------------------------------------------------------

describe('ticker', { timeout: 5 * 60_000 }, () => {
  let token;

  before(async () => {
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    catalogs = loadCatalogs();
    server = await startServer({ name: NAME });
    token = await server.createToken({ role: 'editor', name: 'browser-ticker' });
    api = makeApi(server, token);
    browser = await launchBrowser();
    // Enough entries for a second page (PAGE_SIZE) and a page taller than
    // the viewport, in the de and ru tickers (the demo has a few).
    for (let i = 1; i <= 22; i += 1) {
      await api.post('de', { title: `Vorlauf ${i}`, body: `Meldung Nummer ${i} aus der Redaktion.` });
    }
    for (let i = 1; i <= 12; i += 1) {
      await api.post('ru', { title: `Заранее ${i}`, body: `Сообщение номер ${i} из редакции.` });
    }
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  it('de: an entry posted through the API shows up live on /de/ticker and the home page, once',
    { timeout: TEST_TIMEOUT }, async () => {
      // One reader in Berlin's zone, one elsewhere: both must see the site's times.
      const a = await openPage('de', { timezoneId: 'Europe/Berlin' });
      const b = await openPage('de', { timezoneId: 'America/New_York' });
      try {
        await gotoOk(a.page, `${server.baseURL}/de/ticker`);
        await gotoOk(b.page, `${server.baseURL}/de/`);
        await waitLive(a.page, 'de', '/de/ticker');
        await waitLive(b.page, 'de', '/de/');
        const beforeA = await listIds(a.page);
        const beforeB = await listIds(b.page);
        assert.deepEqual(beforeA, await api.ids('de'), '/de/ticker before the post: the API\'s first page');
        assert.deepEqual(beforeB, await api.ids('de', { limit: HOME_SIZE }), '/de/ (ticker block) before the post');

        const entry = await api.post('de', {
          title: 'Fähre nach Kessin fährt wieder',
          body: 'Der **Fährverkehr** läuft nach dem Sturm wieder nach Plan.',
        });
        for (const [p, what, path] of [[a.page, '/de/ticker', '/de/ticker'], [b.page, '/de/', '/de/']]) {
          const shown = await waitForEntries(p, [entry.id]);
          assert.ok(shown, `${what}: entry ${entry.id} did not show up within ${LIVE_TIMEOUT} ms (no reload)`);
          await checkEntry(p, entry, { index: 0, pagePath: path, what });
        }
        assert.match((await entryView(a.page, entry.id)).bodyHTML, /<strong>Fährverkehr<\/strong>/, 'Markdown rendered');

        // Nothing comes twice, later either; the rest of the list is unchanged.
        await a.page.waitForTimeout(1500);
        for (const [p, what, before] of [[a.page, '/de/ticker', beforeA], [b.page, '/de/', beforeB]]) {
          const ids = await listIds(p);
          assert.deepEqual(duplicates(ids), [], `${what}: entries shown twice`);
          assert.deepEqual(ids, [entry.id, ...before], `${what}: list after the live entry`);
          assert.equal(p.url(), `${server.baseURL}${what}`, `${what}: the page navigated`);
        }
        assertNoProblems(a.problems, '/de/ticker');
        assertNoProblems(b.problems, '/de/');
      } finally {
        await a.context.close();
        await b.context.close();
      }
    });

  it('de: a pinned entry shows above the list at once; unpinned or deleted, it goes',
    { timeout: TEST_TIMEOUT }, async () => {
      const a = await openPage('de');
      const b = await openPage('de');
      try {
        await gotoOk(a.page, `${server.baseURL}/de/ticker`);
        await gotoOk(b.page, `${server.baseURL}/de/ticker?order=oldest`);
        await waitLive(a.page, 'de', '/de/ticker');
        await waitLive(b.page, 'de', '/de/ticker?order=oldest');
        const before = await api.pinnedIds('de');
        for (const p of [a.page, b.page]) assert.deepEqual(await pinnedIds(p), before, 'pinned list as rendered');

        const first = await api.post('de', { title: 'Was wir wissen', body: 'Die wichtigsten Fakten.', pinned: true });
        const second = await api.post('de', { body: 'Eine gewöhnliche Meldung.' });
        for (const [p, what] of [[a.page, 'newest first'], [b.page, 'oldest first']]) {
          await waitForPinned(p, [first.id, ...before], `${what}, after a pinned post`);
          const badge = p.locator(`${BLOCK} .ticker-pinned #pinned-${first.id} .badge`);
          assert.equal(await badge.textContent(), catalogs.de.ticker_pinned, `${what}: pinned badge`);
        }
        assert.ok(await waitForEntries(a.page, [first.id, second.id]), 'both entries in the stream too');

        await api.patch('de', second.id, { pinned: true });
        for (const p of [a.page, b.page]) await waitForPinned(p, [second.id, first.id, ...before], 'newest pin on top');
        await api.patch('de', first.id, { pinned: false });
        for (const p of [a.page, b.page]) await waitForPinned(p, [second.id, ...before], 'after unpinning');
        await api.remove('de', second.id);
        for (const p of [a.page, b.page]) await waitForPinned(p, before, 'after deleting');
        assert.deepEqual(await api.pinnedIds('de'), before);

        // Every element id on the page is unique (an entry pinned and in the
        // stream has two anchors), and a reload shows what the live page showed.
        await api.patch('de', first.id, { pinned: true });
        await waitForPinned(a.page, [first.id, ...before], 'pinned again');
        const dupIds = await a.page.evaluate(() => {
          const seen = [...document.querySelectorAll('[id]')].map((e) => e.id);
          return seen.filter((id, i) => seen.indexOf(id) !== i);
        });
        assert.deepEqual(dupIds, [], 'duplicate element ids');
        await gotoOk(a.page, `${server.baseURL}/de/ticker`);
        assert.deepEqual(await pinnedIds(a.page), [first.id, ...before], 'server-rendered after a reload');
        await api.patch('de', first.id, { pinned: false });
        await waitForPinned(a.page, before, 'unpinned at the end');
        assertNoProblems(a.problems, '/de/ticker');
        assertNoProblems(b.problems, '/de/ticker?order=oldest');
      } finally {
        await a.context.close();
        await b.context.close();
      }
    });

  it('de: on a later page (?cursor=) new entries are counted, and the counter leads to the first page',
    { timeout: TEST_TIMEOUT }, async () => {
      const { context, page, problems } = await openPage('de');
      try {
        const first = await api.entries('de');
        assert.ok(first.next_cursor, 'the de ticker has a second page');
        const path = `/de/ticker?order=newest&cursor=${encodeURIComponent(first.next_cursor)}`;
        await gotoOk(page, `${server.baseURL}${path}`);
        await waitLive(page, 'de', path);
        const before = await listIds(page);
        const entry = await api.post('de', { body: 'Neu, aber nicht auf dieser Seite.' });
        const state = await poll(async () => {
          const s = await counterState(page);
          return s.displayed ? s : null;
        }, LIVE_TIMEOUT);
        assert.ok(state, `${path}: no counter for the new entry`);
        assert.equal(state.text, newText('de', 1));
        assert.deepEqual(await listIds(page), before, `${path}: the entry was put on the second page`);
        await Promise.all([page.waitForEvent('load'), page.locator(`${BLOCK} .ticker-new`).click()]);
        assert.equal(new URL(page.url()).pathname, '/de/ticker');
        assert.equal(new URL(page.url()).searchParams.get('cursor'), null, `${page.url()}: not the first page`);
        assert.equal((await listIds(page))[0], entry.id, 'the first page starts with the new entry');
        assertNoProblems(problems, path);
      } finally {
        await context.close();
      }
    });

  for (const [ed, counts] of [['de', [1, 2]], ['ru', [1, 2, 5]]]) {
    it(`${ed}: a reader scrolled past the list's top gets an "N new" counter (${counts.join(', ')}), and a click shows the entries`,
      { timeout: TEST_TIMEOUT }, async () => {
        const { context, page, problems } = await openPage(ed, { viewport: { width: 1000, height: 500 } });
        const later = deferred();
        try {
          await gotoOk(page, `${server.baseURL}/${ed}/ticker`);
          await waitLive(page, ed, `/${ed}/ticker`);
          // Literal expectations, as well as the catalog by the plural rules.
          if (ed === 'de') assert.equal(newText('de', 2), '2 neue Einträge');
          if (ed === 'ru') {
            assert.equal(newText('ru', 2), '2 новые записи');
            assert.equal(newText('ru', 5), '5 новых записей');
          }

          // Rounds: each posts entries until the counter says counts[k].
          const rounds = ed === 'de' ? [counts] : [[1, 2], [5]];
          for (const round of rounds) {
            await scrollPastListTop(page, `/${ed}/ticker`);
            const before = await listIds(page);
            const posted = [];
            for (const n of round) {
              while (posted.length < n) {
                posted.push(await api.post(ed, {
                  title: `${ed === 'de' ? 'Neu' : 'Новое'} ${posted.length + 1}/${n}`,
                  body: `${ed === 'de' ? 'Eintrag' : 'Запись'} ${Date.now()}-${posted.length}`,
                }));
              }
              const want = newText(ed, n);
              const st = await poll(async () => {
                const s = await counterState(page);
                return !s.hidden && s.text === want ? s : null;
              }, LIVE_TIMEOUT);
              const last = st || await counterState(page);
              assert.ok(!last.hidden && last.displayed, `/${ed}/ticker: the counter did not appear for ${n} (${JSON.stringify(last)})`);
              assert.equal(last.text, want, `/${ed}/ticker: counter text for ${n} new entries`);
              later.check(last.inViewport,
                `/${ed}/ticker: the "${want}" button is not in the viewport of the reader it is meant for ` +
                `(its top is at ${last.top}px, above the visible area: it sits above the list, which the reader has scrolled past)`);
              const ids = await listIds(page);
              assert.deepEqual(ids, before, `/${ed}/ticker: the list changed while the reader was scrolled away (entries should wait behind the counter)`);
            }
            // Clicking the counter (dispatched where it is, without
            // scrolling, which would show the entries by itself).
            await page.locator(`${BLOCK} .ticker-new`).dispatchEvent('click');
            const newest = posted.map((e) => e.id).reverse();
            const shown = await waitForEntries(page, newest, 3000);
            assert.ok(shown, `/${ed}/ticker: a click on the counter did not show the new entries`);
            const s = await counterState(page);
            assert.ok(s.hidden && !s.displayed, `/${ed}/ticker: the counter is still shown after the click (${JSON.stringify(s)})`);
            const ids = await listIds(page);
            assert.deepEqual(duplicates(ids), [], `/${ed}/ticker: entries shown twice`);
            const apiTop = (await api.ids(ed)).slice(0, newest.length);
            assert.deepEqual(apiTop, newest, 'API: the posted entries are the newest');
            const top = ids.slice(0, newest.length);
            later.check(JSON.stringify(top) === JSON.stringify(newest),
              `/${ed}/ticker: after the click the ${newest.length} new entries must be on top newest first, ` +
              `as the API lists them (${JSON.stringify(newest)}), but the list starts ${JSON.stringify(top)}`);
            assert.deepEqual([...top].sort(), [...newest].sort(), `/${ed}/ticker: the new entries on top`);
            assert.deepEqual(ids.slice(newest.length), before, `/${ed}/ticker: the rest of the list`);
            const blockTop = await page.locator(`${BLOCK}`).evaluate((el) => Math.round(el.getBoundingClientRect().top));
            assert.ok(blockTop >= -2 && blockTop < 100, `/${ed}/ticker: after the click the ticker should be scrolled into view (top at ${blockTop})`);
            for (const e of posted) await checkEntry(page, e, { index: null, pagePath: `/${ed}/ticker`, what: `/${ed}/ticker` });
          }
          assertNoProblems(problems, `/${ed}/ticker`);
          later.assertNone(`/${ed}/ticker: the counter`);
        } finally {
          await context.close();
        }
      });
  }

  it('de: the order toggle refetches oldest first and back; "load more" appends the next page',
    { timeout: TEST_TIMEOUT }, async () => {
      const { context, page, problems } = await openPage('de');
      const later = deferred();
      const t = catalogs.de;
      try {
        await gotoOk(page, `${server.baseURL}/de/ticker`);
        await waitLive(page, 'de', '/de/ticker');
        const newest1 = await api.entries('de');
        assert.ok(newest1.next_cursor, 'the de ticker should have more than one page by now');
        assert.deepEqual(await listIds(page), newest1.items.map((e) => e.id), 'initial list = API newest first');

        const nav = page.getByRole('navigation', { name: t.ticker_order, exact: true });
        const oldestLink = nav.getByRole('link', { name: t.ticker_oldest_first, exact: true });
        const newestLink = nav.getByRole('link', { name: t.ticker_newest_first, exact: true });
        const more = page.locator(`${BLOCK} a.ticker-more`);
        // Shown to the reader (removed or hidden both count as gone).
        const moreShown = async () => (await more.count()) === 1 && more.isVisible();
        const current = async () => ({
          newest: await newestLink.getAttribute('aria-current'),
          oldest: await oldestLink.getAttribute('aria-current'),
        });
        assert.deepEqual(await current(), { newest: 'true', oldest: null }, 'aria-current at first');
        assert.equal(await more.textContent(), t.ticker_load_more);

        // Oldest first.
        await oldestLink.click();
        const oldest1 = await api.entries('de', { order: 'oldest' });
        const want1 = oldest1.items.map((e) => e.id);
        const got1 = await poll(async () => {
          const ids = await listIds(page);
          return JSON.stringify(ids) === JSON.stringify(want1) ? ids : null;
        }, 5000);
        assert.deepEqual(got1 || await listIds(page), want1, 'after "Älteste zuerst": the API\'s ?order=oldest first page');
        assert.deepEqual(await current(), { newest: null, oldest: 'true' }, 'aria-current after "Älteste zuerst"');
        assert.equal(new URL(page.url()).pathname, '/de/ticker', 'stayed on the page');

        // Load more, oldest first.
        assert.ok(oldest1.next_cursor, 'API: more than one page oldest first');
        assert.ok(await moreShown(), '"Mehr laden" after switching to oldest first');
        await more.click();
        const oldest2 = await api.entries('de', { order: 'oldest', cursor: oldest1.next_cursor });
        const want2 = [...want1, ...oldest2.items.map((e) => e.id)];
        const got2 = await poll(async () => {
          const ids = await listIds(page);
          return ids.length >= want2.length ? ids : null;
        }, 5000);
        assert.deepEqual(got2 || await listIds(page), want2, 'after "Mehr laden": both oldest-first pages, nothing twice');
        if (oldest2.next_cursor) {
          assert.ok(await moreShown(), '"Mehr laden" while there is a further page');
        } else {
          assert.ok(!(await moreShown()), '"Mehr laden" is gone after the last page');
        }

        // Back to newest first.
        await newestLink.click();
        const newestAgain = await api.entries('de');
        const wantN = newestAgain.items.map((e) => e.id);
        const gotN = await poll(async () => {
          const ids = await listIds(page);
          return JSON.stringify(ids) === JSON.stringify(wantN) ? ids : null;
        }, 5000);
        assert.deepEqual(gotN || await listIds(page), wantN, 'after "Neueste zuerst": the API\'s first page again');
        assert.deepEqual(await current(), { newest: 'true', oldest: null }, 'aria-current after "Neueste zuerst"');
        const moreThere = await moreShown();
        later.check(moreThere,
          'after "Älteste zuerst", "Mehr laden" to the last page, then "Neueste zuerst": there is no "Mehr laden" link, ' +
          `although the API has a next page (next_cursor ${newestAgain.next_cursor}); the newest-first entries after the first ${PAGE_SIZE} cannot be reached`);
        if (moreThere) {
          await more.click();
          const newest2 = await api.entries('de', { cursor: newestAgain.next_cursor });
          const wantN2 = [...wantN, ...newest2.items.map((e) => e.id)];
          const gotN2 = await poll(async () => {
            const ids = await listIds(page);
            return ids.length >= wantN2.length ? ids : null;
          }, 5000);
          assert.deepEqual(gotN2 || await listIds(page), wantN2, 'newest first, after "Mehr laden"');
        }
        assert.deepEqual(duplicates(await listIds(page)), [], 'entries shown twice');
        assertNoProblems(problems, '/de/ticker');
        later.assertNone('/de/ticker: order toggle and "load more"');
      } finally {
        await context.close();
      }
    });

  it('de without JavaScript: entries, the order links and "load more" work as plain pages',
    { timeout: TEST_TIMEOUT }, async () => {
      const { context, page, problems } = await openPage('de', { javaScriptEnabled: false });
      const t = catalogs.de;
      try {
        await gotoOk(page, `${server.baseURL}/de/ticker`);
        const newest1 = await api.entries('de');
        assert.deepEqual(await listIds(page), newest1.items.map((e) => e.id), '/de/ticker: the API\'s first page');
        assert.equal(await page.locator(`${BLOCK} .live-indicator`).isVisible(), false, 'no live indicator without JavaScript');
        assert.equal(await page.locator(`${BLOCK} .ticker-new`).isVisible(), false, 'no counter without JavaScript');
        const first = newest1.items[0];
        const v = await entryView(page, first.id);
        assert.equal(v.datetime, first.created_at, 'time[datetime]');
        assert.equal(v.bodyHTML, first.body_html.trim(), 'entry body');

        const nav = page.getByRole('navigation', { name: t.ticker_order, exact: true });
        const more = page.locator(`${BLOCK} a.ticker-more`);
        const pages = [
          ['oldest', nav.getByRole('link', { name: t.ticker_oldest_first, exact: true })],
          ['newest', nav.getByRole('link', { name: t.ticker_newest_first, exact: true })],
        ];
        for (const [order, link] of pages) {
          await Promise.all([page.waitForEvent('load'), link.click()]);
          const url = new URL(page.url());
          assert.equal(url.pathname, '/de/ticker');
          assert.equal(url.searchParams.get('order') || 'newest', order, `URL after the ${order} link: ${page.url()}`);
          const p1 = await api.entries('de', { order });
          assert.deepEqual(await listIds(page), p1.items.map((e) => e.id), `${page.url()}: the API's first page, ${order} first`);
          const cur = await page.locator(`${BLOCK} .ticker-order a[aria-current="true"]`).getAttribute('data-order');
          assert.equal(cur, order, `aria-current on ${page.url()}`);

          assert.equal(await more.count(), 1, `${page.url()}: "Mehr laden" link`);
          assert.equal(await more.textContent(), t.ticker_load_more);
          await Promise.all([page.waitForEvent('load'), more.click()]);
          const u2 = new URL(page.url());
          assert.equal(u2.searchParams.get('cursor'), p1.next_cursor, `cursor in ${page.url()}`);
          assert.equal(u2.searchParams.get('order'), order, `order in ${page.url()}`);
          const p2 = await api.entries('de', { order, cursor: p1.next_cursor });
          assert.deepEqual(await listIds(page), p2.items.map((e) => e.id), `${page.url()}: the API's second page, ${order} first`);
          assert.equal(await more.isVisible(), Boolean(p2.next_cursor), `${page.url()}: "Mehr laden" shown iff there is a further page`);
        }
        assertNoProblems(problems, '/de/ticker without JavaScript');
      } finally {
        await context.close();
      }
    });

  it(`de: the live blog /de/live/${BLOG} has LiveBlogPosting JSON-LD and updates live`,
    { timeout: TEST_TIMEOUT }, async () => {
      const blog = (await api.tickers('de')).find((x) => x.id === BLOG);
      assert.ok(blog, `the demo has no live blog ${BLOG}`);
      const a = await openPage('de');
      const b = await openPage('de');
      try {
        const path = `/de/live/${BLOG}`;
        await gotoOk(a.page, `${server.baseURL}${path}`);
        await gotoOk(b.page, `${server.baseURL}/de/ticker`);
        assert.equal(await a.page.locator('h1').first().textContent(), blog.title, 'h1');
        const before = await listIds(a.page);
        assert.deepEqual(before, await api.ids(BLOG), `${path}: the live blog's entries`);
        assert.ok(before.length > 0, 'the demo live blog has entries');

        const ld = [];
        for (const text of await a.page.locator('script[type="application/ld+json"]').allTextContents()) {
          let v;
          try { v = JSON.parse(text); } catch (err) { assert.fail(`JSON-LD does not parse: ${err.message}\n${text.slice(0, 500)}`); }
          for (const item of [].concat(v)) {
            ld.push(item);
            if (item && Array.isArray(item['@graph'])) ld.push(...item['@graph']);
          }
        }
        const lb = ld.find((x) => x && [].concat(x['@type']).includes('LiveBlogPosting'));
        assert.ok(lb, `no JSON-LD "@type":"LiveBlogPosting" in ${JSON.stringify(ld).slice(0, 500)}`);
        assert.equal(lb.headline, blog.title, 'JSON-LD headline');
        assert.equal(lb.inLanguage, 'de', 'JSON-LD inLanguage');
        assert.equal(new URL(lb.url).pathname, path, 'JSON-LD url');
        assert.ok(!Number.isNaN(Date.parse(lb.coverageStartTime)), `JSON-LD coverageStartTime: ${lb.coverageStartTime}`);
        assert.ok(Array.isArray(lb.liveBlogUpdate), 'JSON-LD liveBlogUpdate');
        assert.deepEqual(lb.liveBlogUpdate.map((u) => new URL(u.url).hash), before.map((id) => `#entry-${id}`),
          'JSON-LD liveBlogUpdate: one per entry shown, same order');
        for (const u of lb.liveBlogUpdate) {
          assert.ok([].concat(u['@type']).includes('BlogPosting') && u.headline && !Number.isNaN(Date.parse(u.datePublished)),
            `JSON-LD liveBlogUpdate item ${JSON.stringify(u)}`);
        }

        await waitLive(a.page, 'de', path);
        await waitLive(b.page, 'de', '/de/ticker');
        const tickerBefore = await listIds(b.page);
        const entry = await api.post(BLOG, { title: 'Zweite Hochrechnung', body: 'Die Regierungspartei baut ihren Vorsprung aus.', breaking: true });
        assert.ok(await waitForEntries(a.page, [entry.id]), `${path}: entry ${entry.id} did not show up live`);
        await checkEntry(a.page, entry, { index: 0, pagePath: path, what: path });
        const badge = await a.page.locator(`${BLOCK} li[data-id="${entry.id}"] .badge-breaking`).textContent();
        assert.equal(badge, catalogs.de.ticker_breaking, 'breaking badge');
        await a.page.waitForTimeout(1000);
        assert.deepEqual(await listIds(a.page), [entry.id, ...before], `${path}: list after the live entry`);
        assert.deepEqual(await listIds(b.page), tickerBefore, '/de/ticker must not get the live blog\'s entry');
        await assertAccessible(a.page, path);
        assertNoProblems(a.problems, path);
        assertNoProblems(b.problems, '/de/ticker');
      } finally {
        await a.context.close();
        await b.context.close();
      }
    });

  it('de: /de/ticker (newest and oldest first) passes axe-core (no serious or critical violations)', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page, problems } = await openPage('de');
    try {
      await gotoOk(page, `${server.baseURL}/de/ticker`);
      await waitLive(page, 'de', '/de/ticker');
      const entry = await api.post('de', { title: 'Barrierefrei', body: 'Ein Eintrag mit [Link](https://example.org/).', pinned: true });
      assert.ok(await waitForEntries(page, [entry.id]), 'live entry');
      await assertAccessible(page, '/de/ticker');
      // Oldest first: the demo's entries, one of them without a title.
      await gotoOk(page, `${server.baseURL}/de/ticker?order=oldest`);
      await waitLive(page, 'de', '/de/ticker?order=oldest');
      await assertAccessible(page, '/de/ticker?order=oldest');
      assertNoProblems(problems, '/de/ticker');
    } finally {
      await context.close();
    }
  });

  // A reader stays on /de/ticker (and one on /de/) while the server goes
  // down and comes back on the same port and data dir. Its seq numbering
  // restarts with the process. The pages must end up showing what the API
  // lists, every entry once: one posted right before the kill (delivered
  // live or not) and those posted after the restart, before the pages have
  // reconnected.
  async function restartJourney(srv, srvApi, { signal, seePreKill, what }) {
    const a = await openPage('de');
    const b = await openPage('de');
    const socketsA = watchSockets(a.page);
    const socketsB = watchSockets(b.page);
    try {
      await gotoOk(a.page, `${srv.baseURL}/de/ticker`);
      await gotoOk(b.page, `${srv.baseURL}/de/`);
      await waitLive(a.page, 'de', '/de/ticker');
      await waitLive(b.page, 'de', '/de/');

      // Live before the restart, so that the pages have a seq of this process.
      const warm = await srvApi.post('de', { title: `${what}: vorher`, body: 'Noch vor dem Neustart, live gesehen.' });
      for (const p of [a.page, b.page]) assert.ok(await waitForEntries(p, [warm.id]), 'entry before the restart shown live');
      await recordIndicator(a.page);
      await recordIndicator(b.page);

      const preKill = await srvApi.post('de', { title: `${what}: kurz vor dem Ausfall`, body: 'Gesendet unmittelbar vor dem Ausfall des Servers.' });
      if (seePreKill) for (const p of [a.page, b.page]) assert.ok(await waitForEntries(p, [preKill.id]), 'entry before the kill shown live');
      const tKill = Date.now();
      await srv.kill(signal);

      // Offline, in German, on both pages.
      for (const [p, w] of [[a.page, '/de/ticker'], [b.page, '/de/']]) {
        const off = await poll(async () => (await indicatorLog(p)).find((x) => x.state === 'offline'), 5000);
        assert.ok(off, `${w}: the live indicator never said offline after the server was killed: ${JSON.stringify(await indicatorLog(p))}`);
        assert.equal(off.text, catalogs.de.ticker_offline, `${w}: offline text`);
        assert.equal(off.hidden, false, `${w}: indicator hidden while offline`);
      }
      await a.page.waitForTimeout(500);

      await srv.restart();
      const tUp = Date.now();
      const after = [];
      for (let i = 1; i <= 2; i += 1) {
        after.push(await srvApi.post('de', { title: `${what}: nach dem Neustart ${i}`, body: `Eintrag ${i} nach dem Neustart.` }));
      }
      const tPosted = Date.now();
      const expected = [preKill.id, ...after.map((e) => e.id)];

      const marks = { restarted: tUp, 'posted after restart': tPosted };
      for (const [p, w, limit, sockets] of [[a.page, '/de/ticker', PAGE_SIZE, socketsA], [b.page, '/de/', HOME_SIZE, socketsB]]) {
        // Back to "live" (subscribed on a new connection) within the
        // backoff, then showing all three.
        const reconnected = await poll(async () => (await indicator(p)).state === 'live' &&
          sockets.some((s) => s.opened > tKill && s.frames.some((f) => f.dir === '<' && f.data.includes('"type":"subscribed"'))),
        RECONNECT_TIMEOUT - (Date.now() - tKill), 200);
        const ok = reconnected && await poll(async () => {
          const ids = new Set(await listIds(p));
          return expected.every((id) => ids.has(id));
        }, LIVE_TIMEOUT, 200);
        const ids = await listIds(p);
        const reference = await srvApi.ids('de', { limit });
        const diag = async () => `\n  page shows: ${JSON.stringify(ids.slice(0, 8))}…\n  API lists:  ${JSON.stringify(reference.slice(0, 8))}…\n` +
          `  posted: before the kill ${preKill.id}, after the restart ${after.map((e) => e.id).join(', ')}\n` +
          `  indicator: ${JSON.stringify((await indicator(p)))}\n${describeSockets(sockets, tKill, marks)}`;
        if (!reconnected) {
          assert.fail(`${w}: the page did not reconnect (live indicator and a new subscription) within ${RECONNECT_TIMEOUT / 1000} s of the kill${await diag()}`);
        }
        if (!ok) {
          const missing = expected.filter((id) => !ids.includes(id));
          assert.fail(`${w}: the page reconnected, but ${LIVE_TIMEOUT / 1000} s later it still does not show every entry ` +
            `(missing: ${JSON.stringify(missing)}; the API lists them)${await diag()}`);
        }
        // Settle, then compare with the API: no gaps, nothing twice.
        await p.waitForTimeout(1000);
        const final = await listIds(p);
        assert.deepEqual(duplicates(final), [], `${w}: entries shown twice${await diag()}`);
        assert.deepEqual(final.slice(0, reference.length), reference,
          `${w}: the list's top must be the API's first ${limit} entries, in order${await diag()}`);
        const states = (await indicatorLog(p)).map((x) => x.state);
        assert.ok(states.includes('offline') && states[states.length - 1] === 'live', `${w}: indicator states ${JSON.stringify(states)}`);
      }
      for (const e of after) {
        await checkEntry(a.page, e, { index: after.length - 1 - after.indexOf(e), pagePath: '/de/ticker', what: '/de/ticker', srvApi });
      }
      assertNoProblems(a.problems, '/de/ticker', wsDown);
      assertNoProblems(b.problems, '/de/', wsDown);
    } finally {
      await a.context.close();
      await b.context.close();
    }
  }

  it('de: after a crash (SIGKILL) and a restart on the same port, the pages reconnect and show every entry once',
    { timeout: TEST_TIMEOUT }, async () => {
      // Seqs live in the store: the pages resume with theirs and are
      // replayed what they missed from the event log, no refetch needed.
      await restartJourney(server, api, { signal: 'SIGKILL', seePreKill: false, what: 'Absturz' });
    });

  it('de: an entry that arrives while the page refetches after "resync" stays on the page',
    { timeout: TEST_TIMEOUT }, async () => {
      // After a restart with the ticker's history reset (a new epoch) the
      // page is told to resync and refetches the first page. Here that
      // answer is held back for a moment (a slow network), and meanwhile an
      // entry is posted and delivered over the socket.
      const { context, page, problems } = await openPage('de');
      const sockets = watchSockets(page);
      try {
        await gotoOk(page, `${server.baseURL}/de/ticker`);
        await waitLive(page, 'de', '/de/ticker');
        for (let i = 1; i <= 3; i += 1) await api.post('de', { title: `Vor dem Resync ${i}`, body: `Eintrag ${i} vor dem Resync.` });
        const warm = await api.post('de', { title: 'Vor dem Resync', body: 'Live gesehen.' });
        assert.ok(await waitForEntries(page, [warm.id]), 'entry before the restart shown live');

        let release;
        const gate = new Promise((r) => { release = r; });
        let sawRefetch;
        const refetched = new Promise((r) => { sawRefetch = r; });
        const isEntries = (u) => u.pathname === '/api/v1/tickers/de/entries';
        await page.route(isEntries, async (route) => {
          const res = await route.fetch(); // the server reads the list now...
          sawRefetch();
          await gate;                      // ...the page gets it later
          await route.fulfill({ response: res });
        });

        const tKill = Date.now();
        await server.kill('SIGKILL');
        await server.cli(['events', 'reset', '--topic', 'ticker:de']);
        await server.restart();
        const tUp = Date.now();
        let timer;
        const got = await Promise.race([
          refetched.then(() => true),
          new Promise((r) => { timer = setTimeout(() => r(false), RECONNECT_TIMEOUT); }),
        ]);
        clearTimeout(timer);
        assert.ok(got, `no refetch of the first page after the restart (resync expected)\n${describeSockets(sockets, tKill, { restarted: tUp })}`);
        const tRefetch = Date.now();

        const entry = await api.post('de', { title: 'Während des Nachladens', body: 'Gesendet, während die Seite nachlädt.' });
        const delivered = await poll(() => sockets.some((s) => s.frames.some((f) => f.dir === '<' &&
          f.data.includes('"event":"ticker.entry"') && f.data.includes(`"id":${entry.id},`))), 5000);
        assert.ok(delivered, `entry ${entry.id} was not delivered over the socket\n${describeSockets(sockets, tKill, { restarted: tUp })}`);
        await page.waitForTimeout(300);
        const whileFetching = await listIds(page);
        release();
        await page.waitForTimeout(1000);
        await page.unroute(isEntries);

        const ids = await listIds(page);
        const reference = await api.ids('de');
        const diag = `\n  while the refetch was pending the list started ${JSON.stringify(whileFetching.slice(0, 5))}` +
          `\n  after it: ${JSON.stringify(ids.slice(0, 5))}\n  API: ${JSON.stringify(reference.slice(0, 5))}\n` +
          describeSockets(sockets, tKill, { restarted: tUp, refetch: tRefetch });
        assert.deepEqual(duplicates(ids), [], `entries shown twice${diag}`);
        assert.ok(ids.includes(entry.id),
          `entry ${entry.id}, delivered live while the refetch was under way, is gone once the refetch's answer is shown${diag}`);
        assert.deepEqual(ids.slice(0, reference.length), reference, `the list's top must be the API's first page${diag}`);
        assertNoProblems(problems, '/de/ticker', wsDown);
      } finally {
        await context.close();
      }
    });

  it('de: a freshly started server, stopped (SIGTERM) and restarted: the pages show every entry once',
    { timeout: TEST_TIMEOUT }, async () => {
      // The pages have seen only a few events (small seq, as soon after a
      // deploy); after the restart the numbering goes on from there.
      const fresh = await startServer({ name: `${NAME}-restart` });
      try {
        const freshApi = makeApi(fresh, await fresh.createToken({ role: 'editor', name: 'browser-ticker-restart' }));
        await restartJourney(fresh, freshApi, { signal: 'SIGTERM', seePreKill: true, what: 'Neustart' });
      } finally {
        await fresh.stop();
      }
    });
});
