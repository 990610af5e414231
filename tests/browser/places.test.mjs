// A compound party secretary signs in, browses from their compound down to a
// dwelling, and cannot open a dwelling of another compound.
//
// Accounts come from the demo data set, which `serve --demo` prints as
// "demo accounts (role, username, password):" — one line each, the role code
// first (e.g. compound_secretary, district_admin).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { demoAccounts, signIn } from './lib/demo.mjs';
import { launchBrowser, screenshot, startServer } from './lib/server.mjs';

/** Follows the first link of the children table. */
async function openFirstChild(page) {
  const link = page.locator('main table tbody a').first();
  const name = (await link.innerText()).trim();
  await Promise.all([page.waitForLoadState('load'), link.click()]);
  return name;
}

describe('browsing the place tree', () => {
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

  test('a compound secretary browses to a dwelling and is refused another compound', async () => {
    const secretary = accounts.find((a) => a.role === 'compound_secretary');
    const admin = accounts.find((a) => a.role === 'district_admin');
    assert.ok(secretary && admin, `demo accounts: ${JSON.stringify(accounts)}`);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
    try {
      const page = await context.newPage();
      await signIn(page, server.baseUrl, secretary);
      assert.equal(new URL(page.url()).pathname, '/places');

      // My places → the compound → a building → an entrance → a dwelling.
      const anchor = page.locator('main .anchor-list a').first();
      const compoundName = (await anchor.innerText()).trim();
      await Promise.all([page.waitForLoadState('load'), anchor.click()]);
      assert.equal((await page.locator('h1').innerText()).trim(), compoundName);
      const compoundId = Number(new URL(page.url()).pathname.split('/').pop());
      await openFirstChild(page); // building
      await openFirstChild(page); // entrance
      const dwelling = await openFirstChild(page);
      assert.equal((await page.locator('h1').innerText()).trim(), dwelling);
      assert.equal((await page.locator('.kind-badge').first().innerText()).trim(), '户');
      const crumbs = await page.locator('nav.breadcrumbs').innerText();
      assert.ok(crumbs.includes(compoundName), `breadcrumbs name the compound: ${crumbs}`);
      assert.equal(await page.locator('#owners-h').count(), 1, 'the dwelling shows its owners');
      await screenshot(page, 'places-dwelling-desktop-zh');

      // A dwelling of a neighbouring compound, found by the district admin.
      const api = await browser.newContext();
      const login = await api.request.post(`${server.baseUrl}/api/v1/session`, {
        data: { username: admin.username, password: admin.password },
      });
      assert.equal(login.status(), 200);
      const get = async (path) => {
        const res = await api.request.get(`${server.baseUrl}/api/v1${path}`);
        assert.equal(res.status(), 200, path);
        return res.json();
      };
      const compound = await get(`/places/${compoundId}`);
      const community = compound.ancestors.at(-1);
      const siblings = await get(`/places/${community.id}/children`);
      const other = siblings.items.find((c) => c.id !== compoundId && c.kind === 'compound');
      assert.ok(other, 'the community has another compound');
      const building = (await get(`/places/${other.id}/children`)).items[0];
      const entrance = (await get(`/places/${building.id}/children`)).items[0];
      const foreign = (await get(`/places/${entrance.id}/children`)).items[0];
      await api.close();

      const res = await page.goto(`${server.baseUrl}/places/${foreign.id}`);
      assert.equal(res?.status(), 404);
      const text = await page.locator('main').innerText();
      assert.ok(!text.includes(other.name), 'the refusal names nothing of the other compound');
      await screenshot(page, 'places-refused-desktop-zh');
    } finally {
      await context.close();
    }
  });

  test('on a phone, a place page fits the screen', async () => {
    const secretary = accounts.find((a) => a.role === 'compound_secretary');
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN',
    });
    try {
      const page = await context.newPage();
      await signIn(page, server.baseUrl, secretary);
      const anchor = page.locator('main .anchor-list a').first();
      await Promise.all([page.waitForLoadState('load'), anchor.click()]);
      const overflows = await page.evaluate(
        () => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1,
      );
      assert.equal(overflows, false, 'no sideways scrolling on a phone');
      await screenshot(page, 'places-compound-phone-zh');
    } finally {
      await context.close();
    }
  });
});
