// Routing as a browser sees it: "/" picks the edition from Accept-Language,
// and an unknown article is a localised 404 page.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startServer, launchBrowser, watchPage, formatProblems, settle, loadCatalogs, foreignStrings, findForeign,
} from './server.mjs';

const TEST_TIMEOUT = 60_000;
const NAME = 'routing';

let server;
let browser;

describe('routing', { timeout: 3 * 60_000 }, () => {
  before(async () => {
    server = await startServer({ name: NAME });
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  for (const [locale, ed] of [['ru-RU', 'ru'], ['de-DE', 'de'], ['en-US', 'en']]) {
    it(`"/" redirects a ${locale} browser to /${ed}/`, { timeout: TEST_TIMEOUT }, async () => {
      const context = await browser.newContext({ locale });
      context.setDefaultTimeout(15_000);
      const page = await context.newPage();
      const problems = watchPage(page);
      try {
        const res = await page.goto(`${server.baseURL}/`, { waitUntil: 'load' });
        assert.ok(res, 'no response');
        const first = res.request().redirectedFrom();
        assert.ok(first, `"/" was not redirected (status ${res.status()}, ${res.url()})`);
        const sentLang = first.headers()['accept-language'] || '';
        assert.ok(sentLang.toLowerCase().startsWith(ed), `browser sent Accept-Language ${JSON.stringify(sentLang)}`);
        const redirect = await first.response();
        assert.equal(redirect.status(), 302, 'status of "/"');
        assert.equal(new URL(redirect.headers().location, first.url()).pathname, `/${ed}/`, 'Location of "/"');
        assert.equal(res.status(), 200, `/${ed}/ status`);
        assert.equal(new URL(page.url()).pathname, `/${ed}/`, 'final URL');
        assert.equal(await page.getAttribute('html', 'lang'), ed, 'html lang');
        await settle(page);
        assert.equal(problems.length, 0, `problems:\n${formatProblems(problems)}`);
      } finally {
        await context.close();
      }
    });
  }

  it('an unknown article is a German 404 page under /de/, whatever the browser language', { timeout: TEST_TIMEOUT }, async () => {
    // An English-speaking browser: the page language must follow the URL.
    const context = await browser.newContext({ locale: 'en-US' });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const problems = watchPage(page);
    const url = `${server.baseURL}/de/articles/does-not-exist`;
    try {
      const res = await page.goto(url, { waitUntil: 'load' });
      assert.ok(res, 'no response');
      assert.equal(res.status(), 404, 'status');
      assert.equal(res.url(), url, 'the 404 must be served at the URL itself, not after a redirect');
      assert.equal(await page.getAttribute('html', 'lang'), 'de', 'html lang');
      assert.ok(await page.locator('main#main').isVisible(), 'main#main not visible');
      const body = (await page.evaluate(() => document.body.innerText)).trim();
      assert.notEqual(body, '', '404 page shows no text');
      const found = findForeign(body, foreignStrings(loadCatalogs(), 'de'));
      assert.deepEqual(found, [], '404 page shows strings of other editions:\n' +
        found.map((f) => `  ${f.ed}:${f.key} = ${JSON.stringify(f.text)}`).join('\n'));

      await settle(page);
      // The document's own 404 (and Chromium's console note about it) are expected.
      const unexpected = problems.filter((p) =>
        !((p.kind === 'http' && p.url === url && p.status === 404) ||
          (p.kind === 'console' && p.url === url && /status of 404/.test(p.text))));
      assert.equal(unexpected.length, 0, `problems:\n${formatProblems(unexpected)}`);
    } finally {
      await context.close();
    }
  });
});
