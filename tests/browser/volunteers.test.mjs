// A night patrol from a party member's phone: the member signs up for the
// patrol team's shift about to start, checks in at the gate, writes the
// patrol log with an incident raised as a residents' matter in the same
// step, and follows the log entry to the matter; then the shift in English.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { demoAccounts, overflowsSideways, signIn } from './lib/demo.mjs';
import { launchBrowser, screenshot, startServer } from './lib/server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

async function follow(page, locator) {
  await Promise.all([page.waitForLoadState('load'), locator.click()]);
}

/** The cards listed under the heading `title` on the volunteers page. */
function cardsUnder(page, title) {
  return page
    .locator('main h2', { hasText: title })
    .locator('xpath=following-sibling::ul[1]')
    .locator('li.vt-card');
}

/** No error shown after a form was sent. */
async function noError(page) {
  const errors = page.locator('main .form-error');
  assert.equal(await errors.count(), 0, `refused: ${await errors.allInnerTexts()}`);
}

describe('volunteer patrols', () => {
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

  test('a party member signs up for a shift, checks in and raises an incident from the log', async () => {
    const member = accounts.find((a) => a.role === 'party_member');
    assert.ok(member, `demo accounts: ${JSON.stringify(accounts)}`);
    const phone = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    try {
      const page = await phone.newPage();
      await signIn(page, server.baseUrl, member, '/volunteers');
      assert.equal(new URL(page.url()).pathname, '/volunteers');
      const myName = (await page.locator('.user-name').innerText()).trim();

      // The shift about to start is the first one open for sign-up.
      const open = cardsUnder(page, '可报名的班次');
      assert.ok((await open.count()) > 0, 'the member\'s patrol team has shifts open');
      assert.equal(await overflowsSideways(page), false, 'the page fits a phone');
      await screenshot(page, 'volunteers-open-shifts-phone-zh');
      const card = open.first();
      const shiftPath = await card.locator('.vt-when a').getAttribute('href');
      assert.match(shiftPath, /^\/patrol-shifts\/\d+$/);
      await follow(page, card.getByRole('button', { name: '报名' }));
      await noError(page);
      assert.equal(new URL(page.url()).pathname, '/volunteers');

      // Signed up: the shift is among mine, with the check-in open.
      const mine = cardsUnder(page, '我报名的班次').filter({ has: page.locator(`a[href="${shiftPath}"]`) });
      assert.equal(await mine.count(), 1, 'the shift is among mine');
      assert.ok((await mine.locator('.vt-badge').innerText()).includes('已报名'));
      assert.ok((await mine.innerText()).includes('已报名 1/'), 'one place is taken');
      await follow(page, mine.getByRole('button', { name: '签到' }));
      await noError(page);
      const checked = cardsUnder(page, '我报名的班次').filter({ has: page.locator(`a[href="${shiftPath}"]`) });
      assert.match(await checked.innerText(), /已签到 \d{2}:\d{2}/);
      assert.equal(await checked.getByRole('button', { name: '签到' }).count(), 0, 'checked in once');
      assert.equal(await checked.getByRole('button', { name: '签退' }).count(), 1);
      await screenshot(page, 'volunteers-checked-in-phone-zh');

      // The shift: the roster shows the check-in; the log takes an incident.
      await follow(page, checked.locator('.vt-when a'));
      assert.equal(new URL(page.url()).pathname, shiftPath);
      const rosterRow = page.locator('main ul.vt-list li', { hasText: myName });
      assert.equal(await rosterRow.count(), 1, `the roster lists ${myName}`);
      assert.ok((await rosterRow.innerText()).includes('已签到'));
      const form = page.locator(`form[action="${shiftPath}/logs"]`);
      const entry = '3号楼东侧消防通道堆放纸箱，影响通行，已拍照提醒。';
      const title = `消防通道堆放杂物 ${Date.now() % 100000}`;
      await form.getByLabel('日志内容').fill(entry);
      await form.getByLabel('发现问题').check();
      await form.getByLabel('作为居民诉求上报').check();
      assert.equal(await form.getByLabel('诉求类别').inputValue(), 'safety_hazard', 'a safety hazard by default');
      await form.getByLabel('诉求标题').fill(title);
      assert.equal(await overflowsSideways(page), false, 'the log form fits a phone');
      await screenshot(page, 'volunteers-log-phone-zh');
      await follow(page, form.getByRole('button', { name: '记录日志' }));
      await noError(page);
      assert.equal(new URL(page.url()).pathname, shiftPath);
      const logged = page.locator('main li.vt-card.vt-incident', { hasText: entry });
      assert.equal(await logged.count(), 1, 'the entry is in the log as an incident');
      assert.ok((await logged.locator('.vt-badge').innerText()).includes('发现问题'));
      const matterLink = logged.locator('a[href^="/resident-matters/"]');
      assert.match(await matterLink.innerText(), /^居民诉求 #\d+$/);

      // The matter raised from the log, waiting for the community to dispatch it.
      await follow(page, matterLink);
      assert.match(new URL(page.url()).pathname, /^\/resident-matters\/\d+$/);
      assert.equal((await page.locator('main h1').innerText()).trim(), title);
      assert.equal((await page.locator('.rm-facts .rm-state').innerText()).trim(), '待派遣');
      assert.ok((await page.locator('.rm-description').innerText()).includes(entry));
      assert.equal(await overflowsSideways(page), false, 'the matter fits a phone');
      await screenshot(page, 'volunteers-matter-phone-zh');

      // The shift in English, then back to Chinese (kept on the account).
      await page.goto(`${server.baseUrl}${shiftPath}`);
      await follow(page, page.locator('nav.lang-switch a[href^="/lang/en"]'));
      const main = await page.locator('main').innerText();
      assert.ok(main.includes('Patrol log') && main.includes('Incident'), 'the shift page in English');
      assert.equal(await overflowsSideways(page), false, 'the English page fits a phone');
      await screenshot(page, 'volunteers-shift-phone-en');
      await follow(page, page.locator('nav.lang-switch a[hreflang="zh-CN"]'));
      assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
    } finally {
      await phone.close();
    }
  });
});
