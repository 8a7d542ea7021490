// Accounts as a reader meets them, per edition (de, en, ru): the article's
// discussion asks an anonymous reader to log in or register; registering
// through the form mails a confirmation link (read from the server's maildir
// outbox); the link confirms; logging in through the form changes the header
// and the discussion; the settings page names the account; logging out
// through the header ends the session. Also: a display name holding HTML is
// shown as text. Along the way: no console errors or failed requests,
// axe-core on the register, login and settings pages, and no strings of the
// other editions on the account pages.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import {
  ARTIFACTS_DIR, EDITIONS, startServer, launchBrowser, formatProblems, settle, loadCatalogs,
  foreignStrings, findForeign, poll, waitForMail, newReaderPage, gotoOk, assertAccessible,
} from './server.mjs';

const TEST_TIMEOUT = 90_000;
const MAIL_TIMEOUT = 15_000;
const NAME = 'accounts';

// One account per edition. The passwords are long, not common, and contain
// neither the address's local part nor the display name.
const READERS = {
  de: { email: 'erika.leserin@example.org', name: 'Erika Mustermann', password: 'Kupferkessel-Wanderdüne-47' },
  en: { email: 'jane.reader@example.org', name: 'Jane Q. Reader', password: 'copper-kettle-dune-walker-81' },
  ru: { email: 'anna.chitatel@example.org', name: 'Анна Каренина', password: 'медный-чайник-дюна-36' },
};
const XSS_NAME = '<img src=x onerror=alert(1)>';
const XSS_READER = { email: 'markup.name@example.org', name: XSS_NAME, password: 'Lerchenfeld-Nordwind-Kiesel-29' };

let server;
let browser;
let catalogs;
let siteName;
const articlePath = {}; // ed -> path of the first top story

// The catalog's text with {placeholders} filled in (the account strings
// use plain ICU arguments only).
function fmt(ed, key, args = {}) {
  const text = catalogs[ed][key];
  assert.equal(typeof text, 'string', `catalog ${ed} has no string ${key}`);
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in args ? String(args[name]) : whole));
}

