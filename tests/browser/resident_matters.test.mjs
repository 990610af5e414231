// One residents' matter from a phone to its rating: the resident raises it
// with a photo, the community worker (who receives every resident's matter
// first) finds it in the work queue and dispatches it to the compound's party
// organisation, the compound party secretary accepts it and replies, and the
// resident reads the reply on the phone, rates it satisfied and sees it closed
// with its whole timeline, then in English.

import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { demoAccounts, overflowsSideways, signIn } from './lib/demo.mjs';
import { launchBrowser, screenshot, startServer } from './lib/server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 900 } };

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A small valid PNG (a 16×16 orange square), as a phone camera would never make it. */
function smallPng(size = 16) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array(size).fill([0xe8, 0x7a, 0x1e]).flat())]);
  const pixels = Buffer.concat(Array(size).fill(row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(pixels)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function follow(page, locator) {
  await Promise.all([page.waitForLoadState('load'), locator.click()]);
}

/** The state shown among a matter's facts. */
async function stateOf(page) {
  return (await page.locator('.rm-facts .rm-state').innerText()).trim();
}

/** A fact of the matter by its label (承办, 办理时限, 评价…). */
async function fact(page, label) {
  return (await page.locator('.rm-facts dt', { hasText: label }).locator('xpath=following-sibling::dd[1]').innerText()).trim();
}

/** The actions of the timeline, in order. */
async function timeline(page) {
  return (await page.locator('ol.rm-timeline > li > strong').allInnerTexts()).map((t) => t.trim());
}

/** Opens the step form for `action` (its <details>) and returns it. */
async function openStep(page, action) {
  const step = page.locator('section.rm-actions details').filter({
    has: page.locator(`input[name="action"][value="${action}"]`),
  });
  assert.equal(await step.count(), 1, `the page offers the step ${action}`);
  await step.locator('summary').click();
  return step;
}

/** Submits a step form and checks it went through (no error shown). */
async function submitStep(page, step) {
  await follow(page, step.locator('button[type="submit"]'));
  const errors = page.locator('main .form-error');
  assert.equal(await errors.count(), 0, `the step was refused: ${await errors.allInnerTexts()}`);
}

describe("residents' matters", () => {
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

  test('a resident raises a matter on a phone; it is dispatched, handled, replied to, rated and closed', async () => {
    const resident = accounts.find((a) => a.role === 'resident');
    const worker = accounts.find((a) => a.role === 'community_worker');
    const secretary = accounts.find((a) => a.role === 'compound_secretary');
    assert.ok(resident && worker && secretary, `demo accounts: ${JSON.stringify(accounts)}`);

    const phone = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    const desk = await browser.newContext({ ...DESKTOP, locale: 'zh-CN' });
    const deskSecretary = await browser.newContext({ ...DESKTOP, locale: 'zh-CN' });
    try {
      // The resident raises the matter from their list, with a photo.
      const res = await phone.newPage();
      await signIn(res, server.baseUrl, resident, '/resident-matters');
      assert.equal(new URL(res.url()).pathname, '/resident-matters');
      assert.equal(await res.locator('a[href="/resident-matters/queue"]').count(), 0, 'a resident has no work queue');
      await follow(res, res.locator('main').getByRole('link', { name: '我要反映' }));
      assert.equal(new URL(res.url()).pathname, '/resident-matters/new');
      assert.equal(await overflowsSideways(res), false, 'the form fits a phone');

      const title = `单元门口路灯不亮 ${Date.now() % 100000}`;
      const description = '3号楼1单元门口的路灯坏了一周，晚上进出看不清台阶。';
      await res.getByLabel('类别', { exact: true }).selectOption({ label: '公共设施维修' });
      assert.ok((await res.locator('#rm-place option').count()) > 0, 'the resident may raise at their home');
      await res.getByLabel('标题', { exact: true }).fill(title);
      await res.getByLabel('描述', { exact: true }).fill(description);
      await res.getByLabel('照片', { exact: true }).setInputFiles({
        name: 'lamp.png', mimeType: 'image/png', buffer: smallPng(),
      });
      await screenshot(res, 'resident-matters-raise-phone-zh');
      await follow(res, res.locator('main form').getByRole('button', { name: '提交' }));
      const matterPath = new URL(res.url()).pathname;
      assert.match(
        matterPath, /^\/resident-matters\/\d+$/,
        `raised: ${await res.locator('main .form-error').allInnerTexts()}`,
      );
      assert.equal((await res.locator('h1').innerText()).trim(), title);
      assert.equal(await stateOf(res), '待派遣');
      assert.equal(await fact(res, '承办'), '社区');
      assert.equal(await fact(res, '办理时限'), '—', 'no clock before dispatch');
      assert.ok((await fact(res, '类别')).startsWith('公共设施维修'));
      assert.ok((await res.locator('.rm-description').innerText()).includes(description));
      assert.deepEqual(await timeline(res), ['提交诉求', '上传照片']);
      // The photo is served back to the reporter.
      const img = res.locator('.rm-photos img');
      assert.equal(await img.count(), 1, 'one photo on the matter');
      await img.scrollIntoViewIfNeeded();
      await res.waitForFunction((el) => el.complete, await img.elementHandle());
      assert.equal(await img.evaluate((el) => el.naturalWidth), 16, 'the photo loads');
      assert.equal(await overflowsSideways(res), false, 'the matter fits a phone');
      await screenshot(res, 'resident-matters-raised-phone-zh');

      // Their list shows it, waiting for dispatch.
      await follow(res, res.locator('nav.breadcrumbs a[href="/resident-matters"]'));
      const card = res.locator('.rm-card', { has: res.locator(`a[href="${matterPath}"]`) });
      assert.equal(await card.count(), 1, 'the matter is in the resident\'s list');
      assert.ok((await card.innerText()).includes(title));
      assert.equal((await card.locator('.rm-state').innerText()).trim(), '待派遣');
      assert.equal(await overflowsSideways(res), false, 'the list fits a phone');
      await screenshot(res, 'resident-matters-mine-phone-zh');

      // The community worker receives it first and finds it in the queue.
      const cw = await desk.newPage();
      await signIn(cw, server.baseUrl, worker, '/resident-matters');
      await follow(cw, cw.locator('main').getByRole('link', { name: '工作台' }));
      assert.equal(new URL(cw.url()).pathname, '/resident-matters/queue');
      await cw.getByLabel('状态', { exact: true }).selectOption({ label: '待派遣' });
      await follow(cw, cw.locator('form.rm-filter').getByRole('button', { name: '筛选' }));
      assert.equal(new URL(cw.url()).searchParams.get('state'), 'intake');
      const row = cw.locator('table.rm-queue tbody tr', { has: cw.locator(`a[href="${matterPath}"]`) });
      assert.equal(await row.count(), 1, 'the new matter is in the community\'s intake queue');
      const cells = (await row.locator('td').allInnerTexts()).map((t) => t.trim());
      assert.equal(cells[0], title);
      assert.equal(cells[1], '公共设施维修');
      assert.equal(cells[3], '待派遣');
      assert.equal(cells[4], '社区');
      await screenshot(cw, 'resident-matters-queue-desktop-zh');

      // It dispatches it to the compound's party organisation.
      await follow(cw, row.getByRole('link', { name: title }));
      assert.equal(new URL(cw.url()).pathname, matterPath);
      assert.equal(await stateOf(cw), '待派遣');
      const dispatch = await openStep(cw, 'dispatch');
      await dispatch.getByLabel('派给').selectOption({ label: '小区党组织' });
      await dispatch.getByLabel('说明').fill('请小区党支部牵头，联系物业尽快修复路灯。');
      await submitStep(cw, dispatch);
      assert.equal(new URL(cw.url()).pathname, matterPath);
      assert.equal(await stateOf(cw), '已派遣');
      assert.equal(await fact(cw, '承办'), '小区党组织');
      assert.match(await fact(cw, '办理时限'), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/, 'the clock runs from dispatch');
      assert.equal(
        await cw.locator('section.rm-actions input[name="action"][value="accept"]').count(), 0,
        'only the holder accepts',
      );
      await screenshot(cw, 'resident-matters-dispatched-desktop-zh');

      // The compound party secretary finds it in their queue, accepts it and replies.
      const sec = await deskSecretary.newPage();
      await signIn(sec, server.baseUrl, secretary, '/resident-matters/queue');
      assert.equal(new URL(sec.url()).pathname, '/resident-matters/queue');
      const secRow = sec.locator('table.rm-queue tbody tr', { has: sec.locator(`a[href="${matterPath}"]`) });
      assert.equal(await secRow.count(), 1, 'the matter is in the secretary\'s queue');
      assert.equal((await secRow.locator('td').nth(3).innerText()).trim(), '已派遣');
      assert.equal((await secRow.locator('td').nth(4).innerText()).trim(), '小区党组织');
      await follow(sec, secRow.getByRole('link', { name: title }));
      const accept = await openStep(sec, 'accept');
      await accept.getByLabel('说明').fill('已受理，今天联系物业电工。');
      await submitStep(sec, accept);
      assert.equal(await stateOf(sec), '办理中');

      const answer = '路灯已由物业电工更换为LED灯，今晚起恢复照明。感谢您的反映！';
      const reply = await openStep(sec, 'reply');
      await reply.getByLabel('说明').fill(answer);
      await submitStep(sec, reply);
      assert.equal(await stateOf(sec), '已答复');
      await screenshot(sec, 'resident-matters-replied-desktop-zh');

      // The resident reads the reply on the phone and rates it satisfied.
      await res.goto(`${server.baseUrl}${matterPath}`);
      assert.equal(await stateOf(res), '已答复');
      const replied = res.locator('ol.rm-timeline > li', { has: res.locator('strong', { hasText: '答复居民' }) });
      assert.equal(await replied.count(), 1);
      assert.ok((await replied.innerText()).includes(answer), 'the reply is on the timeline');
      assert.equal(await overflowsSideways(res), false, 'the reply fits a phone');
      await screenshot(res, 'resident-matters-reply-phone-zh');

      const rate = await openStep(res, 'rate');
      await rate.getByLabel('满意', { exact: true }).check();
      await rate.getByLabel('说明').fill('修得很快，谢谢！');
      await submitStep(res, rate);
      assert.equal(await stateOf(res), '已办结');
      assert.ok((await fact(res, '评价')).startsWith('满意'), await fact(res, '评价'));
      assert.deepEqual(await timeline(res), ['提交诉求', '上传照片', '派遣', '受理', '答复居民', '评价']);
      const entries = (await res.locator('ol.rm-timeline > li').allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
      assert.ok(entries[0].includes('→ 待派遣'), entries[0]);
      assert.ok(entries[2].includes('→ 已派遣') && entries[2].includes('请小区党支部牵头'), entries[2]);
      assert.ok(entries[3].includes('→ 办理中'), entries[3]);
      assert.ok(entries[4].includes('→ 已答复'), entries[4]);
      assert.ok(entries[5].includes('反映人') && entries[5].includes('→ 已办结'), entries[5]);
      assert.equal(await res.locator('section.rm-actions').count(), 0, 'nothing more to do once rated');
      assert.equal(await overflowsSideways(res), false, 'the closed matter fits a phone');
      await screenshot(res, 'resident-matters-closed-phone-zh');

      // The list says closed too.
      await res.goto(`${server.baseUrl}/resident-matters`);
      assert.equal((await card.locator('.rm-state').innerText()).trim(), '已办结');

      // The closed matter, switched to English from the page itself.
      await res.goto(`${server.baseUrl}${matterPath}`);
      await follow(res, res.locator('nav.lang-switch a[href^="/lang/en"]'));
      assert.equal(new URL(res.url()).pathname, matterPath);
      assert.equal(await stateOf(res), 'Closed');
      assert.ok((await fact(res, 'Rating')).startsWith('Satisfied'));
      assert.equal(await fact(res, 'Handled by'), 'Compound party organisation');
      assert.equal((await res.locator('#rm-timeline-h').innerText()).trim(), 'Timeline');
      assert.deepEqual(
        await timeline(res),
        ['Raised', 'Photos added', 'Dispatch', 'Accept', 'Reply to the reporter', 'Rate'],
      );
      assert.equal(await overflowsSideways(res), false, 'the English page fits a phone');
      await screenshot(res, 'resident-matters-closed-phone-en');
      // Back to Chinese: the choice is kept on the account, and the demo
      // database may be shared with the tests that follow.
      await Promise.all([res.waitForLoadState('load'), res.locator('nav.lang-switch a[hreflang="zh-CN"]').click()]);
      assert.equal(await res.locator('html').getAttribute('lang'), 'zh-CN');
    } finally {
      await phone.close();
      await desk.close();
      await deskSecretary.close();
    }
  });
});
