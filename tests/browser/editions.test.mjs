// Per edition (de, en, ru): home page -> first top story -> article page,
// checked as a reader would see it, plus accessibility (axe-core), edition
// purity (no strings of the other editions' catalogs) and screenshots.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  ARTIFACTS_DIR, EDITIONS, startServer, launchBrowser, formatProblems, settle, loadCatalogs,
  foreignStrings, findForeign, poll, newReaderPage, gotoOk, assertAccessible,
} from './server.mjs';

const TEST_TIMEOUT = 60_000;
const NAME = 'editions';

let server;
let browser;
const openPage = (ed, options) => newReaderPage(browser, ed, options);



async function assertVisible(locator, what) {
  const n = await locator.count();
  assert.ok(n > 0, `${what}: not found`);
  assert.ok(await locator.first().isVisible(), `${what}: present but not visible`);
}

async function text(locator) {
  return ((await locator.first().textContent()) || '').trim();
}

// The URL of the first top story of an edition's home page.
async function firstTopStoryURL(page, base, ed) {
  await gotoOk(page, `${base}/${ed}/`);
  const href = await page.locator('section.top-stories article.teaser a.teaser-link').first().getAttribute('href');
  assert.ok(href && href.startsWith(`/${ed}/articles/`), `first top-story link is ${href}`);
  return new URL(href, page.url()).href;
}

async function checkHome(page, ed) {
  assert.equal(await page.getAttribute('html', 'lang'), ed, 'html lang');
  await assertVisible(page.locator('main#main'), 'main#main');
  for (const section of ['top-stories', 'latest']) {
    await assertVisible(page.locator(`section.${section}`), `section.${section}`);
    const teasers = await page.locator(`section.${section} article.teaser`).evaluateAll((els, ed) =>
      els.map((el) => {
        const link = el.querySelector('a.teaser-link');
        const h = el.querySelector('h2, h3');
        return {
          href: link ? link.getAttribute('href') : null,
          headline: h ? h.textContent.trim() : null,
          ok: !!link && link.getAttribute('href').startsWith(`/${ed}/articles/`) && !!h && h.textContent.trim() !== '',
        };
      }), ed);
    assert.ok(teasers.length > 0, `section.${section} has no article.teaser`);
    const bad = teasers.filter((t) => !t.ok);
    assert.deepEqual(bad, [], `section.${section}: teasers without a /${ed}/articles/ a.teaser-link or a non-empty h2/h3`);
  }
}

async function checkArticle(page, ed) {
  const here = new URL(page.url());
  assert.ok(here.pathname.startsWith(`/${ed}/articles/`), `landed on ${page.url()}`);
  assert.equal(await page.getAttribute('html', 'lang'), ed, 'html lang');
  await assertVisible(page.locator('main#main'), 'main#main');

  const art = page.locator('article.article');
  await assertVisible(art, 'article.article');
  await assertVisible(art.locator('h1.headline'), 'h1.headline');
  assert.notEqual(await text(art.locator('h1.headline')), '', 'h1.headline is empty');

  // Hero image: visible, described, actually loaded; caption and credit.
  const img = art.locator('figure.hero img');
  await assertVisible(img, 'figure.hero img');
  const alt = await img.first().getAttribute('alt');
  assert.ok(alt && alt.trim() !== '', 'figure.hero img has an empty alt');
  const loaded = await poll(() => img.first().evaluate((el) => el.complete && el.naturalWidth > 0));
  assert.ok(loaded, `hero image did not load: ${await img.first().getAttribute('src')}`);
  await assertVisible(art.locator('figure.hero figcaption'), 'figure.hero figcaption');
  await assertVisible(art.locator('figure.hero figcaption .caption'), 'figcaption .caption');
  assert.notEqual(await text(art.locator('figure.hero figcaption .caption')), '', '.caption is empty');
  await assertVisible(art.locator('figure.hero figcaption .credit'), 'figcaption .credit');
  const credit = await text(art.locator('figure.hero figcaption .credit'));
  assert.ok(credit.startsWith('©'), `.credit should start with "©": ${JSON.stringify(credit)}`);

  const time = art.locator('time.published[datetime]');
  await assertVisible(time, 'time.published[datetime]');
  const dt = await time.first().getAttribute('datetime');
  assert.ok(!Number.isNaN(Date.parse(dt)), `time.published datetime is not a date: ${dt}`);

  await assertVisible(art.locator('div.body'), 'div.body');
  const paras = await art.locator('div.body p').allTextContents();
  assert.ok(paras.filter((p) => p.trim() !== '').length > 0, 'div.body has no non-empty paragraph');
  await assertVisible(art.locator('div.body p'), 'div.body p');

  // Related articles: at least one link to another article of this edition.
  const related = page.locator('aside.related');
  await assertVisible(related, 'aside.related');
  const relHrefs = await related.locator('a.teaser-link').evaluateAll((els) => els.map((a) => a.getAttribute('href')));
  const others = relHrefs.filter((h) => h && h.startsWith(`/${ed}/articles/`) && new URL(h, here).pathname !== here.pathname);
  assert.ok(others.length > 0, `aside.related has no a.teaser-link to another /${ed}/articles/ page (found ${JSON.stringify(relHrefs)})`);
  await assertVisible(related.locator('a.teaser-link'), 'aside.related a.teaser-link');

  // Placeholders for the live parts (may be empty, so only their presence).
  for (const id of ['ticker', 'discussion', 'chats']) {
    assert.equal(await page.locator(`section#${id}`).count(), 1, `section#${id} placeholder missing`);
  }

  // Structured data.
  const ldTexts = await page.locator('script[type="application/ld+json"]').allTextContents();
  assert.ok(ldTexts.length > 0, 'no script[type="application/ld+json"]');
  const ld = [];
  for (const t of ldTexts) {
    let v;
    try { v = JSON.parse(t); } catch (err) { assert.fail(`JSON-LD does not parse: ${err.message}\n${t.slice(0, 500)}`); }
    for (const item of [].concat(v)) {
      ld.push(item);
      if (item && Array.isArray(item['@graph'])) ld.push(...item['@graph']);
    }
  }
  const news = ld.filter((x) => x && [].concat(x['@type']).includes('NewsArticle'));
  assert.ok(news.length > 0, `no JSON-LD object with "@type":"NewsArticle" in ${JSON.stringify(ld).slice(0, 500)}`);
  assert.equal(news[0].inLanguage, ed, 'JSON-LD inLanguage');

  // Canonical and language alternates.
  const canon = await page.locator('link[rel="canonical"]').evaluateAll((els) => els.map((l) => l.href));
  assert.equal(canon.length, 1, `expected one link[rel=canonical], found ${canon.length}`);
  assert.equal(new URL(canon[0]).pathname, here.pathname, 'canonical URL path');
  const alts = await page.locator('link[rel="alternate"][hreflang]').evaluateAll((els) =>
    els.map((l) => ({ hreflang: l.getAttribute('hreflang'), href: l.getAttribute('href') })));
  assert.ok(alts.length > 0, 'no link[rel=alternate][hreflang]');
  for (const a of alts) {
    assert.ok(a.hreflang && a.href, `incomplete alternate link ${JSON.stringify(a)}`);
  }
}


