// The cockpit on the demo district: the district admin opens it, reads the
// figures, ranks the streets by a figure, and drills down from the district
// to a street, a community and a compound, on a desktop with the chart and
// on a phone; then the wall display, the printed page and the page in English.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { demoAccounts, overflowsSideways, signIn } from './lib/demo.mjs';
import { launchBrowser, screenshot, startServer } from './lib/server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 900 } };

async function follow(page, locator) {
  await Promise.all([page.waitForLoadState('load'), locator.click()]);
}

/** The figure cards as { key: value shown }. */
async function cards(page) {
  const out = {};
  for (const card of await page.locator('main .ck-card').all()) {
    out[await card.getAttribute('data-figure')] = (await card.locator('.ck-value').innerText()).trim();
  }
  return out;
}

describe('the cockpit', () => {
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

  for (const [name, device] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    test(`a district admin drills from the district to a compound on a ${name}`, async () => {
      const admin = accounts.find((a) => a.role === 'district_admin');
      assert.ok(admin, `demo accounts: ${JSON.stringify(accounts)}`);
      const ctx = await browser.newContext({ ...device, locale: 'zh-CN' });
      try {
        const page = await ctx.newPage();
        await signIn(page, server.baseUrl, admin, '/cockpit');
        assert.equal(new URL(page.url()).pathname, '/cockpit');
        assert.match(await page.locator('main h1').innerText(), /仓山区 · 近邻党建驾驶舱/);
        const district = await cards(page);
        assert.ok(Number(district.compounds) > 0, `compounds: ${JSON.stringify(district)}`);
        assert.match(district.party_org_coverage, /^\d+\.\d%$/);
        assert.ok(Number(district.matters_raised) > 0, 'the demo has residents\' matters');
        // The streets ranked, with a chart.
        const rows = page.locator('main .ck-table tbody tr');
        assert.ok((await rows.count()) >= 10, 'the district\'s streets are listed');
        await page.locator('#ck-chart svg').first().waitFor();
        assert.equal(await overflowsSideways(page), false, 'the district fits the screen');
        await screenshot(page, `cockpit-district-${name}-zh`);

        // Rank the streets by matters raised: greatest first.
        await page.locator('select[name="figure"]').selectOption('matters_raised');
        await follow(page, page.getByRole('button', { name: '排名', exact: true }));
        assert.equal(new URL(page.url()).searchParams.get('figure'), 'matters_raised');
        const values = (await page.locator('main .ck-table tbody td.num:not(.ck-fraction-col)').allInnerTexts())
          .map((v) => Number(v));
        assert.deepEqual(values, [...values].sort((a, b) => b - a), 'ranked greatest first');
        assert.equal(await page.locator('main .ck-table tbody tr td').first().innerText(), '1');

        // Down to the first street, its first community, its first compound.
        const path = [];
        for (const level of ['street', 'community', 'compound']) {
          const link = page.locator('main .ck-table tbody a').first();
          const label = (await link.innerText()).trim();
          await follow(page, link);
          assert.match(new URL(page.url()).pathname, /^\/cockpit\/\d+$/, level);
          assert.ok((await page.locator('main h1').innerText()).startsWith(label), `${level} ${label}`);
          path.push(label);
          const figures = await cards(page);
          assert.ok(figures.compounds !== undefined && figures.matters_raised !== undefined, level);
          assert.equal(await overflowsSideways(page), false, `the ${level} fits the screen`);
        }
        // A compound: one compound, no children, the way back up.
        assert.equal((await cards(page)).compounds, '1');
        assert.equal(await page.locator('main .ck-table').count(), 0);
        const trail = await page.locator('main .ck-trail').innerText();
        for (const p of ['仓山区', ...path]) assert.ok(trail.includes(p), `trail holds ${p}: ${trail}`);
        await screenshot(page, `cockpit-compound-${name}-zh`);
      } finally {
        await ctx.close();
      }
    });
  }

  test('the wall display and the cockpit in English', async () => {
    const admin = accounts.find((a) => a.role === 'district_admin');
    const ctx = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
    try {
      const page = await ctx.newPage();
      await signIn(page, server.baseUrl, admin, '/cockpit?wall=1');
      assert.equal(await page.locator('header.site-header').count(), 0, 'no site header on the wall');
      assert.equal(await page.locator('body.ck-wall-body').count(), 1);
      await page.locator('#ck-chart svg').first().waitFor();
      await screenshot(page, 'cockpit-wall-zh');
      await follow(page, page.locator('main .ck-actions a'));
      assert.equal(await page.locator('header.site-header').count(), 1, 'back to the site');
      // Printed: no navigation or controls, the cards and the table stay.
      await page.emulateMedia({ media: 'print' });
      assert.equal(await page.locator('header.site-header').isVisible(), false, 'no header on paper');
      assert.equal(await page.locator('form.ck-choose').isVisible(), false, 'no controls on paper');
      assert.equal(await page.locator('main .ck-table').isVisible(), true, 'the ranking is printed');
      await page.emulateMedia({ media: 'screen' });
      await follow(page, page.locator('nav.lang-switch a[href^="/lang/en"]'));
      assert.match(await page.locator('main h1').innerText(), /Neighbourhood party-building cockpit/);
      assert.ok((await page.locator('main').innerText()).includes('Compounds with a party organisation'));
      await screenshot(page, 'cockpit-district-desktop-en');
      await follow(page, page.locator('nav.lang-switch a[hreflang="zh-CN"]'));
      assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
    } finally {
      await ctx.close();
    }
  });
});