async function openPage(ed) {
  const { context, page, problems } = await newReaderPage(browser, ed);
  // alert(), confirm() etc.: a display name that ran as script would show one.
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(`${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
  return { context, page, problems, dialogs };
}


// Clicks `locator` and waits until the page is at `pathname` and loaded.
async function clickTo(page, locator, pathname) {
  await Promise.all([
    page.waitForURL((u) => u.pathname === pathname, { waitUntil: 'load' }),
    locator.click(),
  ]);
  await settle(page);
}

// Submits a form with `button` (a POST answered by a page of its own or by a
// 303), and waits for the new document to load (at `pathname` when given).
// Returns the status of the POST's answer.
async function submit(page, button, formPath, pathname) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === formPath),
    page.waitForEvent('load'),
    button.click(),
  ]);
  if (pathname) await page.waitForURL((u) => u.pathname === pathname, { waitUntil: 'load' });
  await settle(page);
  return res.status();
}

async function assertVisible(locator, what) {
  const n = await locator.count();
  assert.ok(n > 0, `${what}: not found`);
  assert.ok(await locator.first().isVisible(), `${what}: present but not visible`);
}

async function text(locator) {
  return ((await locator.first().textContent()) || '').replace(/\s+/g, ' ').trim();
}


// As in editions.test.mjs, but a foreign string that is part of one of this
// edition's own strings is not counted (de "Profil" is in en "Profile").
async function checkPurity(page, ed, what) {
  const own = Object.values(catalogs[ed]).filter((v) => typeof v === 'string');
  const foreign = foreignStrings(catalogs, ed).filter((f) => !own.some((o) => o.includes(f.text)));
  const found = findForeign(await page.evaluate(() => document.body.innerText), foreign);
  assert.deepEqual(found, [], `${what} shows strings of other editions:\n` +
    found.map((f) => `  ${f.ed}:${f.key} = ${JSON.stringify(f.text)}`).join('\n'));
}

async function checkLang(page, ed, what) {
  assert.equal(await page.getAttribute('html', 'lang'), ed, `html lang on ${what}`);
}

// The account navigation in the header.
function accountNav(page, ed) {
  return page.getByRole('navigation', { name: catalogs[ed].nav_account, exact: true });
}

async function assertHeaderAnonymous(page, ed, what) {
  const nav = accountNav(page, ed);
  await assertVisible(nav.getByRole('link', { name: catalogs[ed].account_login_link, exact: true }), `${what}: header log-in link`);
  await assertVisible(nav.getByRole('link', { name: catalogs[ed].account_register_link, exact: true }), `${what}: header register link`);
  assert.equal(await nav.getByRole('link', { name: catalogs[ed].account_settings_link, exact: true }).count(), 0,
    `${what}: header shows "${catalogs[ed].account_settings_link}" to an anonymous reader`);
  assert.equal(await nav.getByRole('button').count(), 0, `${what}: header shows a button to an anonymous reader`);
}

async function assertHeaderLoggedIn(page, ed, what) {
  const nav = accountNav(page, ed);
  const account = nav.getByRole('link', { name: catalogs[ed].account_settings_link, exact: true });
  if (await account.count() === 0) {
    // Say whether the browser showed a copy from its HTTP cache (nothing
    // transferred), made before this reader logged in.
    const nav0 = await page.evaluate(() => {
      const e = performance.getEntriesByType('navigation')[0];
      return e ? { transferSize: e.transferSize, decodedBodySize: e.decodedBodySize } : null;
    });
    const cached = nav0 && nav0.transferSize === 0 && nav0.decodedBodySize > 0;
    assert.fail(`${what}: header shows no "${catalogs[ed].account_settings_link}" link (still the logged-out header)` +
      (cached ? '; the page came from the browser\'s HTTP cache, stored before logging in' : ''));
  }
  await assertVisible(account, `${what}: header "${catalogs[ed].account_settings_link}" link`);
  const href = new URL(await account.getAttribute('href'), page.url());
  assert.equal(href.pathname, '/account/settings', `${what}: "${catalogs[ed].account_settings_link}" links to ${href}`);
  await assertVisible(nav.getByRole('button', { name: catalogs[ed].account_logout_button, exact: true }), `${what}: header log-out button`);
  for (const key of ['account_login_link', 'account_register_link']) {
    assert.equal(await nav.getByRole('link', { name: catalogs[ed][key], exact: true }).count(), 0,
      `${what}: header still shows "${catalogs[ed][key]}" when logged in`);
  }
}

// The discussion section of an article page as an anonymous reader sees it:
// the localised prompt and links to log in (coming back to the article) and
// to register, both in this edition. Returns the two links.
async function checkDiscussionAnonymous(page, ed, path) {
  const section = page.locator('section#discussion');
  await assertVisible(section, 'section#discussion');
  assert.equal(await text(section.locator('.take-part').first()), fmt(ed, 'discussion_anonymous'), 'discussion prompt');
  const login = section.getByRole('link', { name: catalogs[ed].account_login_link, exact: true });
  const register = section.getByRole('link', { name: catalogs[ed].account_register_link, exact: true });
  await assertVisible(login, 'discussion: log-in link');
  await assertVisible(register, 'discussion: register link');
  const loginURL = new URL(await login.getAttribute('href'), page.url());
  assert.equal(loginURL.pathname, '/account/login', `discussion log-in link: ${loginURL}`);
  assert.equal(loginURL.searchParams.get('ed'), ed, `discussion log-in link: ${loginURL}`);
  assert.equal(loginURL.searchParams.get('next'), path, `discussion log-in link should come back to the article: ${loginURL}`);
  const registerURL = new URL(await register.getAttribute('href'), page.url());
  assert.equal(registerURL.pathname, '/account/register', `discussion register link: ${registerURL}`);
  assert.equal(registerURL.searchParams.get('ed'), ed, `discussion register link: ${registerURL}`);
  return { login, register };
}

async function checkDiscussionLoggedIn(page, ed, { confirmed }) {
  const section = page.locator('section#discussion');
  await assertVisible(section, 'section#discussion');
  const body = await text(section);
  assert.ok(!body.includes(fmt(ed, 'discussion_anonymous')), `discussion still asks a logged-in reader to log in: ${JSON.stringify(body)}`);
  assert.equal(await section.locator('.take-part-links').count(), 0, 'discussion still shows log-in/register links');
  const expected = fmt(ed, confirmed ? 'discussion_soon' : 'discussion_unconfirmed');
  assert.ok(body.includes(expected), `discussion should say ${JSON.stringify(expected)}: ${JSON.stringify(body)}`);
}

// The register form, filled in by its labels, submitted; checks the page that
// answers. The page must be on /account/register.
async function register(page, ed, reader) {
  const cat = catalogs[ed];
  await checkLang(page, ed, 'register page');
  assert.equal(await text(page.locator('main h1')), cat.register_title, 'register page h1');
  const form = page.locator('main form[action="/account/register"]');
  await form.getByLabel(cat.field_email, { exact: true }).fill(reader.email);
  await form.getByLabel(cat.field_display_name, { exact: true }).fill(reader.name);
  await form.getByLabel(cat.field_password, { exact: true }).fill(reader.password);
  const status = await submit(page, form.getByRole('button', { name: cat.register_submit, exact: true }), '/account/register');
  const errors = await page.locator('.form-errors').allTextContents();
  assert.equal(status, 200, `registering ${reader.email} answered ${status}${errors.length ? `: ${errors.join(' ')}` : ''}`);
  await checkLang(page, ed, 'registered page');
  assert.equal(await text(page.locator('main h1')), cat.registered_title, 'registered page h1');
  const message = await text(page.locator('main .account-message'));
  assert.equal(message, fmt(ed, 'registered_message', { email: reader.email }), 'registered page message');
  assert.ok(message.includes(reader.email), `registered page message lacks the address ${reader.email}`);
}

// The confirmation mail to reader.email: in the edition's language, to the
// right address, with a link to /account/confirm on this server. Returns the
// link.
async function confirmationMail(ed, reader) {
  const mail = await waitForMail(server.dataDir, { to: reader.email, timeoutMs: MAIL_TIMEOUT });
  const where = `mail ${mail.file}`;
  assert.equal(mail.to, reader.email, `${where}: To`);
  assert.equal(mail.subject, fmt(ed, 'mail_confirm_subject', { site: siteName }), `${where}: Subject`);
  assert.ok(mail.text, `${where}: no text/plain part`);
  for (const key of ['mail_greeting', 'mail_confirm_intro', 'mail_signature']) {
    const want = fmt(ed, key, { name: reader.name, site: siteName });
    assert.ok(mail.text.includes(want), `${where}: text part lacks ${key} ${JSON.stringify(want)}:\n${mail.text}`);
  }
  assert.ok(mail.html, `${where}: no text/html part`);
  assert.match(mail.html, new RegExp(`<html lang="${ed}">`), `${where}: HTML part is not lang="${ed}"`);
  assert.ok(mail.html.includes(fmt(ed, 'mail_confirm_action')), `${where}: HTML part lacks the ${ed} button text`);

  const m = /https?:\/\/[^\s<>"]+/.exec(mail.text);
  assert.ok(m, `${where}: no link in the text part:\n${mail.text}`);
  const link = new URL(m[0]);
  assert.equal(link.origin, server.baseURL, `${where}: link ${link} is not on this server`);
  assert.equal(link.pathname, '/account/confirm', `${where}: link ${link}`);
  assert.match(link.searchParams.get('token') || '', /^[A-Za-z0-9_-]{20,}$/, `${where}: link ${link} has no token`);
  assert.equal(link.searchParams.get('ed'), ed, `${where}: link ${link} should carry ed=${ed}`);
  assert.ok(mail.html.includes(link.href.replace(/&/g, '&amp;')), `${where}: HTML part lacks the link ${link}`);

  // The server logs the link too (for sites without a mail server).
  const logged = await poll(() => server.log().split('\n').some((line) => {
    if (!line.includes('"mail written"')) return false;
    try { const r = JSON.parse(line); return r.to === reader.email && r.link === m[0]; } catch { return false; }
  }), 5_000);
  assert.ok(logged, `no "mail written" log line with to=${reader.email} and link ${m[0]}`);
  return { mail, link: link.href };
}

async function checkConfirmed(page, ed) {
  await checkLang(page, ed, 'confirmation page');
  assert.equal(await text(page.locator('main h1')), catalogs[ed].confirm_ok_title, 'confirmation page h1');
  assert.equal(await text(page.locator('main .account-message')), fmt(ed, 'confirm_ok_message'), 'confirmation page message');
}

// The log-in form, filled in and submitted; waits for the redirect to
// `landing`. The page must be on /account/login.
async function login(page, ed, reader, landing) {
  const cat = catalogs[ed];
  await checkLang(page, ed, 'log-in page');
  assert.equal(await text(page.locator('main h1')), cat.login_title, 'log-in page h1');
  const form = page.locator('main form[action="/account/login"]');
  await form.getByLabel(cat.field_email, { exact: true }).fill(reader.email);
  await form.getByLabel(cat.field_password, { exact: true }).fill(reader.password);
  await submit(page, form.getByRole('button', { name: cat.login_submit, exact: true }), '/account/login', landing);
  const cookies = await page.context().cookies();
  assert.ok(cookies.some((c) => c.name.endsWith('depesche_session')), `no session cookie after logging in: ${cookies.map((c) => c.name).join(', ')}`);
}

async function checkSettings(page, ed, reader, { confirmed }) {
  const cat = catalogs[ed];
  await checkLang(page, ed, 'settings page');
  assert.equal(await text(page.locator('main h1')), cat.settings_title, 'settings page h1');
  const want = fmt(ed, 'settings_signed_in_as', { name: reader.name, email: reader.email });
  const paras = (await page.locator('main section.account-page > p').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
  assert.ok(paras.includes(want), `settings page has no line ${JSON.stringify(want)}; its paragraphs:\n  ${paras.join('\n  ')}`);
  const body = await page.evaluate(() => document.body.innerText);
  assert.equal(body.includes(cat.settings_unconfirmed), !confirmed,
    `settings page ${confirmed ? 'says' : 'does not say'} the address is unconfirmed`);
  const nameInput = page.locator('main form[action="/account/settings/profile"]').getByLabel(cat.field_display_name, { exact: true });
  assert.equal(await nameInput.inputValue(), reader.name, 'settings: display name field');
}

async function me(context) {
  const res = await context.request.get(`${server.baseURL}/api/v1/me`);
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  return { status: res.status(), body };
}

function assertNoProblems(problems, dialogs, what) {
  assert.deepEqual(dialogs, [], `dialogs opened during ${what}`);
  assert.equal(problems.length, 0, `problems during ${what}:\n${formatProblems(problems)}`);
}

describe('accounts', { timeout: 6 * 60_000 }, () => {
  before(async () => {
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    catalogs = loadCatalogs();
    // Everything comes from 127.0.0.1, so the per-client limits would be
    // shared by all tests of this file.
    server = await startServer({
      name: NAME,
      env: {
        DEPESCHE_ACCOUNTS_REGISTER_PER_HOUR: '1000',
        DEPESCHE_ACCOUNTS_LOGIN_PER_MINUTE: '1000',
        DEPESCHE_ACCOUNTS_RESEND_PER_HOUR: '1000',
        DEPESCHE_ACCOUNTS_RESET_PER_HOUR: '1000',
      },
    });
    browser = await launchBrowser();
    // The site's name (for the mails) and an article per edition, as the
    // home pages show them.
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      for (const ed of EDITIONS) {
        await gotoOk(page, `${server.baseURL}/${ed}/`);
        siteName ||= await text(page.locator('header a.brand'));
        const href = await page.locator('section.top-stories article.teaser a.teaser-link').first().getAttribute('href');
        assert.ok(href && href.startsWith(`/${ed}/articles/`), `first top-story link on /${ed}/ is ${href}`);
        articlePath[ed] = new URL(href, page.url()).pathname;
      }
      assert.ok(siteName, 'no site name in header a.brand');
    } finally {
      await context.close();
    }
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  for (const ed of EDITIONS) {
    it(`${ed}: register, confirm by mail, log in, settings, log out`, { timeout: TEST_TIMEOUT }, async () => {
      const cat = catalogs[ed];
      const reader = READERS[ed];
      const article = articlePath[ed];
      const { context, page, problems, dialogs } = await openPage(ed);
      try {
        // An anonymous reader on an article: the discussion asks to log in
        // or register.
        await gotoOk(page, `${server.baseURL}${article}`);
        await assertHeaderAnonymous(page, ed, 'article (anonymous)');
        const { register: registerLink } = await checkDiscussionAnonymous(page, ed, article);

        // Register.
        await clickTo(page, registerLink, '/account/register');
        await assertAccessible(page, `/account/register (${ed})`);
        await checkPurity(page, ed, '/account/register');
        await register(page, ed, reader);
        await checkPurity(page, ed, 'the registered page');

        // The mail, and its link.
        const { link } = await confirmationMail(ed, reader);
        await gotoOk(page, link);
        await checkConfirmed(page, ed);
        await checkPurity(page, ed, 'the confirmation page');

        // Log in. de: by the confirmation page's link (lands on the home
        // page); en, ru: by the discussion's link (comes back to the article).
        let landing;
        if (ed === 'de') {
          await clickTo(page, page.locator('main').getByRole('link', { name: cat.login_title, exact: true }), '/account/login');
          landing = `/${ed}/`;
        } else {
          await gotoOk(page, `${server.baseURL}${article}`);
          await checkDiscussionAnonymous(page, ed, article);
          await clickTo(page, page.locator('section#discussion').getByRole('link', { name: cat.account_login_link, exact: true }), '/account/login');
          landing = article;
        }
        await assertAccessible(page, `/account/login (${ed})`);
        await checkPurity(page, ed, '/account/login');
        await login(page, ed, reader, landing);
        await assertHeaderLoggedIn(page, ed, `${landing} after logging in`);
        if (landing !== article) {
          // From the home page to the article the reader saw before logging
          // in, by its teaser.
          const teaser = page.locator(`main a.teaser-link[href="${article}"]`).first();
          await clickTo(page, teaser, article);
        }
        await assertHeaderLoggedIn(page, ed, 'article (logged in)');
        await checkDiscussionLoggedIn(page, ed, { confirmed: true });

        const who = await me(context);
        assert.equal(who.status, 200, `/api/v1/me answered ${who.status} when logged in`);
        assert.equal(who.body && who.body.email, reader.email, `/api/v1/me: ${JSON.stringify(who.body)}`);
        assert.equal(who.body.confirmed, true, `/api/v1/me: ${JSON.stringify(who.body)}`);
        assert.equal(who.body.edition, ed, `/api/v1/me: ${JSON.stringify(who.body)}`);

        // Settings, by the header link.
        await clickTo(page, accountNav(page, ed).getByRole('link', { name: cat.account_settings_link, exact: true }), '/account/settings');
        await checkSettings(page, ed, reader, { confirmed: true });
        await assertHeaderLoggedIn(page, ed, 'settings page');
        await assertAccessible(page, `/account/settings (${ed})`);
        await checkPurity(page, ed, '/account/settings');

        // Log out by the header button.
        await submit(page, accountNav(page, ed).getByRole('button', { name: cat.account_logout_button, exact: true }), '/account/logout', `/${ed}/`);
        await assertHeaderAnonymous(page, ed, `/${ed}/ after logging out`);
        const cookies = await context.cookies();
        assert.ok(!cookies.some((c) => c.name.endsWith('depesche_session')), 'session cookie still set after logging out');
        const gone = await me(context);
        assert.equal(gone.status, 401, `/api/v1/me answered ${gone.status} after logging out`);
        await gotoOk(page, `${server.baseURL}${article}`);
        await assertHeaderAnonymous(page, ed, 'article after logging out');
        await checkDiscussionAnonymous(page, ed, article);

        assertNoProblems(problems, dialogs, `the ${ed} account journey`);
      } finally {
        await context.close();
      }
    });
  }

  it('de: a display name with HTML is shown as text, never as markup', { timeout: TEST_TIMEOUT }, async () => {
    const ed = 'de';
    const reader = XSS_READER;
    const { context, page, problems, dialogs } = await openPage(ed);
    try {
      await gotoOk(page, `${server.baseURL}/account/register?ed=${ed}`);
      await register(page, ed, reader);

      // The mail: the name is text in the text part and escaped in the HTML.
      const { mail } = await confirmationMail(ed, reader);
      assert.ok(!mail.html.includes(XSS_NAME), `HTML part of ${mail.file} contains the name unescaped`);
      assert.ok(mail.html.includes('&lt;img src=x onerror=alert(1)&gt;'), `HTML part of ${mail.file} lacks the escaped name`);

      // Not confirmed: logging in works, posting not yet.
      await gotoOk(page, `${server.baseURL}/account/login?ed=${ed}&next=${encodeURIComponent('/account/settings')}`);
      await login(page, ed, reader, '/account/settings');
      await checkSettings(page, ed, reader, { confirmed: false });
      const imgs = await page.evaluate(() => ({
        inMain: document.querySelectorAll('main img').length,
        withOnerror: document.querySelectorAll('[onerror]').length,
        srcX: [...document.images].filter((i) => i.getAttribute('src') === 'x').length,
      }));
      assert.deepEqual(imgs, { inMain: 0, withOnerror: 0, srcX: 0 }, 'the display name became markup on the settings page');
      await assertAccessible(page, `/account/settings (${ed}, name with markup)`);

      await gotoOk(page, `${server.baseURL}${articlePath[ed]}`);
      await assertHeaderLoggedIn(page, ed, 'article (logged in, unconfirmed)');
      await checkDiscussionLoggedIn(page, ed, { confirmed: false });

      assertNoProblems(problems, dialogs, 'the markup-name journey');
    } finally {
      await context.close();
    }
  });
});
