// Depesche live newsticker: keeps a server-rendered ticker block current.
//
// The page renders the entries and the topic's seq at that moment; this
// module subscribes (through the page's live connection) with that seq as
// `since`, so it receives exactly what was published after the page was
// made, then everything live. Entries are keyed by id, so nothing is ever
// shown twice; on `resync` (history no longer reaches back) it refetches the
// first page over HTTP. Without JavaScript the block works as plain links.

/// Brings the ticker block `el` ([data-ticker]) to life on `connection` (a
/// LiveConnection from live-connection.js). Returns the subscription.
export function startTicker(el, connection) {
  const ticker = el.dataset.ticker;
  const topic = `ticker:${ticker}`;
  const lang = el.dataset.lang || document.documentElement.lang;
  const limit = Number(el.dataset.limit) || 20;
  const list = el.querySelector('.ticker-list');
  const pinnedList = el.querySelector('.ticker-pinned');
  const indicator = el.querySelector('.live-indicator');
  const counter = el.querySelector('.ticker-new');
  const empty = el.querySelector('.ticker-empty');
  const t = (key) => el.dataset[key] || '';
  const timeFormat = new Intl.DateTimeFormat(lang, {
    dateStyle: 'long', timeStyle: 'short', timeZone: el.dataset.tz || 'UTC',
  });
  const plural = new Intl.PluralRules(lang);

  let order = el.dataset.order === 'oldest' ? 'oldest' : 'newest';
  let firstPage = el.dataset.firstPage !== 'false';  // false on ?cursor= pages
  let pending = [];          // new entries held back while the reader is scrolled away
  const more = el.querySelector('.ticker-more');

  indicator.hidden = false;
  setState('connecting');

  function setState(state) {
    indicator.dataset.state = state;
    indicator.textContent = t(state === 'live' ? 'tLive' : state === 'connecting' ? 'tConnecting' : 'tOffline');
  }

  function shown(id) {
    return list.querySelector(`[data-id="${id}"]`) !== null;
  }

  // `anchor` prefixes the element id: a pinned entry is on the page twice.
  function render(entry, anchor = 'entry-') {
    const li = document.createElement('li');
    li.className = 'ticker-entry' + (entry.breaking ? ' breaking' : '') + (entry.pinned ? ' pinned' : '');
    li.id = `${anchor}${entry.id}`;
    li.dataset.id = String(entry.id);
    const time = document.createElement('time');
    time.dateTime = entry.created_at;
    time.textContent = timeFormat.format(new Date(entry.created_at));
    li.append(time);
    for (const [flag, key, cls] of [['breaking', 'tBreaking', 'badge badge-breaking'], ['pinned', 'tPinned', 'badge']]) {
      if (!entry[flag]) continue;
      const badge = document.createElement('span');
      badge.className = cls;
      badge.textContent = t(key);
      li.append(' ', badge);
    }
    if (entry.title) {
      const h = document.createElement('h3');
      h.className = 'entry-title';
      h.textContent = entry.title;
      li.append(h);
    }
    const body = document.createElement('div');
    body.className = 'entry-body';
    // body_html is the server's cmark-gfm output in safe mode (raw HTML
    // removed), the same markup the server puts into the page.
    body.innerHTML = entry.body_html;
    li.append(body);
    if (entry.image) {
      const fig = document.createElement('figure');
      fig.className = 'entry-image';
      const img = document.createElement('img');
      img.src = entry.image.url;
      img.alt = entry.image.caption || '';
      img.loading = 'lazy';
      if (entry.image.width) img.width = entry.image.width;
      if (entry.image.height) img.height = entry.image.height;
      const cap = document.createElement('figcaption');
      cap.textContent = entry.image.caption || '';
      if (entry.image.credit) {
        const credit = document.createElement('span');
        credit.className = 'credit';
        credit.textContent = `© ${entry.image.credit}`;
        cap.append(' ', credit);
      }
      fig.append(img, cap);
      li.append(fig);
    }
    if (entry.article_url) {
      const p = document.createElement('p');
      p.className = 'entry-link';
      const a = document.createElement('a');
      a.href = entry.article_url;
      a.textContent = t('tReadArticle');
      p.append(a);
      li.append(p);
    }
    return li;
  }

  // Pinned entries stand above the list, newest first, as the server renders
  // them (at most MAX_PINNED, as /api/v1/tickers/{id}/pinned returns).
  const MAX_PINNED = 10;
  const newerFirst = (a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id;

  function pinnedEntryOf(li) {
    return { id: Number(li.dataset.id), created_at: li.querySelector('time').dateTime };
  }

  function syncPinned(entry) {
    if (!pinnedList) return;
    pinnedList.querySelector(`:scope > [data-id="${entry.id}"]`)?.remove();
    if (entry.pinned) {
      const li = render(entry, 'pinned-');
      const later = [...pinnedList.children].find((other) => newerFirst(entry, pinnedEntryOf(other)) < 0);
      pinnedList.insertBefore(li, later || null);
      while (pinnedList.children.length > MAX_PINNED) pinnedList.lastElementChild.remove();
    }
    pinnedList.hidden = pinnedList.children.length === 0;
  }

  function scrolledAway() {
    return list.getBoundingClientRect().top < 0;
  }

  function updateCounter() {
    if (pending.length === 0) {
      counter.hidden = true;
      return;
    }
    const category = plural.select(pending.length);
    const key = { one: 'tNewOne', few: 'tNewFew', many: 'tNewMany' }[category] || 'tNewOther';
    counter.textContent = t(key).replace('%n', new Intl.NumberFormat(lang).format(pending.length));
    counter.hidden = false;
  }

  function showPending() {
    // pending is newest first; prepend the oldest first so the newest ends on top.
    for (const entry of pending.splice(0).reverse()) if (!shown(entry.id)) list.prepend(render(entry));
    updateCounter();
  }

  function added(entry) {
    if (shown(entry.id) || pending.some((p) => p.id === entry.id)) return;
    if (firstPage) syncPinned(entry);
    if (empty) empty.hidden = true;
    if (order === 'oldest') {
      // New entries belong at the end; while later pages are still to be
      // loaded, they arrive with them.
      if (!hasMore()) list.append(render(entry));
      return;
    }
    // On a later page (?cursor=) the newest entries are not on this page:
    // they are counted, and the counter leads to the first page.
    if (!firstPage || scrolledAway()) {
      pending.unshift(entry);
      updateCounter();
    } else {
      list.prepend(render(entry));
    }
  }

  function updated(entry) {
    if (firstPage) syncPinned(entry);
    const old = list.querySelector(`[data-id="${entry.id}"]`);
    if (old) old.replaceWith(render(entry));
    const i = pending.findIndex((p) => p.id === entry.id);
    if (i >= 0) pending[i] = entry;
  }

  function deleted(data) {
    syncPinned({ id: data.id, pinned: false });
    list.querySelector(`[data-id="${data.id}"]`)?.remove();
    pending = pending.filter((p) => p.id !== data.id);
    updateCounter();
  }

  async function fetchPinned() {
    const res = await fetch(`/api/v1/tickers/${encodeURIComponent(ticker)}/pinned`);
    if (!res.ok) throw new Error(`pinned entries: HTTP ${res.status}`);
    return (await res.json()).items;
  }

  async function fetchPage(cursor) {
    const params = new URLSearchParams({ order, limit: String(limit) });
    if (cursor) params.set('cursor', cursor);
    const res = await fetch(`/api/v1/tickers/${encodeURIComponent(ticker)}/entries?${params}`);
    if (!res.ok) throw new Error(`ticker page: HTTP ${res.status}`);
    return res.json();
  }

  function hasMore() {
    return more !== null && !more.parentElement.hidden;
  }

  // The link stays in the page, hidden at the end, so that a later reload
  // (another order, a resync) can bring it back.
  function setMore(cursor) {
    if (!more) return;
    more.parentElement.hidden = !cursor;
    if (!cursor) return;
    more.dataset.cursor = cursor;
    const url = new URL(more.href, location.href);
    url.searchParams.set('order', order);
    url.searchParams.set('cursor', cursor);
    more.href = url.pathname + url.search;
  }

  // Events that arrive over the socket while the first page is fetched
  // again are held and applied after it, in order: otherwise the new list
  // would drop an entry added meanwhile, or bring back one deleted.
  let reloading = false;
  let heldDuringReload = [];

  async function reload() {
    reloading = true;
    try {
      const [page, pinned] = await Promise.all([fetchPage(null), pinnedList ? fetchPinned() : []]);
      list.replaceChildren(...page.items.map((entry) => render(entry)));
      if (pinnedList) {
        pinnedList.replaceChildren(...pinned.map((entry) => render(entry, 'pinned-')));
        pinnedList.hidden = pinned.length === 0;
      }
      pending = [];
      firstPage = true;
      if (empty) empty.hidden = page.items.length > 0;
      setMore(page.next_cursor);
    } finally {
      reloading = false;
      for (const msg of heldDuringReload.splice(0)) apply(msg);
      updateCounter();
    }
  }

  // After a resync the first page must be fetched, or what was missed never
  // shows: retried with backoff until it succeeds.
  let resyncing = false;
  let resyncAgain = false;

  async function resync() {
    if (resyncing) {
      resyncAgain = true;
      return;
    }
    resyncing = true;
    let wait = 1000;
    try {
      do {
        resyncAgain = false;
        try {
          await reload();
        } catch {
          setState('offline');
          await new Promise((r) => setTimeout(r, wait / 2 + Math.random() * wait));
          wait = Math.min(wait * 2, 30000);
          resyncAgain = true;
        }
      } while (resyncAgain);
      if (connection.state === 'open') setState('live');
    } finally {
      resyncing = false;
    }
  }

  function apply(msg) {
    if (msg.event === 'ticker.entry') added(msg.data);
    else if (msg.event === 'ticker.entry.updated') updated(msg.data);
    else if (msg.event === 'ticker.entry.deleted') deleted(msg.data);
  }

  more?.addEventListener('click', async (event) => {
    event.preventDefault();
    try {
      const page = await fetchPage(more.dataset.cursor);
      for (const entry of page.items) if (!shown(entry.id)) list.append(render(entry));
      setMore(page.next_cursor);
    } catch {
      location.href = more.href;  // fall back to the server-rendered page
    }
  });

  counter.addEventListener('click', () => {
    if (!firstPage) {
      location.href = el.querySelector('.ticker-order a[data-order="newest"]').href;
      return;
    }
    showPending();
    el.scrollIntoView({ block: 'start' });
  });

  for (const link of el.querySelectorAll('.ticker-order a')) {
    link.addEventListener('click', async (event) => {
      event.preventDefault();
      const wanted = link.dataset.order;
      if (wanted === order) return;
      order = wanted;
      for (const a of el.querySelectorAll('.ticker-order a')) {
        if (a.dataset.order === order) a.setAttribute('aria-current', 'true');
        else a.removeAttribute('aria-current');
      }
      try {
        await reload();
      } catch {
        location.href = link.href;
      }
    });
  }

  window.addEventListener('scroll', () => {
    if (firstPage && pending.length && !scrolledAway()) showPending();
  }, { passive: true });

  // The connection reconnects and resubscribes by itself, with the last
  // seq it saw and the topic's epoch; here only what the reader sees.
  connection.onState((state) => {
    if (state === 'connecting') setState('connecting');
    else if (state === 'offline' || state === 'closed') setState('offline');
  });
  return connection.subscribe(topic, {
    since: Number(el.dataset.seq) || 0,
    onSubscribed: () => setState('live'),
    // What was missed is no longer in the server's history (or it is
    // another history): take the current first page instead.
    onResync: () => resync(),
    onEvent: (msg) => {
      if (reloading) heldDuringReload.push(msg);
      else apply(msg);
    },
    onError: () => setState('offline'),
  });
}
