// Starts the real Depesche server for the browser tests, and the browser.
//
//   const srv = await startServer();   // { baseURL, dataDir, stop() }
//   const browser = await launchBrowser();
//
// The binary comes from $DEPESCHE_BIN (default <repo>/build/dev/depesche).
// Each call makes a fresh data directory, fills it with `depesche demo`,
// then runs `depesche serve` on 127.0.0.1:0 and waits for the JSON log line
// with "msg":"ready" that carries the real address. The server can also be
// killed and started again on the same address and data dir (kill(),
// restart()), and make API tokens (createToken()).
//
// Only Node >= 18.19 features are used here (Debian 12 ships Node 18).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');
export const ARTIFACTS_DIR = path.join(HERE, 'artifacts');
export const EDITIONS = ['de', 'en', 'ru'];
export const CHROMIUM_PATH = process.env.DEPESCHE_CHROMIUM || '/usr/bin/chromium';

const SETPRIV = '/usr/bin/setpriv';
const READY_TIMEOUT_MS = 30_000;
const DEMO_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

export function depescheBin() {
  const fromEnv = process.env.DEPESCHE_BIN;
  if (fromEnv) return path.resolve(REPO_ROOT, fromEnv);
  return path.join(REPO_ROOT, 'build', 'dev', 'depesche');
}

// Servers (and their data dirs) still alive in this process: killed and
// removed on exit or on a terminating signal, so that an interrupted run
// leaves no server behind.
const live = new Set(); // { child, dataDir }
// Data dirs not yet removed, also those of a server that was killed on
// purpose and is to be restarted (it is in `live` no more).
const dataDirs = new Set();
function killAll() {
  for (const s of live) {
    try { s.child.kill('SIGKILL'); } catch { /* already gone */ }
    try { fs.rmSync(s.dataDir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  live.clear();
  for (const d of dataDirs) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  dataDirs.clear();
}
process.on('exit', killAll);
for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.once(sig, () => { killAll(); process.exit(128 + num); });
}

function tail(text, lines = 40) {
  return text.split('\n').slice(-lines).join('\n');
}

function runDemo(bin, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`'${bin} demo' did not finish within ${DEMO_TIMEOUT_MS} ms\n${tail(out)}`));
    }, DEMO_TIMEOUT_MS);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`'${bin} demo' exited with ${code ?? signal}\n${tail(out)}`));
    });
  });
}

// name: used for the server log file, artifacts/server-<name>.log.
// env: extra environment for `depesche demo` and `depesche serve`, e.g.
// { DEPESCHE_ACCOUNTS_REGISTER_PER_HOUR: '1000' } (config options are
// DEPESCHE_<SECTION>_<KEY>); DEPESCHE_DATA_DIR and the listen address are
// always the test's own.
//
// Besides baseURL, dataDir, stop() and log(), the server object has:
//   kill(signal = 'SIGKILL')  ends the running `serve` process (data dir kept)
//   restart()                 runs `serve` again, same data dir and address
//   running()                 whether a `serve` process is up
//   createToken({ role, name }) `depesche token create`, resolves to the secret
//   cli(args)                 any other `depesche` command on the data dir
//
// With DEPESCHE_BROWSER_CLUSTER=1 (and the engines of scripts/with-postgres
// and scripts/with-redis) the same object stands for two nodes on one
// PostgreSQL database and one Redis behind nginx (cluster.mjs): baseURL is
// nginx's, and kill()/restart() end and start both nodes.
export async function startServer(opts = {}) {
  if (process.env.DEPESCHE_BROWSER_CLUSTER === '1') {
    const { startCluster } = await import('./cluster.mjs');
    return startCluster(opts);
  }
  return startNode(opts);
}

