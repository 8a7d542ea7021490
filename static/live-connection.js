// Depesche live connection: the page's one WebSocket to /live, shared by
// every live part on it (the ticker now; comments and chats next).
//
//   const live = pageConnection();
//   const sub = live.subscribe('ticker:de', { since: 41, onEvent, onResync });
//   const data = await live.send('publish', 'chat:lobby', { body: 'Hallo' });
//   sub.unsubscribe();
//
// Per topic it keeps the last seq seen and the topic's epoch, and after a
// reconnect subscribes again with them, so the server replays exactly what
// was missed; an event whose seq is not above the last one never reaches a
// handler. Reconnects back off exponentially with jitter, capped, and the
// backoff starts over once a connection has stayed up for a while. The
// protocol is described in docs/live.md.

/// A refusal from the server (`code` is one of the API's error codes) or a
/// failure on the way: `timeout` (no answer in time) or `disconnected` (the
/// connection dropped before the answer, or there was none to send on; the
/// message may or may not have been handled).
export class LiveError extends Error {
  constructor(code, message, { topic = null, id = null } = {}) {
    super(message);
    this.name = 'LiveError';
    this.code = code;
    this.topic = topic;
    this.id = id;
  }
}

// Subscribe refusals that trying again will not change; other codes
// (`unavailable`, `internal`) are retried with backoff.
const FINAL = new Set(['not_found', 'invalid', 'unauthorized', 'forbidden']);

const DEFAULTS = {
  url: null,              // default: ws(s)://<this host>/live
  initialBackoffMs: 1000,
  maxBackoffMs: 30000,
  healthyMs: 5000,        // open this long: the next drop starts the backoff over
  timeoutMs: 10000,       // for send()
};

export class LiveConnection {
  #opts;
  #socket = null;
  #state = 'idle';        // idle | connecting | open | offline | closed
  #topics = new Map();    // topic -> subscription record
  #pending = new Map();   // message id -> { resolve, reject, frame, sent, timer }
  #nextId = 1;
  #attempt = 0;           // reconnects since the last healthy connection
  #retryTimer = null;
  #healthyTimer = null;
  #listeners = new Set();

  constructor(options = {}) {
    this.#opts = { ...DEFAULTS, ...options };
    if (!this.#opts.url) {
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      this.#opts.url = `${scheme}//${location.host}/live`;
    }
  }

  /// `idle` (no socket needed yet), `connecting`, `open`, `offline`
  /// (dropped, a reconnect is scheduled) or `closed` (close() was called).
  get state() {
    return this.#state;
  }

