// Calendar feeds from a party member's phone: from the account page to the
// calendars page, which lists the member's own feed, their compound's and
// their patrol team's; the button shows each feed's secret address once,
// and a calendar app (a plain request without cookies) reads the team's
// shifts there. Then the page in English on a desktop.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { demoAccounts, overflowsSideways, signIn } from './lib/demo.mjs';
import { launchBrowser, screenshot, startServer } from './lib/server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

async function follow(page, locator) {
  await Promise.all([page.waitForLoadState('load'), locator.click()]);
}

describe('calendar feeds', () => {
  let server;
  let browser;
  let accounts;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    accounts = demoAccounts(server.output().stdout);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('a party member subscribes to their team\'s patrol shifts', async () => {
    const member = accounts.find((a) => a.role === 'party_member');
    assert.ok(member, `demo accounts: ${JSON.stringify(accounts)}`);
    const phone = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    try {
      const page = await phone.newPage();
      await signIn(page, server.baseUrl, member, '/account');
      await follow(page, page.locator('main a[href="/calendars"]'));
      assert.equal(new URL(page.url()).pathname, '/calendars');
      assert.equal(await page.locator('main h1').innerText(), '日历订阅');

      const feeds = page.locator('li.cal-feed');
      const open = await feeds.locator('a.cal-open').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      assert.ok(open.includes('/calendars/me.ics'), `feeds: ${open}`);
      assert.ok(open.some((h) => /^\/calendars\/places\/\d+\.ics$/.test(h)), `feeds: ${open}`);
      const team = open.find((h) => /^\/calendars\/teams\/\d+\.ics$/.test(h));
      assert.ok(team, `the member's team has a feed: ${open}`);
      assert.equal(await page.locator('.cal-url').count(), 0, 'no address before the button');
      assert.equal(await overflowsSideways(page), false, 'the page fits a phone');

      // The addresses, once.
      await follow(page, page.getByRole('button', { name: '生成订阅地址' }));
      assert.ok((await page.locator('.cal-once').innerText()).includes('只显示这一次'));
      const urls = await page.locator('a.cal-url').evaluateAll((as) => as.map((a) => a.href));
      assert.equal(urls.length, open.length, 'one address per feed');
      assert.equal(await overflowsSideways(page), false, 'long addresses wrap on a phone');
      await screenshot(page, 'calendars-addresses-phone-zh');

      // A calendar app sends no cookies.
      const teamUrl = urls.find((u) => u.endsWith(team.replace('/calendars/', '/')));
      assert.ok(teamUrl, `${team} in ${urls}`);
      const r = await fetch(teamUrl);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^text\/calendar/);
      const text = await r.text();
      assert.ok(text.startsWith('BEGIN:VCALENDAR\r\n'));
      assert.match(text, /UID:patrol-shift-\d+@jinlin/);
      assert.match(text, /SUMMARY:巡逻 · /);
      const signedOut = await fetch(new URL('/calendars/me.ics', server.baseUrl), { redirect: 'manual' });
      assert.notEqual(signedOut.status, 200, 'the cookie feed needs a session');

      // Shown once: the page no longer has them.
      await page.goto(`${server.baseUrl}/calendars`);
      assert.equal(await page.locator('.cal-url').count(), 0);
      assert.equal(await page.getByRole('button', { name: '重新生成订阅地址' }).count(), 1);
    } finally {
      await phone.close();
    }
  });

  test('the page in English on a desktop', async () => {
    const member = accounts.find((a) => a.role === 'party_member');
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    try {
      const page = await desktop.newPage();
      await signIn(page, server.baseUrl, member, '/calendars');
      assert.equal(new URL(page.url()).pathname, '/calendars');
      await follow(page, page.locator('nav.lang-switch a[href^="/lang/en"]'));
      assert.equal(new URL(page.url()).pathname, '/calendars');
      assert.equal(await page.locator('main h1').innerText(), 'Calendar feeds');
      assert.ok((await page.locator('main').innerText()).includes('What each calendar holds'));
      assert.equal(await page.getByRole('button', { name: 'Regenerate feed addresses' }).count(), 1);
      assert.equal(await overflowsSideways(page), false);
      await screenshot(page, 'calendars-desktop-en');
      // Back to Chinese: the choice is kept on the account, and the demo
      // database may be shared with the tests that follow.
      await follow(page, page.locator('nav.lang-switch a[hreflang="zh-CN"]'));
      assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
    } finally {
      await desktop.close();
    }
  });
});
