// Reference server for bench/live: Depesche's live protocol (DESIGN.md "Live")
// written the way a typical Node service would, on the npm `ws` package.
//
//   WebSocket /live  client: {"type":"subscribe","topic":"ticker:de","since":41}
//                            {"type":"unsubscribe","topic":"ticker:de"}
//                    server: {"type":"subscribed","topic":...,"seq":n}
//                            {"type":"event","topic":...,"seq":n,"event":"ticker.entry","data":{...}}
//                            {"type":"presence","topic":...,"count":n}
//                            {"type":"resync","topic":...}
//                            {"type":"error","topic":...,"message":...}
//   POST /api/v1/tickers/{id}/entries   Authorization: Bearer <token>, JSON {title, body, ...}
//                    builds the entry (stores nothing), sends the event to every
//                    subscriber of ticker:{id} and answers 201 with the entry.
//
// Configuration (environment, or the port as the first argument):
//   PORT          port to listen on (0: a free one); HOST (127.0.0.1)
//   BENCH_TOKEN   bearer token that may post (empty: any token is refused)
//   TICKERS       ticker ids that exist (de,en,ru)
//   HISTORY       events kept per topic for `since` (512, as Depesche)
//   HEARTBEAT_MS  ping interval, terminate on no pong (25000)
//   PRESENCE_MS   presence updates at most this often (1000)
// Prints one JSON line {"msg":"ready","address":"host:port"} when listening.

import http from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';

const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number(process.argv[2] ?? process.env.PORT ?? 8090);
const TOKEN = process.env.BENCH_TOKEN || '';
const TICKERS = (process.env.TICKERS || 'de,en,ru').split(',').map((s) => s.trim()).filter(Boolean);
const HISTORY = Number(process.env.HISTORY || 512);
const HEARTBEAT_MS = Number(process.env.HEARTBEAT_MS || 25000);
const PRESENCE_MS = Number(process.env.PRESENCE_MS || 1000);
const MAX_BODY = 1024 * 1024;
const MAX_SUBSCRIPTIONS = 32;

// topic name -> { seq, history: [{seq, msg}], subscribers: Set<WebSocket>, presenceDirty }
const topics = new Map();
for (const id of TICKERS) {
  topics.set(`ticker:${id}`, { seq: 0, history: [], subscribers: new Set(), presenceDirty: false });
}

let nextEntryId = 1;

function rfc3339(d) {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function publish(topicName, eventName, data) {
  const topic = topics.get(topicName);
  const seq = ++topic.seq;
  const msg = JSON.stringify({ type: 'event', topic: topicName, seq, event: eventName, data });
  topic.history.push({ seq, msg });
  if (topic.history.length > HISTORY) topic.history.shift();
  for (const ws of topic.subscribers) {
    if (ws.readyState === WebSocket.OPEN) ws.send(msg);
  }
}

// --- HTTP API -------------------------------------------------------------------

function sendJson(res, status, obj, headers = {}) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

function apiError(res, status, code, message) {
  sendJson(res, status, { error: { code, message } });
}

const ENTRY_ROUTE = /^\/api\/v1\/tickers\/([^/]+)\/entries$/;

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  const m = ENTRY_ROUTE.exec(path);
  if (!m) return apiError(res, 404, 'not_found', 'no such resource');
  if (req.method !== 'POST') return apiError(res, 405, 'method_not_allowed', 'use POST');
  const auth = req.headers.authorization || '';
  if (!TOKEN || auth !== `Bearer ${TOKEN}`) return apiError(res, 401, 'unauthorized', 'an editor token is required');
  const ticker = decodeURIComponent(m[1]);
  const topicName = `ticker:${ticker}`;
  if (!topics.has(topicName)) return apiError(res, 404, 'not_found', 'no such ticker');
  if (!(req.headers['content-type'] || '').startsWith('application/json')) {
    return apiError(res, 415, 'unsupported_media_type', 'send application/json');
  }
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      apiError(res, 413, 'too_large', 'body too large');
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (res.writableEnded) return;
    let input;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return apiError(res, 400, 'invalid', 'the body is not valid JSON');
    }
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      return apiError(res, 400, 'invalid', 'the body must be a JSON object');
    }
    const title = input.title ?? '';
    const body = input.body;
    if (typeof title !== 'string') return apiError(res, 400, 'invalid', 'title must be a string');
    if (typeof body !== 'string' || body === '') return apiError(res, 400, 'invalid', 'body is required');
    const now = rfc3339(new Date());
    const entry = {
      id: nextEntryId++,
      ticker,
      title,
      body,
      body_html: `<p>${escapeHtml(body)}</p>\n`,
      image: null,
      article_id: null,
      article_url: null,
      pinned: input.pinned === true,
      breaking: input.breaking === true,
      created_at: now,
      updated_at: now,
    };
    publish(topicName, 'ticker.entry', entry);
    sendJson(res, 201, entry, { Location: `/api/v1/tickers/${ticker}/entries/${entry.id}` });
  });
});