  /// Calls fn(state) on every change of `state`; returns a function that
  /// stops it.
  onState(fn) {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /// Follows `topic`. `since`: the seq the caller's copy is at (events after
  /// it are replayed); without it only what comes after `subscribed`.
  /// `epoch`: the history that seq counts in, if known. Handlers, all
  /// optional: onSubscribed({seq, epoch}) on every (re)subscription,
  /// onEvent(msg) for each event ({topic, seq, event, data}) once and in
  /// order, onResync({seq, epoch}) when what was missed cannot be replayed
  /// (refetch over HTTP; events from then on follow), onPresence(count),
  /// onError(LiveError) when the server refuses the topic (refusals such as
  /// `not_found` end the subscription; others are retried). One
  /// subscription per topic and connection. Returns a handle:
  /// { topic, seq, epoch, active, unsubscribe() }.
  subscribe(topic, { since = null, epoch = null, ...handlers } = {}) {
    if (this.#state === 'closed') throw new Error('live connection closed');
    if (this.#topics.has(topic)) throw new Error(`already subscribed to ${topic}`);
    for (const [name, v] of [['since', since], ['epoch', epoch]]) {
      if (v !== null && !(Number.isSafeInteger(v) && v >= 0)) throw new TypeError(`${name} must be an integer >= 0`);
    }
    const rec = {
      topic, seq: since, epoch, subscribedSeq: null, subscribed: false, handlers,
      failures: 0, retryTimer: null,
    };
    this.#topics.set(topic, rec);
    if (this.#state === 'open') this.#sendSubscribe(rec);
    else if (this.#state === 'idle') this.#connect();
    const self = this;
    return {
      topic,
      get seq() { return rec.seq; },
      get epoch() { return rec.epoch; },
      get active() { return self.#topics.get(topic) === rec; },
      unsubscribe() { self.#drop(rec, true); },
    };
  }

  /// Sends {type, id, topic, ...data} to the handler the server has for
  /// `type`, with an id of its own. Resolves to the `ack`'s data; rejects
  /// with a LiveError: the server's `error` for that id, `timeout` after
  /// timeoutMs, or `disconnected` when the connection drops first (or is
  /// down, waiting to reconnect). Never sent twice: after `disconnected`
  /// the caller decides whether to send again.
  send(type, topic, data = {}, { timeoutMs = this.#opts.timeoutMs } = {}) {
    if (type === 'subscribe' || type === 'unsubscribe') throw new TypeError(`use ${type}() for ${type}`);
    const id = `m${this.#nextId++}`;
    const message = { ...data, type, id };
    if (topic) message.topic = topic;
    const frame = JSON.stringify(message);
    return new Promise((resolve, reject) => {
      if (this.#state === 'offline' || this.#state === 'closed') {
        reject(new LiveError('disconnected', 'not connected', { topic, id }));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new LiveError('timeout', `no answer within ${timeoutMs} ms`, { topic, id }));
      }, timeoutMs);
      const p = { resolve, reject, frame, topic, sent: false, timer };
      this.#pending.set(id, p);
      if (this.#state === 'open') {
        this.#socket.send(frame);
        p.sent = true;
      } else if (this.#state === 'idle') {
        this.#connect();
      }  // connecting: goes out on open
    });
  }

  /// Ends the connection for good: no reconnect, pending messages rejected.
  close() {
    if (this.#state === 'closed') return;
    for (const rec of this.#topics.values()) clearTimeout(rec.retryTimer);
    this.#topics.clear();
    clearTimeout(this.#retryTimer);
    const socket = this.#socket;
    this.#socket = null;
    this.#lost();
    this.#setState('closed');
    socket?.close(1000);
  }

  #setState(state) {
    if (state === this.#state) return;
    this.#state = state;
    for (const fn of [...this.#listeners]) call(fn, state);
  }

  #connect() {
    this.#retryTimer = null;
    const socket = new WebSocket(this.#opts.url);
    this.#socket = socket;
    this.#setState('connecting');
    socket.addEventListener('open', () => {
      if (socket !== this.#socket) return;
      this.#setState('open');
      this.#healthyTimer = setTimeout(() => { this.#attempt = 0; }, this.#opts.healthyMs);
      for (const rec of this.#topics.values()) this.#sendSubscribe(rec);
      for (const p of this.#pending.values()) {
        if (!p.sent) {
          socket.send(p.frame);
          p.sent = true;
        }
      }
    });
    socket.addEventListener('message', (event) => {
      if (socket === this.#socket) this.#receive(event.data);
    });
    socket.addEventListener('close', () => {
      if (socket !== this.#socket) return;
      this.#socket = null;
      this.#lost();
      if (this.#topics.size === 0) {
        this.#setState('idle');  // nothing to come back for; the next subscribe or send connects
        return;
      }
      this.#setState('offline');
      // Jittered, so that thousands of readers do not all come back in the
      // same second after a restart.
      const base = Math.min(this.#opts.maxBackoffMs, this.#opts.initialBackoffMs * 2 ** this.#attempt);
      this.#attempt += 1;
      this.#retryTimer = setTimeout(() => this.#connect(), base / 2 + Math.random() * base / 2);
    });
  }

  // The socket is gone: answers to what was sent on it will never come.
  #lost() {
    clearTimeout(this.#healthyTimer);
    for (const rec of this.#topics.values()) {
      rec.subscribed = false;
      clearTimeout(rec.retryTimer);
    }
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new LiveError('disconnected', 'the connection dropped before an answer', { topic: p.topic, id }));
    }
  }

  #sendSubscribe(rec) {
    const msg = { type: 'subscribe', topic: rec.topic };
    if (rec.seq !== null) msg.since = rec.seq;
    if (rec.seq !== null && rec.epoch !== null) msg.epoch = rec.epoch;
    this.#socket.send(JSON.stringify(msg));
  }

  #drop(rec, tellServer) {
    if (this.#topics.get(rec.topic) !== rec) return;
    this.#topics.delete(rec.topic);
    clearTimeout(rec.retryTimer);
    if (tellServer && this.#state === 'open') {
      this.#socket.send(JSON.stringify({ type: 'unsubscribe', topic: rec.topic }));
    }
  }

  #receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    // Answers to send() carry its id; subscribes have none, so an error
    // without an id is about a topic.
    if (msg.type === 'ack' || (msg.type === 'error' && msg.id != null)) {
      const p = this.#pending.get(msg.id);
      if (!p) return;  // timed out already
      this.#pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.type === 'ack') p.resolve(msg.data ?? null);
      else p.reject(new LiveError(msg.code, msg.message, { topic: msg.topic ?? null, id: msg.id }));
      return;
    }
    const rec = this.#topics.get(msg.topic);
    if (!rec) return;  // unsubscribed meanwhile
    const on = rec.handlers;
    if (msg.type === 'subscribed') {
      rec.subscribed = true;
      rec.failures = 0;
      rec.subscribedSeq = msg.seq;
      if (typeof msg.epoch === 'number') rec.epoch = msg.epoch;
      if (rec.seq === null) rec.seq = msg.seq;
      call(on.onSubscribed, { seq: msg.seq, epoch: rec.epoch });
    } else if (msg.type === 'error') {
      this.#refused(rec, msg);
    } else if (!rec.subscribed) {
      // Left over from an earlier subscription to the topic on this socket:
      // the server answers `subscribed` before anything of the new one.
    } else if (msg.type === 'event') {
      if (!(msg.seq > rec.seq)) return;  // a repeat
      rec.seq = msg.seq;
      call(on.onEvent, msg);
    } else if (msg.type === 'resync') {
      // From here on we count in the topic's current history.
      rec.seq = rec.subscribedSeq;
      call(on.onResync, { seq: rec.seq, epoch: rec.epoch });
    } else if (msg.type === 'presence') {
      call(on.onPresence, msg.count);
    }
  }

  #refused(rec, msg) {
    const err = new LiveError(msg.code, msg.message, { topic: rec.topic });
    if (FINAL.has(msg.code)) {
      this.#drop(rec, false);
    } else {
      const base = Math.min(this.#opts.maxBackoffMs, this.#opts.initialBackoffMs * 2 ** rec.failures);
      rec.failures += 1;
      clearTimeout(rec.retryTimer);
      rec.retryTimer = setTimeout(() => {
        if (this.#state === 'open' && this.#topics.get(rec.topic) === rec) this.#sendSubscribe(rec);
      }, base / 2 + Math.random() * base / 2);
    }
    call(rec.handlers.onError, err);
  }
}

// A handler's bug must not cost the other topics their messages; it is
// still reported as an uncaught error.
function call(fn, arg) {
  if (!fn) return;
  try {
    fn(arg);
  } catch (err) {
    setTimeout(() => { throw err; });
  }
}

let shared = null;

/// The page's connection, made on first use: every live part of a page
/// shares it (one socket, several topics).
export function pageConnection() {
  shared ??= new LiveConnection();
  return shared;
}