// One `depesche serve`. demo: run `depesche demo` on the new data dir
// first; prepare(dataDir): called after that, before `serve` (cluster.mjs
// uses both for its second node).
export async function startNode({ name = 'server', env: extraEnv = {}, demo = true, prepare } = {}) {
  const bin = depescheBin();
  if (!fs.existsSync(bin)) {
    throw new Error(`Depesche binary not found at ${bin} (build it, or set DEPESCHE_BIN)`);
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'depesche-browser-'));
  dataDirs.add(dataDir);
  const removeDataDir = () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    dataDirs.delete(dataDir);
  };
  const env = { ...process.env, ...extraEnv, DEPESCHE_DATA_DIR: dataDir };

  try {
    if (demo) await runDemo(bin, env);
    if (prepare) await prepare(dataDir);
  } catch (err) {
    removeDataDir();
    throw err;
  }

  // Everything the server printed (over all its runs), the recent part only,
  // for error messages and for artifacts/server-<name>.log.
  let log = '';
  const addLog = (d) => {
    log += d;
    if (log.length > 2_000_000) log = log.slice(-1_000_000);
  };

  function saveLog() {
    try {
      fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
      fs.writeFileSync(path.join(ARTIFACTS_DIR, `server-${name}.log`), log);
    } catch { /* only a convenience */ }
  }

  // Runs `depesche serve` on `listen` and waits for its "ready" line.
  // Resolves to { proc, address }; proc = { child, exitPromise, exited() }.
  async function launch(listen) {
    // With setpriv (util-linux, always on Debian) the server also gets SIGTERM
    // should this process die without running its exit handlers (SIGKILL).
    const [cmd, args] = fs.existsSync(SETPRIV)
      ? [SETPRIV, ['--pdeathsig', 'TERM', '--', bin, 'serve']]
      : [bin, ['serve']];
    const child = spawn(cmd, args, {
      env: { ...env, DEPESCHE_SERVER_LISTEN: listen },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const entry = { child, dataDir };
    live.add(entry);
    child.stdout.on('data', addLog);
    child.stderr.on('data', addLog);
    let exited = null;
    const exitPromise = new Promise((resolve) => {
      const onGone = (code, signal, error) => {
        if (exited) return;
        exited = { code, signal, error };
        live.delete(entry);
        resolve(exited);
      };
      child.on('exit', (code, signal) => onGone(code, signal));
      child.on('error', (err) => onGone(null, null, err)); // e.g. could not be started
    });
    const proc = { child, exitPromise, exited: () => exited };

    try {
      const address = await new Promise((resolve, reject) => {
        let pending = '';
        const timer = setTimeout(() => {
          reject(new Error(`server printed no "ready" line within ${READY_TIMEOUT_MS} ms\n${tail(log)}`));
        }, READY_TIMEOUT_MS);
        const done = (fn, value) => { clearTimeout(timer); fn(value); };
        exitPromise.then(({ code, signal, error }) => {
          done(reject, new Error(`server ${error ? `could not start: ${error.message}` : `exited (${code ?? signal})`} before it was ready\n${tail(log)}`));
        });
        const onData = (d) => {
          pending += d;
          let nl;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (!line.startsWith('{')) continue;
            let rec;
            try { rec = JSON.parse(line); } catch { continue; }
            if (rec.msg !== 'ready') continue;
            // "address" is expected at the top level; accept it nested too.
            const m = /"address"\s*:\s*"([^"]+)"/.exec(line);
            if (m) {
              child.stdout.off('data', onData);
              done(resolve, m[1]);
              return;
            }
          }
        };
        child.stdout.on('data', onData);
      });
      return { proc, address };
    } catch (err) {
      if (!exited) child.kill('SIGKILL');
      await exitPromise;
      throw err;
    }
  }

  let proc;
  let address;
  try {
    ({ proc, address } = await launch('127.0.0.1:0'));
  } catch (err) {
    saveLog();
    removeDataDir();
    throw err;
  }

  const baseURL = `http://${address}`;

  async function stop() {
    let exited = proc.exited();
    if (!exited) {
      proc.child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!proc.exited()) proc.child.kill('SIGKILL'); }, STOP_TIMEOUT_MS);
      exited = await proc.exitPromise;
      clearTimeout(timer);
    }
    saveLog();
    removeDataDir();
    return exited;
  }

  // Ends the running server process (SIGKILL: as in a crash; SIGTERM: an
  // orderly shutdown) and waits for it to be gone. The data dir stays.
  async function kill(signal = 'SIGKILL') {
    if (proc.exited()) return proc.exited();
    proc.child.kill(signal);
    const timer = setTimeout(() => { if (!proc.exited()) proc.child.kill('SIGKILL'); }, STOP_TIMEOUT_MS);
    const exited = await proc.exitPromise;
    clearTimeout(timer);
    return exited;
  }

  // Starts `depesche serve` again on the same address and data dir (no
  // `demo`); the server must have been killed first.
  async function restart() {
    if (!proc.exited()) throw new Error('restart(): the server is still running; kill() it first');
    const next = await launch(address);
    if (next.address !== address) {
      next.proc.child.kill('SIGKILL');
      await next.proc.exitPromise;
      throw new Error(`restarted server is at ${next.address}, not ${address}`);
    }
    proc = next.proc;
  }

  function createToken({ role = 'editor', name: tokenName } = {}) {
    return runCli(bin, env, ['token', 'create', '--role', role, '--name', tokenName])
      .then((out) => {
        const secret = out.trim().split('\n').pop().trim();
        if (!secret) throw new Error(`'depesche token create' printed no secret:\n${out}`);
        return secret;
      });
  }

  // `depesche <args>` on this server's data dir; resolves to its stdout.
  const cli = (args) => runCli(bin, env, args);

  return {
    baseURL, dataDir, stop, log: () => log,
    kill, restart, running: () => !proc.exited(), createToken, cli,
  };
}

