// Home page and language switching.
//
// Contract (implemented by the Rust side):
// - GET / is an HTML page, <html lang="zh-CN"> by default, with a <main> and an <h1>;
// - the header has a language switcher: a link named "English" (and, in English, one named "中文");
// - clicking it reloads the same page in that language (<html lang="en"> / "zh-CN"),
//   and the choice is kept for the next pages of the same browser;
// - an unknown route answers 404 with an HTML page in the current language.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchBrowser, screenshot, startServer } from './lib/server.mjs';

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303F\uFF00-\uFFEF]/u;
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/** The lang attribute of the page's <html>, after it has loaded. */
async function htmlLang(page) {
  await page.waitForLoadState('load');
  return page.evaluate(() => document.documentElement.getAttribute('lang'));
}

/** Wait (across a navigation) until <html lang> is `want`; returns the last value seen. */
async function waitForLang(page, want, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let seen;
  for (;;) {
    try {
      seen = await htmlLang(page);
      if (seen === want) return seen;
    } catch {
      // the execution context went away mid-navigation; try again
    }
    if (Date.now() >= deadline) return seen;
    await sleep(100);
  }
}

/** The header's language-switcher link with the given accessible name. */
function languageLink(page, name) {
  return page.locator('header').getByRole('link', { name, exact: true });
}

async function switchLanguage(page, linkName, wantLang) {
  const link = languageLink(page, linkName);
  assert.equal(await link.count(), 1, `header should have one link named ${linkName}`);
  await link.click();
  const lang = await waitForLang(page, wantLang);
  assert.equal(lang, wantLang, `after clicking ${linkName}, <html lang> should be ${wantLang}`);
}

async function assertNotFound(page, baseUrl, wantLang) {
  const res = await page.goto(`${baseUrl}/no-such-page`);
  assert.ok(res, 'navigation to /no-such-page should produce a response');
  assert.equal(res.status(), 404);
  assert.match(res.headers()['content-type'] ?? '', /^text\/html/);
  assert.equal(await htmlLang(page), wantLang, `404 page should be in ${wantLang}`);
}

describe('home page', () => {
  let server;
  let browser;
  let context;
  let page;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    context = await browser.newContext({ locale: 'zh-CN' });
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('GET / is Chinese by default, with <main> and <h1>', async () => {
    const res = await page.goto(`${server.baseUrl}/`);
    assert.ok(res, 'navigation to / should produce a response');
    assert.equal(res.status(), 200);
    assert.equal(await htmlLang(page), 'zh-CN');
    assert.equal(await page.locator('main').count(), 1, 'page should have one <main>');
    assert.ok((await page.locator('h1').count()) >= 1, 'page should have an <h1>');
    assert.equal(await languageLink(page, 'English').count(), 1, 'header should link to English');
  });

  test('the English link reloads the page in English', async () => {
    const startPath = new URL(page.url()).pathname;
    await switchLanguage(page, 'English', 'en');
    assert.equal(new URL(page.url()).pathname, startPath, 'should stay on the same page');
    const h1 = (await page.locator('h1').first().innerText()).trim();
    assert.notEqual(h1, '', '<h1> should not be empty');
    assert.doesNotMatch(h1, CJK, `English <h1> should have no CJK characters: ${JSON.stringify(h1)}`);
    assert.equal(await languageLink(page, '中文').count(), 1, 'English page should link to 中文');
    await screenshot(page, 'home-en');
  });

  test('an unknown route is a 404 HTML page in English', async () => {
    await assertNotFound(page, server.baseUrl, 'en');
  });

  test('on a phone, the 中文 link switches back to Chinese', async () => {
    // A phone-sized context that carries over the language chosen above.
    const phone = await browser.newContext({
      ...PHONE,
      locale: 'zh-CN',
      storageState: await context.storageState(),
    });
    try {
      const phonePage = await phone.newPage();
      const res = await phonePage.goto(`${server.baseUrl}/`);
      assert.equal(res?.status(), 200);
      assert.equal(await htmlLang(phonePage), 'en', 'the English choice should be kept');
      await switchLanguage(phonePage, '中文', 'zh-CN');
      assert.ok((await phonePage.locator('h1').count()) >= 1, 'page should have an <h1>');
      await screenshot(phonePage, 'home-phone-zh');
      await assertNotFound(phonePage, server.baseUrl, 'zh-CN');
    } finally {
      await phone.close();
    }
  });
});
