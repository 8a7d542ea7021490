// The browser suite against a cluster (DEPESCHE_BROWSER_CLUSTER=1): two
// `depesche serve` nodes on one fresh PostgreSQL database and one Redis,
// behind nginx configured by deploy/nginx/depesche.conf itself (only its
// node and listen lines replaced). startCluster() returns what
// startServer() returns for one server, so every journey runs unchanged:
//
//   baseURL        nginx, which is also every node's server.public_url
//   dataDir        node A's; node B's outbox/ is a link to A's, so the
//                  mails either node sends are in one maildir, and B gets a
//                  copy of A's media/ (an operator shares or copies it too)
//   kill(signal)   ends both nodes (the site is down; nginx stays up)
//   restart()      starts both again on their own addresses
//   createToken(), cli()   on node A (the store is shared)
//   nodes          [A, B], each a startNode() object
//
// Needs DEPESCHE_TEST_POSTGRES_URL and DEPESCHE_TEST_REDIS_URL, which
// scripts/with-postgres and scripts/with-redis export.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { REPO_ROOT, startNode } from './server.mjs';

const NGINX_SITE = path.join(REPO_ROOT, 'deploy', 'nginx', 'depesche.conf');
const NGINX_READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const SETPRIV = '/usr/bin/setpriv';

// nginx processes still running: ended when this process exits.
const nginxes = new Set();
process.on('exit', () => {
  for (const child of nginxes) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

// deploy/nginx/depesche.conf with one `server` line per entry of `nodes`
// (each with the parameters the file gives its own nodes) and `listen`
// in place of `listen 80;`. The same rendering as
// tests/integration/test_cluster.py's render_nginx_site().
export function renderNginxSite(nodes, listen) {
  const text = fs.readFileSync(NGINX_SITE, 'utf8');
  const serverLine = /^([ \t]*)server[ \t]+[0-9.]+:\d+((?:[ \t]+\w+=\S+)*)[ \t]*;[ \t]*\n/gm;
  const found = [...text.matchAll(serverLine)];
  if (!found.length) throw new Error(`no \`server host:port ...;\` line in ${NGINX_SITE}`);
  const [, indent, params] = found[0];
  const lines = nodes.map((addr) => `${indent}server ${addr}${params};\n`).join('');
  const last = found.at(-1);
  let out = text.slice(0, found[0].index) + lines + text.slice(last.index + last[0].length);
  let n = 0;
  out = out.replace(/^([ \t]*)listen[ \t]+80;/m, (_, ind) => { n += 1; return `${ind}listen ${listen};`; });
  if (n !== 1) throw new Error(`expected one \`listen 80;\` line in ${NGINX_SITE}`);
  return out;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function psql(url, sql) {
  const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr || r.error}`);
}

// nginx in the foreground on a temporary prefix (pid, logs and temp files
// all there: no root, nothing of the system's nginx touched).
async function startNginx(prefix, nodes, port) {
  fs.mkdirSync(path.join(prefix, 'temp'), { recursive: true });
  fs.writeFileSync(path.join(prefix, 'site.conf'), renderNginxSite(nodes, `127.0.0.1:${port}`));
  const conf = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(conf, `daemon off;
master_process off;
pid ${prefix}/nginx.pid;
lock_file ${prefix}/nginx.lock;
error_log ${prefix}/error.log info;
events { worker_connections 4096; }
http {
    access_log ${prefix}/access.log;
    client_body_temp_path ${prefix}/temp/body;
    proxy_temp_path ${prefix}/temp/proxy;
    fastcgi_temp_path ${prefix}/temp/fastcgi;
    uwsgi_temp_path ${prefix}/temp/uwsgi;
    scgi_temp_path ${prefix}/temp/scgi;
    include ${prefix}/site.conf;
}
`);
  const args = ['-p', `${prefix}/`, '-e', path.join(prefix, 'error.log'), '-c', conf];
  const [cmd, argv] = fs.existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'TERM', '--', 'nginx', ...args]] : ['nginx', args];
  const child = spawn(cmd, argv, { stdio: 'ignore' });
  nginxes.add(child);
  let exited = null;
  const exitPromise = new Promise((resolve) => child.on('exit', (code, signal) => {
    exited = { code, signal };
    nginxes.delete(child);
    resolve(exited);
  }));
  const deadline = Date.now() + NGINX_READY_TIMEOUT_MS;
  while (!exited && Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.status === 200) break;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, STOP_TIMEOUT_MS);
      await exitPromise;
      clearTimeout(timer);
    }
  };
  if (exited || Date.now() >= deadline) {
    await stop();
    let log = '';
    try { log = fs.readFileSync(path.join(prefix, 'error.log'), 'utf8').slice(-3000); } catch { /* none */ }
    throw new Error(`nginx did not start on port ${port}:\n${log}`);
  }
  return { stop };
}

async function waitForSite(baseURL, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${baseURL}/readyz`);
      if (res.status === 200) return;
      last = res.status;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${baseURL}/readyz did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}

export async function startCluster({ name = 'server', env: extraEnv = {} } = {}) {
  const pgURL = process.env.DEPESCHE_TEST_POSTGRES_URL;
  const redisURL = process.env.DEPESCHE_TEST_REDIS_URL;
  if (!pgURL || !redisURL) {
    throw new Error('DEPESCHE_BROWSER_CLUSTER=1 needs PostgreSQL and Redis: run under scripts/with-postgres scripts/with-redis');
  }
  // Another process may take nginx's port between the probe and its bind:
  // then start over on another one (the nodes need its URL up front).
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startClusterOnce(name, extraEnv, pgURL, redisURL);
    } catch (err) {
      lastErr = err;
      if (!/nginx did not start/.test(String(err && err.message))) throw err;
    }
  }
  throw lastErr;
}