// Runs `depesche <args>` with `env`; resolves to its stdout.
function runCli(bin, env, args, timeoutMs = DEMO_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`'${bin} ${args.join(' ')}' did not finish within ${timeoutMs} ms\n${tail(out + err)}`));
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`'${bin} ${args.join(' ')}' exited with ${code ?? signal}\n${tail(out + err)}`));
    });
  });
}

// --- browser -------------------------------------------------------------

export const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// playwright-core refuses --user-data-dir in args for launch(); it makes a
// fresh temporary profile directory of its own for every launch() and removes
// it on close, which is what we want (we need launch(), not a persistent
// context, to get one context per Accept-Language locale).
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  await waitForChromium();
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: LAUNCH_ARGS });
}

// Chromium may still be being installed by apt when the suite starts.
async function waitForChromium(timeoutMs = 10 * 60_000) {
  const deadline = Date.now() + timeoutMs;
  let said = false;
  while (!isExecutable(CHROMIUM_PATH)) {
    if (Date.now() > deadline) throw new Error(`no Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`);
    if (!said) { console.error(`waiting for ${CHROMIUM_PATH} to appear...`); said = true; }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function isExecutable(p) {
  try { fs.accessSync(p, fs.constants.X_OK); return true; } catch { return false; }
}

// --- page helpers ----------------------------------------------------------

// Records everything that went wrong on a page: console errors, uncaught
// exceptions, failed requests and HTTP responses >= 400.
export function watchPage(page) {
  const problems = [];
  // A subresource aborted because the page that asked for it was navigated
  // away from (e.g. a lazy image still loading when a link is clicked) is not
  // a fault of the site; everything else is. Each request is stamped with the
  // number of main-frame navigations started before it.
  let navEpoch = 0;
  const epochOf = new WeakMap();
  page.on('request', (req) => {
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) navEpoch += 1;
    epochOf.set(req, navEpoch);
  });
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const loc = msg.location();
    // Chromium asks for /favicon.ico by itself, once per browser, whatever
    // the page says; its 404 would fail whichever test happens to run first.
    // The page contract does not include a favicon, so it is not judged here.
    if (loc && loc.url && new URL(loc.url).pathname === '/favicon.ico') return;
    problems.push({ kind: 'console', text: msg.text(), url: loc && loc.url });
  });
  page.on('pageerror', (err) => {
    problems.push({ kind: 'pageerror', text: String(err && err.stack || err) });
  });
  page.on('requestfailed', (req) => {
    const why = (req.failure() && req.failure().errorText) || 'unknown';
    if (why === 'net::ERR_ABORTED' && !req.isNavigationRequest() && epochOf.get(req) < navEpoch) return;
    problems.push({ kind: 'requestfailed', text: `${req.method()} ${req.url()}: ${why}`, url: req.url() });
  });
  page.on('response', (res) => {
    if (res.status() >= 400) {
      problems.push({ kind: 'http', status: res.status(), text: `${res.status()} ${res.request().method()} ${res.url()}`, url: res.url() });
    }
  });
  return problems;
}

