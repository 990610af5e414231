// The demo data set as the browser tests meet it: the accounts
// `serve --demo` prints, and signing in with one of them.

import assert from 'node:assert/strict';

/** The demo accounts printed after "demo accounts": [{ role, username, password }]. */
export function demoAccounts(stdout) {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith('demo accounts'));
  assert.ok(start >= 0, `serve --demo printed no accounts:\n${stdout}`);
  const accounts = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  ')) break;
    const [role, username, password] = line.trim().split(/\s+/);
    if (role && username && password) accounts.push({ role, username, password });
  }
  return accounts;
}

/** Signs in on the login page (in Chinese) and waits for the next page. */
export async function signIn(page, baseUrl, { username, password }, next = '/places') {
  await page.goto(`${baseUrl}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码', { exact: true }).fill(password);
  await Promise.all([
    page.waitForLoadState('load'),
    page.locator('main').getByRole('button', { name: '登录' }).click(),
  ]);
}

/** Whether the page scrolls sideways (it should not, on any screen). */
export async function overflowsSideways(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);
}
