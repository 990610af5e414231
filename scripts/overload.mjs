#!/usr/bin/env node
// Overload: drives a jinlin server far past saturation and back, and prints
// for each phase how many requests were served, shed (503) or failed, and
// how long the answers took.
//
//   node scripts/overload.mjs [--bin PATH] [--limit N] [--path /cockpit]
//                             [--low 4] [--high 200] [--seconds 10]
//
// Starts `jinlin serve --demo` (JINLIN_DEMO_SCALE=small) in a temporary
// directory with JINLIN_MAX_IN_FLIGHT_REQUESTS=N (0: no limit), signs in as
// the first demo account and requests PATH with its session: LOW clients for
// SECONDS, then HIGH clients, then LOW again.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const bin = arg('bin', process.env.JINLIN_BIN ||
  path.join(process.env.CARGO_TARGET_DIR || 'target', 'debug', 'jinlin'));
const limit = arg('limit', '16');
const target = arg('path', '/cockpit');
const low = Number(arg('low', '4'));
const high = Number(arg('high', '200'));
const seconds = Number(arg('seconds', '10'));
// A client gives up after this long (as a browser or proxy would).
const clientTimeoutMs = 30_000;

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'jinlin-overload-'));
const server = spawn(bin, ['serve', '--demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
  env: { ...process.env, JINLIN_DEMO_SCALE: 'small', JINLIN_MAX_IN_FLIGHT_REQUESTS: limit },
  stdio: ['ignore', 'pipe', 'ignore'],
});
let stdout = '';
const base = await new Promise((resolve, reject) => {
  server.stdout.setEncoding('utf8');
  server.stdout.on('data', (chunk) => {
    stdout += chunk;
    const m = stdout.match(/jinlin listening on (http:\/\/\S+)/);
    if (m) resolve(m[1]);
  });
  server.on('exit', (code) => reject(new Error(`server exited (${code}):\n${stdout}`)));
});

try {
  const lines = stdout.split('\n');
  const first = lines[lines.findIndex((l) => l.startsWith('demo accounts')) + 1].trim().split(/\s+/);
  const [, username, password] = first;
  const login = await fetch(`${base}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!login.ok) throw new Error(`sign-in failed: ${login.status} ${await login.text()}`);
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');

  console.log(`${bin}\nmax_in_flight_requests=${limit}, GET ${target} as ${username}, ${seconds} s per phase`);
  console.log('phase   clients  served/s  ok  shed(503)  other  timeouts  ok p50/p99 ms  shed p99 ms  max ms');
  for (const [name, clients] of [['below', low], ['above', high], ['after', low]]) {
    const r = await phase(clients, cookie);
    const ok = r.ok.sort((a, b) => a - b);
    const shed = r.shed.sort((a, b) => a - b);
    console.log(
      `${name.padEnd(7)} ${String(clients).padStart(7)} ${(ok.length / seconds).toFixed(1).padStart(9)} ` +
        `${String(ok.length).padStart(3)} ${String(shed.length).padStart(10)} ${String(r.other).padStart(6)} ` +
        `${String(r.timeouts).padStart(9)} ${`${q(ok, 0.5)}/${q(ok, 0.99)}`.padStart(14)} ` +
        `${String(q(shed, 0.99)).padStart(12)} ${String(r.max.toFixed(0)).padStart(7)}`,
    );
  }
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await rm(dataDir, { recursive: true, force: true });
}

function q(sorted, p) {
  if (sorted.length === 0) return '-';
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))].toFixed(0);
}

async function phase(clients, cookie) {
  const r = { ok: [], shed: [], other: 0, timeouts: 0, max: 0 };
  const end = Date.now() + seconds * 1000;
  async function client() {
    while (Date.now() < end) {
      const started = performance.now();
      try {
        const res = await fetch(`${base}${target}`, {
          headers: { cookie },
          signal: AbortSignal.timeout(clientTimeoutMs),
        });
        await res.arrayBuffer();
        const ms = performance.now() - started;
        r.max = Math.max(r.max, ms);
        if (res.status === 200) r.ok.push(ms);
        else if (res.status === 503) r.shed.push(ms);
        else r.other += 1;
      } catch (e) {
        if (e.name === 'TimeoutError') r.timeouts += 1;
        else r.other += 1;
        r.max = Math.max(r.max, performance.now() - started);
      }
    }
  }
  await Promise.all(Array.from({ length: clients }, client));
  return r;
}