export function formatProblems(problems) {
  return problems.map((p) => `  [${p.kind}] ${p.text}${p.url && !p.text.includes(p.url) ? ` (${p.url})` : ""}`).join('\n');
}

const AXE_PATH = path.join(HERE, 'node_modules', 'axe-core', 'axe.min.js');
let axeSource;

// Runs axe-core in the page. The server's CSP forbids inline scripts, so axe
// is evaluated through the DevTools protocol (page.evaluate), which CSP does
// not govern, instead of page.addScriptTag, which would insert an inline
// <script> and be blocked (and log a CSP console error).
export async function runAxe(page) {
  if (!axeSource) axeSource = fs.readFileSync(AXE_PATH, 'utf8');
  const present = await page.evaluate(() => typeof window.axe === 'object');
  if (!present) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const res = await window.axe.run(document, { resultTypes: ['violations'] });
    return res.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html, summary: n.failureSummary })),
    }));
  });
}

export function formatViolations(violations) {
  return violations.map((v) => {
    const nodes = v.nodes.slice(0, 5).map((n) =>
      `      at ${n.target}\n        ${n.html.slice(0, 200)}\n        ${(n.summary || '').replace(/\n/g, '\n        ')}`).join('\n');
    const more = v.nodes.length > 5 ? `\n      ... and ${v.nodes.length - 5} more` : '';
    return `  ${v.impact}: ${v.id} - ${v.help} (${v.nodes.length} node(s))\n    ${v.helpUrl}\n${nodes}${more}`;
  }).join('\n');
}

// Locale catalogs: { de: {key: string}, en: {...}, ru: {...} }, read from
// <repo>/locales/<ed>/messages.json (or $DEPESCHE_LOCALES_DIR/<ed>/...).
export function loadCatalogs() {
  const dir = process.env.DEPESCHE_LOCALES_DIR
    ? path.resolve(REPO_ROOT, process.env.DEPESCHE_LOCALES_DIR)
    : path.join(REPO_ROOT, 'locales');
  const out = {};
  for (const ed of EDITIONS) {
    const file = path.join(dir, ed, 'messages.json');
    out[ed] = JSON.parse(fs.readFileSync(file, 'utf8'));
  }
  return out;
}

// Strings that must never show up on a page of edition `ed`: every string of
// the other editions' catalogs that is not also a string of ed's catalog, has
// no ICU argument (no "{"), and is at least 5 characters long.
// Returns [{ ed: otherEdition, key, text }].
export function foreignStrings(catalogs, ed) {
  const own = new Set(Object.values(catalogs[ed]).filter((v) => typeof v === 'string'));
  const out = [];
  for (const other of EDITIONS) {
    if (other === ed) continue;
    for (const [key, text] of Object.entries(catalogs[other])) {
      if (typeof text !== 'string' || own.has(text) || text.includes('{') || text.length < 5) continue;
      out.push({ ed: other, key, text });
    }
  }
  return out;
}

