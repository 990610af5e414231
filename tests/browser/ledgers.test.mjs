// Ledgers (台账) on the demo district: the district admin opens the ledgers
// page, drills from the district to a street, a community and one compound
// through the page's place links, and downloads that compound's ledgers; the
// files are opened with ExcelJS and hold the expected rows. Then the page on
// a phone, and a ledger in English.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import ExcelJS from 'exceljs';
import { demoAccounts, overflowsSideways, signIn } from './lib/demo.mjs';
import { launchBrowser, screenshot, startServer } from './lib/server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 900 } };

async function follow(page, locator) {
  await Promise.all([page.waitForLoadState('load'), locator.click()]);
}

/** Clicks a ledger's download link and reads the file: the first sheet's rows as text. */
async function download(page, key) {
  const link = page.locator(`main a.lg-download[data-ledger="${key}"]`);
  const [file] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.match(file.suggestedFilename(), /\.xlsx$/);
  const book = new ExcelJS.Workbook();
  await book.xlsx.readFile(await file.path());
  const sheet = book.worksheets[0];
  const rows = [];
  sheet.eachRow({ includeEmpty: false }, (row) => {
    const cells = [];
    for (let c = 1; c <= sheet.columnCount; c += 1) {
      const v = row.getCell(c).value;
      cells.push(v === null || v === undefined ? '' : String(v));
    }
    rows.push(cells);
  });
  return { rows, about: book.worksheets[1] };
}

function column(rows, heading) {
  const i = rows[0].indexOf(heading);
  assert.ok(i >= 0, `no column ${heading} in ${rows[0]}`);
  return rows.slice(1).map((r) => r[i]);
}

describe('ledgers', () => {
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

  test('a district admin drills down to one compound and exports its ledgers', async () => {
    const admin = accounts.find((a) => a.role === 'district_admin');
    assert.ok(admin, `demo accounts: ${JSON.stringify(accounts)}`);
    const desk = await browser.newContext({ ...DESKTOP, locale: 'zh-CN', acceptDownloads: true });
    try {
      const page = await desk.newPage();
      await signIn(page, server.baseUrl, admin, '/ledgers');
      assert.ok((await page.locator('main h1').innerText()).includes('仓山区'));
      assert.ok((await page.locator('main').innerText()).includes('联席会议台账'));
      await screenshot(page, 'ledgers-district-desktop-zh');

      // District → street → community → compound, each through the page's links.
      const names = [];
      for (let level = 0; level < 3; level += 1) {
        const link = page.locator('main .lg-children a').first();
        names.push((await link.innerText()).trim());
        await follow(page, link);
        assert.ok((await page.locator('main h1').innerText()).includes(names[level]));
      }
      const [street, community, compound] = names;
      const main = await page.locator('main').innerText();
      assert.ok(!main.includes('联席会议台账'), 'joint meetings are a street ledger');
      assert.equal(await page.locator('main .lg-path a').count(), 3, 'the way back up');

      // The compound's basic ledger: one row, the compound on the path drilled.
      const basic = await download(page, 'compounds');
      assert.deepEqual(basic.rows[0].slice(0, 3), ['街道（镇）', '社区（村）', '小区']);
      assert.equal(basic.rows.length, 2);
      assert.deepEqual(basic.rows[1].slice(0, 3), [street, community, compound]);
      assert.ok(Number(column(basic.rows, '户数')[0]) > 0, 'the compound has dwellings');

      // Its micro-grids and party members: every row of this compound only,
      // phones masked.
      for (const key of ['micro_grids', 'party_members']) {
        const { rows } = await download(page, key);
        for (const name of column(rows, '小区')) assert.equal(name, compound, key);
        for (const name of column(rows, '街道（镇）')) assert.equal(name, street, key);
        if (key === 'party_members') {
          for (const phone of column(rows, '联系电话')) assert.ok(phone === '' || phone.includes('****'), phone);
        }
      }
      await screenshot(page, 'ledgers-compound-desktop-zh');
    } finally {
      await desk.close();
    }
  });

  test('the page fits a phone and a ledger speaks English', async () => {
    const admin = accounts.find((a) => a.role === 'street_admin');
    const phone = await browser.newContext({ ...PHONE, locale: 'zh-CN', acceptDownloads: true });
    const en = await browser.newContext({ ...DESKTOP, locale: 'zh-CN', acceptDownloads: true });
    try {
      const page = await phone.newPage();
      await signIn(page, server.baseUrl, admin, '/ledgers');
      assert.equal(await overflowsSideways(page), false, 'the ledgers page fits a phone');
      assert.ok((await page.locator('main .lg-children a').count()) > 0, 'the street lists its communities');
      await screenshot(page, 'ledgers-street-phone-zh');

      const eng = await en.newPage();
      await signIn(eng, server.baseUrl, admin, '/ledgers');
      await follow(eng, eng.locator('nav.lang-switch a[href^="/lang/en"]'));
      assert.ok((await eng.locator('main').innerText()).includes('Compound party organisations'));
      const { rows } = await download(eng, 'party_orgs');
      assert.deepEqual(rows[0].slice(0, 4), ['Street', 'Community', 'Compound', 'Party organisation']);
      assert.ok(rows.length > 1, 'the street has compound party organisations');
      await screenshot(eng, 'ledgers-street-desktop-en');
    } finally {
      await phone.close();
      await en.close();
    }
  });
});
