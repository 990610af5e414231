// One compound matter from a resident's proposal to the published result of
// the owners' vote: the resident proposes on the board, the compound party
// secretary takes it through motion and consult and opens the vote, the
// resident votes on a phone, the secretary closes the vote, and the resident
// reads the result in Chinese and in English.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { demoAccounts, overflowsSideways, signIn } from './lib/demo.mjs';
import { launchBrowser, screenshot, startServer } from './lib/server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/** A `datetime-local` value in China Standard Time, `ms` from now. */
function chinaTime(ms) {
  return new Date(Date.now() + ms + 8 * 3600_000).toISOString().slice(0, 19);
}

async function submit(page, name) {
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name }).click()]);
}

describe('the five deliberations', () => {
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

  test('a proposal goes to an owners\' vote and its result is published', async () => {
    const secretary = accounts.find((a) => a.role === 'compound_secretary');
    const resident = accounts.find((a) => a.role === 'resident');
    assert.ok(secretary && resident, `demo accounts: ${JSON.stringify(accounts)}`);
    const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
    const phone = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    try {
      // The secretary's compound, and its board.
      const sec = await desk.newPage();
      await signIn(sec, server.baseUrl, secretary);
      const anchor = sec.locator('main .anchor-list a').first();
      await Promise.all([sec.waitForLoadState('load'), anchor.click()]);
      await Promise.all([sec.waitForLoadState('load'), sec.getByRole('link', { name: '公示栏' }).click()]);
      const boardUrl = sec.url();
      assert.match(new URL(boardUrl).pathname, /^\/places\/\d+\/board$/);

      // The resident proposes, on a phone.
      const res = await phone.newPage();
      await signIn(res, server.baseUrl, resident, new URL(boardUrl).pathname);
      const title = `楼道照明改造 ${Date.now() % 100000}`;
      await res.getByLabel('标题').fill(title);
      await res.getByLabel('内容和理由').fill('楼道灯常坏，建议统一更换为声控节能灯。');
      await submit(res, '提交提议');
      const matterUrl = res.url();
      assert.match(new URL(matterUrl).pathname, /^\/matters\/\d+$/);
      assert.equal((await res.locator('h1').innerText()).trim(), title);
      assert.equal((await res.locator('.progress li[aria-current="step"]').innerText()).trim(), '提议');
      assert.equal(await overflowsSideways(res), false, 'the matter page fits a phone');
      await screenshot(res, 'deliberation-proposed-phone-zh');

      // The party organisation: motion, with the plan an owners' joint decision.
      await sec.goto(matterUrl);
      await sec.getByLabel('动议说明').fill('居民反映集中，党支部受理。');
      await submit(sec, '完成本步，进入下一步');
      await sec.getByLabel('方案').fill('全小区楼道更换声控节能灯，费用由公共收益列支。');
      await sec.getByLabel('业主共同决定事项').selectOption('9');
      await submit(sec, '完成本步，进入下一步');
      assert.equal((await sec.locator('.progress li[aria-current="step"]').innerText()).trim(), '商议');

      // Consult: the joint meeting, with someone of every party the compound has.
      await sec.getByLabel('联席会议时间').fill(chinaTime(-3600_000).slice(0, 16));
      for (const field of await sec.locator('input[name^="att_"]').all()) {
        await field.fill('参会代表');
      }
      await sec.getByLabel('会议纪要').fill('各方同意方案，提交公议并由业主表决。');
      await submit(sec, '完成本步，进入下一步');
      assert.equal((await sec.locator('.progress li[aria-current="step"]').innerText()).trim(), '公议');

      // The vote opens, closing shortly.
      const closesInMs = 20_000;
      const closesAt = Date.now() + closesInMs;
      await sec.getByLabel('表决截止时间').fill(chinaTime(closesInMs));
      await submit(sec, '发起业主表决');
      assert.ok((await sec.locator('.vote').innerText()).includes('表决名册'));

      // The resident votes on the phone.
      await res.goto(matterUrl);
      await res.getByLabel('赞成').check();
      const unit = res.locator('select[name="unit_id"]');
      if (await unit.count()) await unit.selectOption({ index: 0 });
      await submit(res, '投票');
      assert.ok((await res.locator('.receipt').first().innerText()).includes('您的选票：赞成'));
      await screenshot(res, 'deliberation-voted-phone-zh');

      // The secretary sees participation (never ballots) and closes when due.
      await sec.goto(matterUrl);
      assert.ok((await sec.locator('.vote').innerText()).includes('当前参与情况'));
      await sleep(Math.max(0, closesAt - Date.now() + 1500));
      await submit(sec, '结束表决并公布结果');
      const outcome = (await sec.locator('[data-outcome]').innerText()).trim();
      assert.ok(['表决通过', '未通过：参与表决的业主不足', '未通过：同意票不足'].includes(outcome), outcome);
      await screenshot(sec, 'deliberation-result-desktop-zh');

      // Every resident reads the published result, with its four figures.
      await res.goto(matterUrl);
      assert.equal((await res.locator('[data-outcome]').innerText()).trim(), outcome);
      assert.equal(await res.locator('table.checks').first().locator('tbody tr').count(), 4);
      assert.equal(await overflowsSideways(res), false, 'the result fits a phone');
      // The same page in English, switched from the page itself.
      await Promise.all([res.waitForLoadState('load'), res.locator('nav.lang-switch a[href^="/lang/en"]').click()]);
      assert.equal(new URL(res.url()).pathname, new URL(matterUrl).pathname);
      const english = (await res.locator('[data-outcome]').innerText()).trim();
      assert.ok(english.startsWith('Passed') || english.startsWith('Not passed'), english);
      await screenshot(res, 'deliberation-result-phone-en');
      // Back to Chinese: the choice is kept on the account, and the demo
      // database may be shared with the tests that follow.
      await Promise.all([res.waitForLoadState('load'), res.locator('nav.lang-switch a[hreflang="zh-CN"]').click()]);
      assert.equal(await res.locator('html').getAttribute('lang'), 'zh-CN');
    } finally {
      await desk.close();
      await phone.close();
    }
  });
});
