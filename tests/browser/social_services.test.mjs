// A social organisation's service from a resident's phone: the resident
// finds a session about to start near home and registers; the
// organisation's staff member, at the door with a phone, marks the resident
// present on the session's roll; the resident sees the check-in on the
// session and in their registrations (feedback opens once the session is
// over) and gives feedback on the last session they attended; then the
// same page in English. Then the staff member cancels a later session the
// resident registered for, and the resident is told in the inbox.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { demoAccounts, overflowsSideways, signIn } from './lib/demo.mjs';
import { launchBrowser, screenshot, startServer } from './lib/server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

async function follow(page, locator) {
  await Promise.all([page.waitForLoadState('load'), locator.click()]);
}

/** A fact of the session by its label (时间, 名额, 我的报名…). */
async function fact(page, label) {
  return (await page.locator('.so-facts dt', { hasText: label }).locator('xpath=following-sibling::dd[1]').innerText()).trim();
}

/** "5/20" → [5, 20] */
function seats(text) {
  const [taken, capacity] = text.split('/').map((n) => Number(n.trim()));
  return { taken, capacity };
}

/** No error shown after a form was sent. */
async function noError(page) {
  const errors = page.locator('main .form-error');
  assert.equal(await errors.count(), 0, `refused: ${await errors.allInnerTexts()}`);
}

