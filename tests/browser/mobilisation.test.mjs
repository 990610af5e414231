// Mobilisation through the micro-grids: the sample compound's party
// secretary sends an urgent notice on a desktop and keeps the page open; a
// resident acknowledges on a phone; the grid's community worker follows up
// the households on a phone, page by page, until every one is reached; the
// secretary's open page reaches 100.0% by itself, without a reload.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { demoAccounts, overflowsSideways, signIn } from './lib/demo.mjs';
import { launchBrowser, screenshot, startServer } from './lib/server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 900 } };

async function submit(page, locator) {
  await Promise.all([page.waitForLoadState('load'), locator.click()]);
}

describe('mobilisation through the micro-grids', () => {
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

  test('a notice reaches every household of a compound and the sender sees it live', async () => {
    const secretary = accounts.find((a) => a.role === 'compound_secretary');
    const worker = accounts.find((a) => a.role === 'community_worker');
    const resident = accounts.find((a) => a.role === 'resident');
    assert.ok(secretary && worker && resident, `demo accounts: ${JSON.stringify(accounts)}`);
    const desk = await browser.newContext({ ...DESKTOP, locale: 'zh-CN' });
    const phone = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    const phone2 = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    try {
      // The secretary sends the notice to the compound.
      const sec = await desk.newPage();
      await signIn(sec, server.baseUrl, secretary, '/mobilisations');
      const form = sec.locator('form[action="/mobilisations"]');
      if (!(await form.isVisible())) await sec.locator('details.mb-send summary').click();
      await form.getByLabel('标题').fill('停水紧急通知');
      await form.getByLabel('通知内容').fill('今晚 22 点至明早 6 点停水，请提前储水。');
      await submit(sec, form.getByRole('button', { name: '发出动员' }));
      assert.match(new URL(sec.url()).pathname, /^\/mobilisations\/\d+$/);
      const url = new URL(sec.url()).pathname;
      const live = sec.locator('#mb-live');
      assert.equal((await live.locator('[data-testid="coverage"]').innerText()).trim(), '0.0%');
      await screenshot(sec, 'mobilisation-sent-desktop-zh');

      // A resident acknowledges on a phone.
      const res = await phone.newPage();
      await signIn(res, server.baseUrl, resident, '/mobilisations');
      await submit(res, res.locator('main a', { hasText: '停水紧急通知' }).first());
      assert.ok((await res.locator('main').innerText()).includes('请提前储水'));
      await submit(res, res.getByRole('button', { name: '我已知悉' }));
      assert.ok((await res.locator('main .mb-own').innerText()).includes('本人在线确认'));
      assert.equal(await overflowsSideways(res), false, 'the notice fits a phone');

      // The grid worker follows up every grid of theirs, page by page.
      const wk = await phone2.newPage();
      await signIn(wk, server.baseUrl, worker, url);
      // Their grids, and every grid of the compound they govern.
      const hrefs = await wk
        .locator('main a[href^="/mobilisation-units/"]')
        .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      const grids = [...new Set(hrefs)];
      assert.ok(grids.length > 0, 'the worker follows the compound\'s grids');
      for (const [i, href] of grids.entries()) {
        await wk.goto(`${server.baseUrl}${href}`);
        assert.equal(await overflowsSideways(wk), false, 'the households fit a phone');
        if (i === 0) {
          // Two households ticked by hand, reached by phone.
          const boxes = wk.locator('form.mb-mark input[name="dwelling_id"]');
          if ((await boxes.count()) >= 2) {
            await boxes.nth(0).check();
            await boxes.nth(1).check();
            await wk.locator('form.mb-mark select[name="method"]').selectOption('phone');
            await submit(wk, wk.locator('form.mb-mark').getByRole('button', { name: '标记为已送达' }));
            assert.match(await wk.locator('main .notice').first().innerText(), /已标记 2 户/);
          }
          await screenshot(wk, 'mobilisation-grid-phone-zh');
        }
        // Then whole pages at once until none is left.
        for (let round = 0; round < 100; round += 1) {
          const all = wk.locator('form.mb-mark-all button');
          if ((await all.count()) === 0) break;
          await wk.locator('form.mb-mark-all select[name="method"]').selectOption('door');
          await submit(wk, all);
        }
        await wk.goto(`${server.baseUrl}${href}`);
        assert.equal(await wk.locator('[data-testid="all-reached"]').count(), 1, `${href}: every household reached`);
      }

      // The secretary's page, never reloaded, shows full coverage.
      assert.equal(new URL(sec.url()).pathname, url);
      await live.locator('[data-testid="coverage"]', { hasText: '100.0%' }).waitFor({ timeout: 15000 });
      await sec.locator('#mb-live [data-testid="full-in"]').waitFor();
      assert.equal(await sec.locator('#mb-live[hx-trigger]').count(), 0, 'polling stops at full coverage');
      await screenshot(sec, 'mobilisation-full-desktop-zh');

      // The same page in English.
      await desk.addCookies([{ name: 'jinlin_lang', value: 'en', url: server.baseUrl }]);
      await sec.reload();
      assert.ok((await sec.locator('main').innerText()).includes('Time to full coverage'));
    } finally {
      await desk.close();
      await phone.close();
      await phone2.close();
    }
  });
});