describe('editions', { timeout: 5 * 60_000 }, () => {
  before(async () => {
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    server = await startServer({ name: NAME });
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  for (const ed of EDITIONS) {
    it(`${ed}: home page leads to a complete, accessible article`, { timeout: TEST_TIMEOUT }, async () => {
      const { context, page, problems } = await openPage(ed);
      try {
        await gotoOk(page, `${server.baseURL}/${ed}/`);
        await checkHome(page, ed);
        await assertAccessible(page, `/${ed}/`);

        const link = page.locator('section.top-stories article.teaser a.teaser-link').first();
        const target = new URL(await link.getAttribute('href'), page.url());
        await Promise.all([
          page.waitForURL((u) => u.pathname === target.pathname, { waitUntil: 'load' }),
          link.click(),
        ]);
        await settle(page);
        await checkArticle(page, ed);
        await assertAccessible(page, target.pathname);

        assert.equal(problems.length, 0, `problems while loading /${ed}/ and ${target.pathname}:\n${formatProblems(problems)}`);
      } finally {
        await context.close();
      }
    });

    it(`${ed}: pages show no strings of the other editions`, { timeout: TEST_TIMEOUT }, async () => {
      const catalogs = loadCatalogs();
      const foreign = foreignStrings(catalogs, ed);
      const { context, page } = await openPage(ed);
      try {
        const home = `${server.baseURL}/${ed}/`;
        const article = await firstTopStoryURL(page, server.baseURL, ed);
        for (const url of [home, article]) {
          await gotoOk(page, url);
          const body = await page.evaluate(() => document.body.innerText);
          const found = findForeign(body, foreign);
          assert.deepEqual(found, [], `${url} shows strings of other editions:\n` +
            found.map((f) => `  ${f.ed}:${f.key} = ${JSON.stringify(f.text)}`).join('\n'));
        }
      } finally {
        await context.close();
      }
    });

    it(`${ed}: screenshots of home and article pages`, { timeout: TEST_TIMEOUT }, async () => {
      const { context, page } = await openPage(ed);
      try {
        const article = await firstTopStoryURL(page, server.baseURL, ed);
        await page.screenshot({ path: path.join(ARTIFACTS_DIR, `home-${ed}.png`), fullPage: true });
        await gotoOk(page, article);
        await page.screenshot({ path: path.join(ARTIFACTS_DIR, `article-${ed}.png`), fullPage: true });
      } finally {
        await context.close();
      }
    });
  }
});
