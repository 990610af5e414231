// An agency's two-dimensional responsibility, from the agency admin's phone:
// the admin states the agency's preferences in the street's open two-way
// selection round, the street admin solves the round on a desktop, the admin
// finds the new pairing on the agency's page, sets a party-building project
// for a paired compound's stated need, and reads the service records of the
// agency's in-service party members; then the same page in English.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { demoAccounts, overflowsSideways, signIn } from './lib/demo.mjs';
import { launchBrowser, screenshot, startServer } from './lib/server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 900 } };

async function submit(page, name) {
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name }).click()]);
}

describe('agencies paired with compounds', () => {
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

  test('an agency admin pairs through a round, sets a project and sees its members\' service', async () => {
    const admin = accounts.find((a) => a.role === 'agency_admin');
    const street = accounts.find((a) => a.role === 'street_admin');
    assert.ok(admin && street, `demo accounts: ${JSON.stringify(accounts)}`);
    const phone = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    const desk = await browser.newContext({ ...DESKTOP, locale: 'zh-CN' });
    try {
      // The agency admin opens the street's round from the agencies page.
      const ag = await phone.newPage();
      await signIn(ag, server.baseUrl, admin, '/agencies');
      const round = ag.locator('main .ag-cards a[href^="/selection-rounds/"]').first();
      await Promise.all([ag.waitForLoadState('load'), round.click()]);
      const roundUrl = new URL(ag.url()).pathname;
      assert.match(roundUrl, /^\/selection-rounds\/\d+$/);
      assert.equal(await overflowsSideways(ag), false, 'the round fits a phone');

      // The form for the admin's own agency: offer one compound, ranking
      // every compound of the round (ids as listed under the form).
      const form = ag.locator('form[action*="/agencies/"]');
      assert.equal(await form.count(), 1, 'the admin states preferences for one agency');
      const agencyId = Number((await form.getAttribute('action')).split('/').pop());
      const listed = await form.locator('xpath=ancestor::section').locator('.ag-choices li').allInnerTexts();
      const ids = listed.map((t) => t.split('·')[0].trim()).filter((t) => /^\d+$/.test(t));
      assert.ok(ids.length > 0, 'the round lists its compounds');
      await form.getByLabel('可联系小区数').fill('1');
      await form.locator('input[name="ranks"]').fill(ids.slice(0, 10).join(', '));
      await submit(ag, '提交意向');
      const agencyName = (await ag.locator('main section.ag-form h2').first().innerText()).trim();
      assert.ok((await ag.locator('main').innerText()).includes(agencyName));
      await screenshot(ag, 'agencies-round-phone-zh');

      // The street admin solves the round.
      const st = await desk.newPage();
      await signIn(st, server.baseUrl, street, roundUrl);
      await submit(st, '进行匹配');
      assert.ok((await st.locator('.ag-facts .ag-state').innerText()).includes('已匹配'));
      await screenshot(st, 'agencies-round-solved-desktop-zh');

      // The agency's page shows a pairing made by the round.
      await ag.goto(`${server.baseUrl}/agencies/${agencyId}`);
      assert.ok((await ag.locator('main').innerText()).includes('双向选择'), 'a two-way pairing is listed');
      assert.equal(await overflowsSideways(ag), false, 'the agency page fits a phone');

      // A party-building project for a paired compound's stated need.
      await ag.goto(`${server.baseUrl}/projects`);
      const details = ag.locator('details.pj-form').first();
      if (!(await details.getAttribute('open'))) await details.locator('summary').click();
      const title = `楼道适老化改造 ${Date.now() % 100000}`;
      await details.locator('select[name="choice"]').selectOption({ index: 0 });
      await details.getByLabel('项目名称').fill(title);
      await details.getByLabel('项目计划').fill('为楼道加装扶手和感应灯，分三期实施。');
      await submit(ag, '提交街道审核');
      assert.match(new URL(ag.url()).pathname, /^\/projects\/\d+$/);
      assert.equal((await ag.locator('main h1').innerText()).trim(), title);
      assert.equal((await ag.locator('main .pj-state').first().innerText()).trim(), '待街道审核');
      assert.equal(await overflowsSideways(ag), false, 'the project fits a phone');
      await screenshot(ag, 'agencies-project-phone-zh');

      // The employer's view of its in-service party members' service.
      await ag.goto(`${server.baseUrl}/agencies/${agencyId}/in-service`);
      const members = ag.locator('main .is-member');
      assert.ok((await members.count()) > 0, 'the agency sees its members');
      assert.ok((await ag.locator('main').innerText()).includes('累计服务时长'));
      assert.equal(await overflowsSideways(ag), false, 'the members fit a phone');
      await screenshot(ag, 'agencies-members-phone-zh');

      // The same page in English, then back to Chinese: the language is
      // kept on the account and the demo database may be shared.
      await Promise.all([ag.waitForLoadState('load'), ag.locator('nav.lang-switch a[href^="/lang/en"]').click()]);
      assert.ok((await ag.locator('main').innerText()).includes('Hours served'));
      await Promise.all([ag.waitForLoadState('load'), ag.locator('nav.lang-switch a[hreflang="zh-CN"]').click()]);
      assert.equal(await ag.locator('html').getAttribute('lang'), 'zh-CN');
    } finally {
      await phone.close();
      await desk.close();
    }
  });
});
