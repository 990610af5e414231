// Signing in and out, in a browser, on a phone and a desktop.
//
// Contract (implemented by the Rust side, crate jinlin-accounts):
// - GET /account without a session redirects to /login?next=%2Faccount;
// - /login is a form with fields labelled 用户名 / 密码 (Username / Password)
//   and a 登录 (Sign in) button; a wrong password keeps the visitor on the
//   form with a message (role=alert) and sets no session;
// - the right password leads to `next` (/account: 我的账号, the account's
//   roles, a password form and API tokens), and the header names the user;
// - an API token created on /account is shown once, starting with `jl_`;
// - the header's 退出 (Sign out) button ends the session.
//
// There is no public sign-up: accounts come from the demo data set, which
// `serve --demo` prints as "demo accounts (role, username, password):".
// Until the demo has accounts, the tests that need one are skipped.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, screenshot, startServer } from './lib/server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const NO_ACCOUNT = 'the demo data set printed no accounts, and accounts cannot be created without one';

/** The demo accounts `serve --demo` printed: [{ role, username, password }]. */
function demoAccounts(stdout) {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith('demo accounts'));
  if (start < 0) return [];
  const accounts = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  ')) break;
    const [role, username, password] = line.trim().split(/\s+/);
    if (role && username && password) accounts.push({ role, username, password });
  }
  return accounts;
}

/** Whether the page scrolls sideways (it should not, on any screen). */
async function overflowsSideways(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);
}

async function fillLogin(page, username, password) {
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码', { exact: true }).fill(password);
  await Promise.all([
    page.waitForLoadState('load'),
    page.locator('main').getByRole('button', { name: '登录' }).click(),
  ]);
}

describe('signing in and out', () => {
  let server;
  let browser;
  let accounts = [];

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    accounts = demoAccounts(server.output().stdout);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('on a phone, /account leads to a labelled sign-in form that refuses a wrong password', async () => {
    const context = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
    try {
      const page = await context.newPage();
      const res = await page.goto(`${server.baseUrl}/account`);
      assert.equal(res?.status(), 200);
      const url = new URL(page.url());
      assert.equal(url.pathname, '/login');
      assert.equal(url.searchParams.get('next'), '/account');
      assert.equal(await page.getByLabel('用户名').count(), 1, 'a field labelled 用户名');
      assert.equal(await page.getByLabel('密码', { exact: true }).getAttribute('type'), 'password');
      assert.equal(await overflowsSideways(page), false, 'the sign-in page fits a phone');
      await screenshot(page, 'login-phone-zh');

      await fillLogin(page, 'nobody-here', 'not-the-password');
      assert.equal(new URL(page.url()).pathname, '/login');
      const alert = page.getByRole('alert');
      assert.match(await alert.innerText(), /用户名或密码不正确/);
      const cookies = await context.cookies();
      assert.ok(!cookies.some((c) => c.name === 'jinlin_session'), 'no session after a wrong password');
      const csrf = cookies.find((c) => c.name === 'jinlin_login_csrf');
      assert.ok(csrf?.httpOnly, 'the sign-in form token is an HttpOnly cookie');
    } finally {
      await context.close();
    }
  });

  test('on a desktop, a demo account signs in, creates an API token and signs out', async (t) => {
    if (accounts.length === 0) {
      t.skip(NO_ACCOUNT);
      return;
    }
    const { username, password } = accounts[0];
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
    try {
      const page = await context.newPage();
      await page.goto(`${server.baseUrl}/account`);
      await fillLogin(page, username, password);
      assert.equal(new URL(page.url()).pathname, '/account');
      assert.equal((await page.locator('h1').first().innerText()).trim(), '我的账号');
      const session = (await context.cookies()).find((c) => c.name === 'jinlin_session');
      assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
      assert.equal(session?.sameSite, 'Lax');
      assert.equal(await page.locator('header a[href="/account"]').count(), 1, 'the header names the user');

      await page.getByLabel('令牌名称').fill('浏览器测试');
      await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: '创建令牌' }).click()]);
      const token = await page.locator('#new-token').inputValue();
      assert.match(token, /^jl_[0-9a-f]{64}$/);
      await screenshot(page, 'account-desktop-zh');

      await Promise.all([
        page.waitForURL(`${server.baseUrl}/`),
        page.locator('header').getByRole('button', { name: '退出' }).click(),
      ]);
      assert.equal(await page.locator('header').getByRole('link', { name: '登录' }).count(), 1);
      const res = await page.goto(`${server.baseUrl}/account`);
      assert.equal(res?.status(), 200);
      assert.equal(new URL(page.url()).pathname, '/login', 'signed out: /account asks to sign in again');
    } finally {
      await context.close();
    }
  });

  test('in English, the sign-in form and its message are English', async (t) => {
    const context = await browser.newContext({ locale: 'en-GB' });
    try {
      const page = await context.newPage();
      await page.goto(`${server.baseUrl}/login`);
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
      await page.getByLabel('Username').fill('nobody-here');
      await page.getByLabel('Password', { exact: true }).fill('not-the-password');
      await Promise.all([
        page.waitForLoadState('load'),
        page.locator('main').getByRole('button', { name: 'Sign in' }).click(),
      ]);
      assert.match(await page.getByRole('alert').innerText(), /username or password is not correct/);
      if (accounts.length === 0) t.diagnostic(NO_ACCOUNT);
    } finally {
      await context.close();
    }
  });
});