async function startClusterOnce(name, extraEnv, pgURL, redisURL) {
  const db = `browser_${crypto.randomBytes(6).toString('hex')}`;
  psql(pgURL, `CREATE DATABASE ${db}`);
  const storeURL = new URL(pgURL);
  storeURL.pathname = `/${db}`;
  const port = await freePort();
  const env = {
    DEPESCHE_STORE_URL: storeURL.toString(),
    DEPESCHE_BUS_URL: redisURL,
    // Channels of this cluster only.
    DEPESCHE_BUS_CHANNEL_PREFIX: `${db}:`,
    DEPESCHE_BUS_LEAD_CHECK_MS: '200',
    DEPESCHE_LIVE_RELAY_POLL_MS: '50',
    DEPESCHE_SERVER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    DEPESCHE_SERVER_TRUSTED_PROXIES: '127.0.0.1',
    ...extraEnv,
  };
  const started = [];
  let front;
  const dropDatabase = () => {
    try { psql(pgURL, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`); } catch { /* best effort */ }
  };
  try {
    const a = await startNode({ name: `${name}-a`, env });
    started.push(a);
    const b = await startNode({
      name: `${name}-b`,
      env,
      demo: false,
      prepare: (dir) => {
        fs.cpSync(path.join(a.dataDir, 'media'), path.join(dir, 'media'), { recursive: true });
        fs.mkdirSync(path.join(a.dataDir, 'outbox'), { recursive: true });
        fs.symlinkSync(path.join(a.dataDir, 'outbox'), path.join(dir, 'outbox'));
      },
    });
    started.push(b);
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'depesche-nginx-'));
    const nodeAddr = (n) => new URL(n.baseURL).host;
    try {
      front = await startNginx(prefix, [nodeAddr(a), nodeAddr(b)], port);
    } catch (err) {
      fs.rmSync(prefix, { recursive: true, force: true });
      throw err;
    }
    const nodes = [a, b];
    return {
      baseURL: `http://127.0.0.1:${port}`,
      dataDir: a.dataDir,
      nodes,
      async stop() {
        await front.stop();
        fs.rmSync(prefix, { recursive: true, force: true });
        // B first: its outbox link points into A's data dir.
        const exitB = await b.stop();
        const exitA = await a.stop();
        dropDatabase();
        return exitA.code !== 0 ? exitA : exitB;
      },
      log: () => `--- node A\n${a.log()}\n--- node B\n${b.log()}`,
      async kill(signal = 'SIGKILL') {
        const [exitA] = await Promise.all(nodes.map((n) => n.kill(signal)));
        return exitA;
      },
      // Resolves once the site answers through nginx again: nginx keeps a
      // node it saw fail out for the upstream's fail_timeout, so for a few
      // seconds after both were down it answers 502 even though they are
      // back. A single server's restart() is "up" when it listens; this is
      // the same promise for the site.
      async restart() {
        await Promise.all(nodes.map((n) => n.restart()));
        await waitForSite(`http://127.0.0.1:${port}`);
      },
      running: () => a.running() && b.running(),
      createToken: (opts) => a.createToken(opts),
      cli: (args) => a.cli(args),
    };
  } catch (err) {
    for (const n of started.reverse()) await n.stop().catch(() => {});
    dropDatabase();
    throw err;
  }
}