// --- WebSocket /live ------------------------------------------------------------

const wss = new WebSocketServer({ server, path: '/live', maxPayload: 4096 });

function sendTo(ws, obj) {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
}

function unsubscribe(ws, topicName) {
  const topic = topics.get(topicName);
  if (topic && topic.subscribers.delete(ws)) topic.presenceDirty = true;
  ws.topics.delete(topicName);
}

function subscribe(ws, topicName, since) {
  const topic = topics.get(topicName);
  if (!topic) return sendTo(ws, { type: 'error', topic: topicName, message: 'unknown topic' });
  if (ws.topics.has(topicName)) unsubscribe(ws, topicName);
  if (ws.topics.size >= MAX_SUBSCRIPTIONS) return ws.close(1008, 'too many subscriptions');
  ws.topics.add(topicName);
  topic.subscribers.add(ws);
  topic.presenceDirty = true;
  sendTo(ws, { type: 'subscribed', topic: topicName, seq: topic.seq });
  if (since === undefined || since === null || since === topic.seq) return;
  if (since > topic.seq) return sendTo(ws, { type: 'resync', topic: topicName });
  const oldest = topic.history.length ? topic.history[0].seq : topic.seq + 1;
  if (oldest > since + 1) return sendTo(ws, { type: 'resync', topic: topicName });
  for (const h of topic.history) if (h.seq > since) ws.send(h.msg);
}

wss.on('connection', (ws) => {
  ws.isAlive = true;
  ws.topics = new Set();
  ws.on('pong', () => {
    ws.isAlive = true;
  });
  ws.on('message', (data, isBinary) => {
    if (isBinary) return ws.close(1003, 'binary frames are not supported');
    let msg;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return ws.close(1007, 'malformed message: expected a JSON object with a type');
    }
    if (msg === null || typeof msg !== 'object' || typeof msg.type !== 'string') {
      return ws.close(1007, 'malformed message: expected a JSON object with a type');
    }
    if (msg.type !== 'subscribe' && msg.type !== 'unsubscribe') {
      return sendTo(ws, { type: 'error', message: 'unknown message type' });
    }
    if (typeof msg.topic !== 'string') return ws.close(1007, 'malformed message: topic must be a string');
    if (msg.type === 'unsubscribe') return unsubscribe(ws, msg.topic);
    const since = msg.since;
    if (since !== undefined && since !== null && !(Number.isInteger(since) && since >= 0)) {
      return ws.close(1007, 'malformed message: since must be a number >= 0');
    }
    subscribe(ws, msg.topic, since);
  });
  ws.on('close', () => {
    for (const t of [...ws.topics]) unsubscribe(ws, t);
  });
  ws.on('error', () => {});
});

// Heartbeat, as in the ws README: ping everyone, drop who did not answer the last one.
const heartbeat = setInterval(() => {
  for (const ws of wss.clients) {
    if (ws.isAlive === false) {
      ws.terminate();
      continue;
    }
    ws.isAlive = false;
    ws.ping();
  }
}, HEARTBEAT_MS);

// Presence: the subscriber count of each topic that changed, at most once per interval.
const presence = setInterval(() => {
  for (const [name, topic] of topics) {
    if (!topic.presenceDirty) continue;
    topic.presenceDirty = false;
    const msg = JSON.stringify({ type: 'presence', topic: name, count: topic.subscribers.size });
    for (const ws of topic.subscribers) {
      if (ws.readyState === WebSocket.OPEN) ws.send(msg);
    }
  }
}, PRESENCE_MS);

function shutdown() {
  clearInterval(heartbeat);
  clearInterval(presence);
  for (const ws of wss.clients) ws.close(1001, 'server shutting down');
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

server.listen(PORT, HOST, () => {
  const { address, port } = server.address();
  console.log(JSON.stringify({ msg: 'ready', address: `${address}:${port}`, node: process.version }));
});