describe('social organisations\' services', () => {
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

  test('a resident registers on a phone, is checked in by staff and gives feedback', async () => {
    const resident = accounts.find((a) => a.role === 'resident');
    assert.ok(resident, `demo accounts: ${JSON.stringify(accounts)}`);
    // The first demo organisation's staff account (docs/social_services.md).
    const staff = { username: 'social-1', password: resident.password };

    const phone = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    const staffPhone = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    try {
      // The resident finds the session about to start near home.
      const res = await phone.newPage();
      await signIn(res, server.baseUrl, resident, '/social-services');
      assert.equal(new URL(res.url()).pathname, '/social-services');
      const myName = (await res.locator('.user-name').innerText()).trim();
      const near = res.locator('main ul.so-cards').first().locator('li.so-card');
      assert.ok((await near.count()) > 0, 'sessions near the resident are listed');
      assert.equal(await overflowsSideways(res), false, 'the list fits a phone');
      await screenshot(res, 'social-services-near-phone-zh');
      const card = near.first();
      const title = (await card.locator('a.so-title').innerText()).trim();
      await follow(res, card.locator('a.so-title'));
      const sessionPath = new URL(res.url()).pathname;
      assert.match(sessionPath, /^\/service-sessions\/\d+$/);
      assert.equal((await res.locator('main h1').innerText()).trim(), title);
      const before = seats(await fact(res, '名额'));
      assert.ok(before.taken < before.capacity, 'a place is left');

      // Registering takes one place.
      await res.getByLabel('联系电话').fill('13905910123');
      await follow(res, res.locator('main').getByRole('button', { name: '报名', exact: true }));
      await noError(res);
      assert.equal(new URL(res.url()).pathname, sessionPath);
      assert.equal(await fact(res, '我的报名'), '已报名');
      assert.equal(seats(await fact(res, '名额')).taken, before.taken + 1);
      assert.equal(await res.getByRole('button', { name: '取消报名' }).count(), 1, 'the resident may still cancel');
      assert.equal(await overflowsSideways(res), false, 'the session fits a phone');
      await screenshot(res, 'social-services-registered-phone-zh');

      // The staff member opens the same session from the organisation's page.
      const st = await staffPhone.newPage();
      await signIn(st, server.baseUrl, staff, '/social-services');
      await follow(st, st.locator('main ul.so-list a[href^="/social-orgs/"]').first());
      await follow(st, st.locator(`main a[href="${sessionPath}"]`).first());
      assert.equal(new URL(st.url()).pathname, sessionPath);
      assert.match(await fact(st, '点名码'), /^\d{6}$/, 'staff read out the roll-call code');
      const row = st.locator('ul.so-roll > li', { hasText: myName });
      assert.equal(await row.count(), 1, `the roll lists ${myName}`);
      assert.ok((await row.innerText()).includes('139****0123'), 'staff see the phone masked');
      await follow(st, row.getByRole('button', { name: '签到' }));
      await noError(st);
      const marked = st.locator('ul.so-roll > li', { hasText: myName });
      assert.ok((await marked.innerText()).includes('已签到'));
      assert.equal(await marked.getByRole('button', { name: '签到' }).count(), 0);
      assert.equal(await overflowsSideways(st), false, 'the roll fits a phone');
      await screenshot(st, 'social-services-roll-phone-zh');

      // The resident sees the check-in; feedback waits for the end.
      await res.reload();
      assert.equal(await fact(res, '我的报名'), '已签到');
      assert.equal(await res.getByRole('button', { name: '取消报名' }).count(), 0);
      assert.ok((await res.locator('main .so-later').innerText()).includes('结束后'));
      assert.equal(await res.locator('form[action$="/feedback"]').count(), 0);
      await res.goto(`${server.baseUrl}/social-services`);
      const mine = res.locator('main li.so-mine');
      const mineNow = mine.filter({ has: res.locator(`a[href="${sessionPath}"]`) });
      assert.equal(await mineNow.count(), 1, 'the registration is among mine');
      assert.ok((await mineNow.innerText()).includes('已签到'));

      // A session the resident attended earlier waits for feedback.
      const due = mine.filter({ has: res.locator('.so-todo') });
      assert.ok((await due.count()) > 0, 'an attended session waits for feedback');
      const dueLink = due.first().locator('a.so-title');
      const duePath = await dueLink.getAttribute('href');
      await follow(res, dueLink);
      assert.equal(await fact(res, '我的报名'), '已签到');
      const form = res.locator('form[action$="/feedback"]');
      await form.getByLabel('评分').selectOption('5');
      await form.getByLabel('意见').fill('服务很用心，希望常来小区。');
      await screenshot(res, 'social-services-feedback-phone-zh');
      await follow(res, form.getByRole('button', { name: '提交' }));
      await noError(res);
      assert.equal(new URL(res.url()).pathname, duePath);
      assert.equal(await fact(res, '我的报名'), '已签到 · 评价 5');
      assert.equal(await res.locator('form[action$="/feedback"]').count(), 0, 'feedback is given once');
      await res.goto(`${server.baseUrl}/social-services`);
      const judged = res.locator('main li.so-mine').filter({ has: res.locator(`a[href="${duePath}"]`) });
      assert.ok((await judged.innerText()).includes('评价 5'));
      assert.equal(await judged.locator('.so-todo').count(), 0);

      // The session in English, then back to Chinese (kept on the account).
      await res.goto(`${server.baseUrl}${sessionPath}`);
      await follow(res, res.locator('nav.lang-switch a[href^="/lang/en"]'));
      assert.equal(await fact(res, 'My registrations'), 'Checked in');
      assert.ok((await res.locator('main .so-later').innerText()).includes('once the session is over'));
      assert.equal(await overflowsSideways(res), false, 'the English page fits a phone');
      await screenshot(res, 'social-services-session-phone-en');
      await follow(res, res.locator('nav.lang-switch a[hreflang="zh-CN"]'));
      assert.equal(await res.locator('html').getAttribute('lang'), 'zh-CN');
    } finally {
      await phone.close();
      await staffPhone.close();
    }
  });

  test('staff cancel a session with a reason and the registered resident is told', async () => {
    const resident = accounts.find((a) => a.role === 'resident');
    const staff = { username: 'social-1', password: resident.password };
    const phone = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    const staffPhone = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    try {
      // The resident registers for a later session of the first organisation.
      const res = await phone.newPage();
      await signIn(res, server.baseUrl, resident, '/social-services');
      const open = res.locator('main ul.so-cards').first().locator('li.so-card')
        .filter({ hasText: '仓山区阳光社会工作服务中心' });
      const later = open.nth(1);
      const sessionPath = await later.locator('a.so-title').getAttribute('href');
      await follow(res, later.locator('a.so-title'));
      await follow(res, res.locator('main').getByRole('button', { name: '报名', exact: true }));
      await noError(res);
      assert.equal(await fact(res, '我的报名'), '已报名');

      // The staff member cancels it on the session page, confirming.
      const st = await staffPhone.newPage();
      await signIn(st, server.baseUrl, staff, sessionPath);
      assert.equal(new URL(st.url()).pathname, sessionPath);
      const cancel = st.locator('details#cancel-session');
      await cancel.locator('summary').click();
      const reason = '台风预警，本周活动暂停，顺延一周。';
      await cancel.getByLabel('取消原因').fill(reason);
      const confirm = cancel.getByRole('checkbox');
      assert.match(await confirm.locator('xpath=..').innerText(), /通知已报名的 \d+ 人/);
      // Not confirmed: the browser holds the form back.
      await cancel.getByRole('button', { name: '确认取消场次' }).click();
      assert.equal(new URL(st.url()).pathname, sessionPath);
      assert.equal(await st.locator('details#cancel-session').count(), 1, 'nothing was cancelled');
      await confirm.check();
      await screenshot(st, 'social-services-cancel-phone-zh');
      await follow(st, cancel.getByRole('button', { name: '确认取消场次' }));
      await noError(st);
      assert.ok((await fact(st, '时间')).includes('场次已取消'));
      assert.equal(await fact(st, '取消原因'), reason);
      assert.equal(await st.locator('details#cancel-session').count(), 0, 'cancelled once');
      assert.equal(await st.getByRole('button', { name: '签到' }).count(), 0);

      // The resident is told in the inbox and follows it to the session.
      await res.goto(`${server.baseUrl}/notifications`);
      const note = res.locator('li.notification', { hasText: '您报名的服务场次已取消' }).first();
      assert.ok((await note.innerText()).includes(reason));
      await follow(res, note.locator(`a[href="${sessionPath}"]`));
      assert.ok((await fact(res, '时间')).includes('场次已取消'));
      assert.equal(await fact(res, '取消原因'), reason);
      assert.equal(await res.getByRole('button', { name: '取消报名' }).count(), 0);
      assert.equal(await overflowsSideways(res), false, 'the cancelled session fits a phone');
      await screenshot(res, 'social-services-cancelled-phone-zh');
    } finally {
      await phone.close();
      await staffPhone.close();
    }
  });
});