export function findForeign(pageText, foreign) {
  return foreign.filter((f) => pageText.includes(f.text));
}

// Polls fn() until it returns a truthy value or the time is up; returns the
// last value. (page.waitForFunction is avoided: the pages run under a strict
// CSP and polling through page.evaluate never depends on eval in the page.)
export async function poll(fn, timeoutMs = 10_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// Lets a loaded page finish its late requests (lazy images in view, scripts'
// fetches) before its problems are judged. "networkidle" never comes on a
// page that holds a request open (e.g. an EventSource for a live ticker), so
// it is waited for only briefly; the "load" event has covered the rest.
export async function settle(page, ms = 2000) {
  await page.waitForLoadState('load');
  await page.waitForLoadState('networkidle', { timeout: ms }).catch(() => {});
}

// Browser locale per edition, so Accept-Language matches the edition read.
export const LOCALE = { de: 'de-DE', en: 'en-US', ru: 'ru-RU' };

// A fresh context (no cookies) and page as a reader of edition `ed` would
// open it, with its problems recorded (see watchPage).
export async function newReaderPage(browser, ed, {
  viewport = { width: 1280, height: 900 }, javaScriptEnabled = true, timezoneId,
} = {}) {
  const context = await browser.newContext({ locale: LOCALE[ed], viewport, javaScriptEnabled, timezoneId });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems = watchPage(page);
  return { context, page, problems };
}

// Navigates, asserts a 200 and lets the page settle.
export async function gotoOk(page, url, { settleMs = 2000 } = {}) {
  const res = await page.goto(url, { waitUntil: 'load' });
  assert.ok(res, `no response for ${url}`);
  assert.equal(res.status(), 200, `${url} answered ${res.status()}`);
  await settle(page, settleMs);
  return res;
}

// Fails on serious or critical axe-core violations; logs the minor ones.
export async function assertAccessible(page, what) {
  const violations = await runAxe(page);
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = violations.filter((v) => !bad.includes(v));
  if (minor.length) {
    console.log(`axe (${what}): ${minor.length} minor/moderate violation(s), not failing:\n${formatViolations(minor)}`);
  }
  assert.equal(bad.length, 0, `axe-core found serious/critical violations on ${what}:\n${formatViolations(bad)}`);
}

// --- mail outbox -------------------------------------------------------------
//
// Without mail.smtp_url the server writes each mail as one RFC 5322 file into
// the maildir <data dir>/outbox/new/ (written to tmp/, then renamed, so a file
// in new/ is always complete).

export function outboxDir(dataDir) {
  return path.join(dataDir, 'outbox', 'new');
}

// Quoted-printable (RFC 2045) to a UTF-8 string: soft line breaks ("=" at the
// end of a line) are removed, "=XX" become bytes, and the bytes are decoded
// as UTF-8 (so multi-byte characters split over several "=XX" come out whole).
export function decodeQuotedPrintable(text) {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes = [];
  for (let i = 0; i < joined.length; i += 1) {
    const c = joined[i];
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(joined.slice(i + 1, i + 3))) {
      bytes.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// RFC 2047 encoded-words ("=?UTF-8?B?...?=" and "=?UTF-8?Q?...?=") in an
// unfolded header value; whitespace between two adjacent encoded-words is
// dropped, as the RFC says.
export function decodeHeaderValue(value) {
  const word = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;
  const joined = value.replace(/(\?=)\s+(?==\?)/g, '$1');
  return joined.replace(word, (_, charset, enc, data) => {
    const buf = enc.toUpperCase() === 'B'
      ? Buffer.from(data, 'base64')
      : Buffer.from(decodeQuotedPrintable(data.replace(/_/g, ' ')), 'utf8');
    return new TextDecoder(charset.toLowerCase()).decode(buf);
  });
}

function splitHead(raw) {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return { head: raw, body: '' };
  return { head: raw.slice(0, m.index), body: raw.slice(m.index + m[0].length) };
}

// Header names in lower case -> array of unfolded, decoded values.
function parseHeaders(head) {
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    (headers[name] ||= []).push(decodeHeaderValue(line.slice(colon + 1).trim()));
  }
  return headers;
}

// A part's body, decoded, with line breaks as "\n".
function decodePart(headers, body) {
  const cte = ((headers['content-transfer-encoding'] || [''])[0]).toLowerCase();
  let out = body;
  if (cte === 'quoted-printable') out = decodeQuotedPrintable(body);
  else if (cte === 'base64') out = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return out.replace(/\r\n/g, '\n');
}

// Parses one mail file of the outbox:
//   { file, raw, headers, subject, from, to, text, html }
// headers: lower-case name -> [decoded value]; to/from: the bare address
// (from "Name <addr>" or "addr"); text/html: the decoded text/plain and
// text/html parts (null when absent), with "\n" line breaks.
export function readMail(file) {
  const raw = fs.readFileSync(file, 'utf8');
  const { head, body } = splitHead(raw);
  const headers = parseHeaders(head);
  const first = (n) => (headers[n] ? headers[n][0] : null);
  const address = (v) => {
    if (v == null) return null;
    const m = /<([^>]*)>\s*$/.exec(v);
    return (m ? m[1] : v).trim();
  };
  const mail = {
    file, raw, headers,
    subject: first('subject'),
    from: address(first('from')),
    to: address(first('to')),
    text: null,
    html: null,
  };
  const type = first('content-type') || 'text/plain';
  const parts = [];
  const b = /boundary="?([^";]+)"?/i.exec(type);
  if (/^multipart\//i.test(type) && b) {
    const delim = `--${b[1]}`;
    for (const chunk of body.split(delim).slice(1)) {
      if (chunk.startsWith('--')) break; // the close delimiter
      const part = splitHead(chunk.replace(/^[ \t]*\r?\n/, ''));
      // The CRLF before a delimiter belongs to the delimiter.
      parts.push({ headers: parseHeaders(part.head), body: part.body.replace(/\r?\n$/, '') });
    }
  } else {
    parts.push({ headers, body });
  }
  for (const p of parts) {
    const ct = ((p.headers['content-type'] || ['text/plain'])[0]).toLowerCase();
    if (ct.startsWith('text/plain') && mail.text == null) mail.text = decodePart(p.headers, p.body);
    if (ct.startsWith('text/html') && mail.html == null) mail.html = decodePart(p.headers, p.body);
  }
  return mail;
}

