// A person's data on request (PIPL art. 45 and 47): the district admin opens
// a demo resident's dwelling, follows the owner's name to their personal
// data, downloads the JSON export, erases the person's data with a reason,
// and sees the person anonymised on the data page and in the registry; the
// resident's own account can no longer sign in.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { demoAccounts, overflowsSideways, signIn } from './lib/demo.mjs';
import { launchBrowser, screenshot, startServer } from './lib/server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

async function follow(page, locator) {
  await Promise.all([page.waitForLoadState('load'), locator.click()]);
}

describe('personal data export and erasure', () => {
  let server;
  let browser;
  let accounts;

  before(async () => {
    // Erasing the demo resident would sign them out of the other files' tests.
    server = await startServer({ ownDatabase: true });
    browser = await launchBrowser();
    accounts = demoAccounts(server.output().stdout);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('an official exports a person, erases them with a reason and sees them anonymised', async () => {
    const admin = accounts.find((a) => a.role === 'district_admin');
    const resident = accounts.find((a) => a.role === 'resident');
    assert.ok(admin && resident, `demo accounts: ${JSON.stringify(accounts)}`);
    // resident-<dwelling id>: the account's own dwelling.
    const dwelling = resident.username.replace(/^resident-/, '');
    assert.match(dwelling, /^\d+$/);

    // The resident reads their own data first.
    const own = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    let ownName;
    try {
      const page = await own.newPage();
      await signIn(page, server.baseUrl, resident, '/account/my-data');
      assert.equal(new URL(page.url()).pathname, '/account/my-data');
      assert.equal((await page.locator('main h1').innerText()).trim(), '我的个人信息');
      const facts = page.locator('#privacy-particulars');
      ownName = (await facts.locator('div', { hasText: '姓名' }).locator('dd').innerText()).trim();
      assert.ok(ownName.length >= 2, `the resident's name: ${ownName}`);
      assert.equal(await page.locator('#privacy-erase').count(), 0, 'no erasure of oneself');
      assert.equal(await overflowsSideways(page), false, 'the page fits a phone');
      await screenshot(page, 'privacy-own-phone-zh');
    } finally {
      await own.close();
    }

    const phone = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    try {
      const page = await phone.newPage();
      await signIn(page, server.baseUrl, admin, `/places/${dwelling}`);
      assert.equal(new URL(page.url()).pathname, `/places/${dwelling}`);
      const owner = page.locator('main ul.people a[href^="/people/"]', { hasText: ownName });
      assert.equal(await owner.count(), 1, `the dwelling lists ${ownName} with a link`);
      await follow(page, owner);
      const dataPath = new URL(page.url()).pathname;
      assert.match(dataPath, /^\/people\/\d+\/data$/);
      const personId = dataPath.split('/')[2];
      const facts = page.locator('#privacy-particulars');
      assert.ok((await facts.innerText()).includes(ownName));
      assert.ok((await page.locator('main').innerText()).includes('拥有的房屋'), 'the records are listed');
      assert.equal(await overflowsSideways(page), false, 'the data page fits a phone');
      await screenshot(page, 'privacy-person-phone-zh');

      // The JSON export, with the session's cookie.
      const href = await page.locator('#privacy-json').getAttribute('href');
      assert.equal(href, `/api/v1/people/${personId}/export`);
      const exported = await page.request.get(`${server.baseUrl}${href}`);
      assert.equal(exported.status(), 200);
      const json = await exported.json();
      assert.equal(json.person.name, ownName);
      assert.ok(json.sections.find((s) => s.key === 'owned').rows.length >= 1);
      assert.ok(json.sections.find((s) => s.key === 'accounts').rows.length >= 1);

      // A reason is required: the browser holds the form back without one.
      const form = page.locator('#privacy-erase');
      await form.getByLabel('我确认已收到本人申请').check();
      await form.getByRole('button', { name: '删除个人信息' }).click();
      assert.equal(new URL(page.url()).pathname, dataPath, 'not sent without a reason');
      assert.equal(await form.getByLabel('理由').evaluate((el) => el.validity.valueMissing), true);

      await form.getByLabel('理由').fill(`${ownName}本人于今日书面申请删除个人信息`);
      await follow(page, form.getByRole('button', { name: '删除个人信息' }));
      assert.equal(new URL(page.url()).pathname, dataPath);
      const erased = page.locator('#privacy-erased');
      assert.equal(await erased.count(), 1, 'the erasure is recorded on the page');
      const erasedText = await erased.innerText();
      assert.ok(erasedText.includes('本人于今日书面申请删除个人信息'));
      assert.ok(!erasedText.includes(ownName), 'the reason lost the name');
      const label = `已删除 #${personId}`;
      const afterFacts = await page.locator('#privacy-particulars').innerText();
      assert.ok(afterFacts.includes(label), afterFacts);
      assert.ok(!(await page.locator('main').innerText()).includes(ownName), 'the name is gone');
      assert.equal(await page.locator('#privacy-erase').count(), 0, 'no second erasure');
      await screenshot(page, 'privacy-erased-phone-zh');

      // The registry shows the anonymised owner, the dwelling still owned.
      await page.goto(`${server.baseUrl}/places/${dwelling}`);
      const people = await page.locator('main ul.people').first().innerText();
      assert.ok(people.includes(label), people);
      assert.ok(!people.includes(ownName), people);

      // The same page in English.
      await page.goto(`${server.baseUrl}${dataPath}`);
      await follow(page, page.locator('nav.lang-switch a[href^="/lang/en"]'));
      const main = await page.locator('main').innerText();
      assert.ok(main.includes('Personal data erased') && main.includes('Particulars'), 'the page in English');
      await follow(page, page.locator('nav.lang-switch a[hreflang="zh-CN"]'));
    } finally {
      await phone.close();
    }

    // The resident's account is disabled.
    const again = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    try {
      const page = await again.newPage();
      await signIn(page, server.baseUrl, resident, '/account/my-data');
      assert.equal(new URL(page.url()).pathname, '/login', 'the erased account cannot sign in');
    } finally {
      await again.close();
    }
  });
});
