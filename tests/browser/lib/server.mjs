// Helpers for the browser tests: start a jinlin server on a free loopback
// port with a throw-away data dir, and launch Debian's chromium through
// playwright-core (no browser is ever downloaded).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const libDir = path.dirname(fileURLToPath(import.meta.url));
/** tests/browser/ */
export const browserTestsDir = path.resolve(libDir, '..');
/** The repository root. */
export const repoRoot = path.resolve(browserTestsDir, '..', '..');
/** Where screenshots go (ignored by git). */
export const artifactsDir = path.join(browserTestsDir, 'artifacts');

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const HEALTH_POLL_MS = 200;
const HEALTH_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 10_000;
const MAX_CAPTURED_CHARS = 64 * 1024;

/** The jinlin binary: $JINLIN_BIN, else $CARGO_TARGET_DIR/debug/jinlin, else <repo>/target/debug/jinlin. */
export function jinlinBinary() {
  if (process.env.JINLIN_BIN) return path.resolve(process.env.JINLIN_BIN);
  if (process.env.CARGO_TARGET_DIR) {
    return path.resolve(repoRoot, process.env.CARGO_TARGET_DIR, 'debug', 'jinlin');
  }
  return path.resolve(repoRoot, 'target', 'debug', 'jinlin');
}

/** Ask the kernel for a free loopback port (listen on port 0, then close). */
async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Keep only the tail of a growing log. */
function appendCapped(buf, chunk) {
  const next = buf + chunk;
  return next.length > MAX_CAPTURED_CHARS ? next.slice(-MAX_CAPTURED_CHARS) : next;
}

/**
 * Start `jinlin serve --demo` on a free loopback port with a temp data dir.
 * Resolves once GET /healthz answers 200. On PostgreSQL the test files share
 * one database; `ownDatabase` gives a test that changes what others rely on
 * (erasing a demo person) a database of its own, dropped when it stops.
 * @param {{ ownDatabase?: boolean }} [options]
 * @returns {Promise<{ baseUrl: string, port: number, dataDir: string, output: () => {stdout: string, stderr: string}, stop: () => Promise<void> }>}
 */
export async function startServer({ ownDatabase = false } = {}) {
  const bin = jinlinBinary();
  if (!existsSync(bin)) {
    throw new Error(
      `jinlin binary not found at ${bin}; build it first (cargo build) ` +
        'or point JINLIN_BIN / CARGO_TARGET_DIR at it',
    );
  }

  const port = await freePort();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'jinlin-browser-'));
  // scripts/browser-tests loads the demo once into a pristine data dir (and,
  // on PostgreSQL, a template database); a server started from a copy of it
  // finds the demo there, with the key its ID numbers were sealed with.
  const pristine = process.env.JINLIN_BROWSER_PRISTINE;
  const pristineDatabase = process.env.JINLIN_BROWSER_PRISTINE_DATABASE;
  if (pristine) await cp(pristine, dataDir, { recursive: true });
  const args = ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--demo'];
  const shared = process.env.JINLIN_BROWSER_DATABASE_URL;
  let own = null;
  const psql = (sql) => {
    const r = spawnSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', shared, '-c', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr || r.error}`);
  };
  if (shared && ownDatabase) {
    own = `jinlin_browser_own_${process.pid}_${port}`;
    psql(pristineDatabase ? `CREATE DATABASE ${own} TEMPLATE ${pristineDatabase}` : `CREATE DATABASE ${own}`);
    args.push('--database-url', shared.replace(/\/[^/]*$/, `/${own}`));
  } else if (shared) {
    args.push('--database-url', shared);
  }

  const child = spawn(bin, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => { stdout = appendCapped(stdout, d); });
  child.stderr.on('data', (d) => { stderr = appendCapped(stderr, d); });

  let exitInfo = null;
  let spawnError = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
    child.on('error', (err) => {
      spawnError = err;
      exitInfo = exitInfo ?? { code: null, signal: null };
      resolve(exitInfo);
    });
  });

  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    if (exitInfo === null) {
      child.kill('SIGTERM');
      const timer = new AbortController();
      const timedOut = await Promise.race([
        exited.then(() => false),
        sleep(STOP_TIMEOUT_MS, true, { signal: timer.signal }).catch(() => false),
      ]);
      timer.abort();
      if (timedOut && exitInfo === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    await rm(dataDir, { recursive: true, force: true });
    if (own) psql(`DROP DATABASE IF EXISTS ${own} WITH (FORCE)`);
  }

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let lastProblem = 'no answer yet';
  for (;;) {
    if (exitInfo !== null) {
      await stop();
      const why = spawnError
        ? `could not start: ${spawnError.message}`
        : `exited early (code ${exitInfo.code}, signal ${exitInfo.signal})`;
      throw new Error(`jinlin server ${why}\ncommand: ${bin} ${args.join(' ')}\n--- stderr ---\n${stderr}`);
    }
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
      lastProblem = `HTTP ${res.status}`;
    } catch (err) {
      lastProblem = err?.cause?.code ?? err?.message ?? String(err);
    }
    if (Date.now() >= deadline) {
      await stop();
      throw new Error(
        `jinlin server did not answer 200 on ${baseUrl}/healthz within ${HEALTH_TIMEOUT_MS / 1000}s ` +
          `(last: ${lastProblem})\ncommand: ${bin} ${args.join(' ')}\n--- stderr ---\n${stderr}`,
      );
    }
    await sleep(HEALTH_POLL_MS);
  }

  return { baseUrl, port, dataDir, output: () => ({ stdout, stderr }), stop };
}

/**
 * Launch Debian's chromium headless through playwright-core.
 * playwright gives each launch a fresh temporary profile (user-data-dir) and removes it on close.
 * @returns {Promise<import('playwright-core').Browser>}
 */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`chromium not found at ${CHROMIUM_PATH}; run scripts/browser-tests (it installs Debian's chromium)`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  watchContentSecurityPolicy(browser);
  return browser;
}

/** What chromium refused under the content security policy, in every test of this file. */
const cspViolations = [];
const watchedContexts = new WeakSet();

function watchContext(context) {
  if (watchedContexts.has(context)) return;
  watchedContexts.add(context);
  context.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy/i.test(text)) {
      cspViolations.push(`${message.page()?.url() ?? message.location().url}: ${text}`);
    }
  });
}

/**
 * Every page of every test is watched: chromium reports each inline script,
 * inline style or foreign resource the server's content security policy
 * refused on the console, and the file fails if there was any.
 */
function watchContentSecurityPolicy(browser) {
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const context = await newContext(...args);
    watchContext(context);
    return context;
  };
  const newPage = browser.newPage.bind(browser);
  browser.newPage = async (...args) => {
    const page = await newPage(...args);
    watchContext(page.context());
    return page;
  };
}

after(() => {
  assert.deepEqual(cspViolations, [], 'pages broke the content security policy');
});

/** Save a full-page screenshot to tests/browser/artifacts/<name>.png; returns its path. */
export async function screenshot(page, name) {
  await mkdir(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, name.endsWith('.png') ? name : `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