// All mails in the outbox, oldest first (by file modification time, then name).
export function listMails(dataDir) {
  const dir = outboxDir(dataDir);
  let names;
  try { names = fs.readdirSync(dir); } catch { return []; }
  return names
    .filter((n) => !n.startsWith('.'))
    .map((n) => {
      const file = path.join(dir, n);
      return { file, mtime: fs.statSync(file).mtimeMs };
    })
    .sort((a, b) => a.mtime - b.mtime || (a.file < b.file ? -1 : 1))
    .map((f) => readMail(f.file));
}

// Waits (polling, up to timeoutMs) for a mail to `to` (compared case-
// insensitively) that also satisfies `match`, and returns the newest such
// mail. Throws with the outbox's contents when none comes in time.
export async function waitForMail(dataDir, { to, match = () => true, timeoutMs = 15_000 } = {}) {
  const want = (m) => (!to || (m.to || '').toLowerCase() === to.toLowerCase()) && match(m);
  const found = await poll(() => listMails(dataDir).filter(want).pop(), timeoutMs, 100);
  if (found) return found;
  const seen = listMails(dataDir).map((m) => `  to ${m.to}: ${m.subject}`).join('\n') || '  (none)';
  throw new Error(`no mail${to ? ` to ${to}` : ''} in ${outboxDir(dataDir)} within ${timeoutMs} ms; there are:\n${seen}`);
}
