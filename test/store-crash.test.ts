import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { memoryLogger } from '../agent/adapters/memory/logger.js';
import { nodeFileStorage } from '../agent/adapters/node/storage.js';
import { createStore } from '../agent/store/store.js';

/**
 * Power-cut test with real processes and real files: a child writes continuously and is SIGKILLed at random
 * points; after restarts, every record it reported as stored is present (or legitimately expired), no record
 * is doubled, no acknowledged record is queued again, and the store always opens.
 */
// Long mode (`npm run test:long`, or STORE_CRASH_CYCLES=n): 1,000 cycles, figures in docs/storage.md. CI keeps 200.
const CYCLES = Number(process.env['STORE_CRASH_CYCLES'] ?? (process.env['CI'] === 'true' ? 200 : 40));
const CHECK_EVERY = 10;
let work: string;
let bundle: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'store-crash-'));
  bundle = join(work, 'crash-writer.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url))],
    bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'silent',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Promises {
  written: Map<string, number>;
  acked: Set<string>;
}

function runUntilKilled(root: string, session: string, kill: { afterReady: boolean; ms: number }, seen: Promises): Promise<{ ready: boolean; lines: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, root, session], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    let stderr = '';
    let ready = false;
    let lines = 0;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        const [kind, s, seq, expiresAt] = line.split(' ');
        if (kind === 'READY') {
          ready = true;
          if (kill.afterReady) timer = setTimeout(() => child.kill('SIGKILL'), kill.ms);
        }
        else if (kind === 'W') seen.written.set(`${s}:${seq}`, Number(expiresAt));
        else if (kind === 'A') seen.acked.add(`${s}:${seq}`);
        lines++;
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let timer = kill.afterReady ? undefined : setTimeout(() => child.kill('SIGKILL'), kill.ms);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself (${code}): ${stderr}`));
      else resolve({ ready, lines, stderr });
    });
  });
}

async function verify(root: string, seen: Promises): Promise<number> {
  const storage = nodeFileStorage(root);
  const store = await createStore({
    storage, clock: { now: () => Date.now(), monotonic: () => performance.now() }, logger: memoryLogger(),
    masterKey: new Uint8Array(32).fill(42), sessionId: 'ffffffff', epochMs: 1000, segmentBytes: 4096,
  });
  try {
    const records = await store.query();
    const now = store.trustedNow();
    const ids = records.map((r) => `${r.id.session}:${r.id.seq}`);
    expect(new Set(ids).size, 'duplicate records').toBe(ids.length);
    const present = new Set(ids);
    const lost = [...seen.written].filter(([id, expiresAt]) => expiresAt > now && !present.has(id)).map(([id]) => id);
    expect(lost, 'acknowledged records lost').toEqual([]);
    const queued = await store.nextBatch(1_000_000);
    const resent = queued.map((r) => `${r.id.session}:${r.id.seq}`).filter((id) => seen.acked.has(id));
    expect(resent, 'acknowledged items queued again').toEqual([]);
    return records.length;
  } finally {
    await store.close();
    await storage.close();
  }
}

test(`SIGKILL at random points, ${CYCLES} cycles: nothing acknowledged lost, nothing doubled, store readable`, async () => {
  const root = join(work, 'device');
  const seen: Promises = { written: new Map(), acked: new Set() };
  const started = Date.now();
  let readyRuns = 0;
  let checks = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const session = (0x1000 + cycle).toString(16);
    // One kill in four lands anywhere in start-up (including recovery); the rest during steady writing.
    const afterReady = cycle % 4 !== 0;
    const ms = afterReady ? 2 + Math.floor(Math.random() * 80) : 20 + Math.floor(Math.random() * 200);
    const run = await runUntilKilled(root, session, { afterReady, ms }, seen);
    if (run.ready) readyRuns++;
    if (cycle % CHECK_EVERY === CHECK_EVERY - 1 || cycle === CYCLES - 1) {
      await verify(root, seen);
      checks++;
    }
  }
  console.log(`crash test: ${CYCLES} cycles in ${((Date.now() - started) / 1000).toFixed(0)} s, ${readyRuns} runs reached steady writing, `
    + `${seen.written.size} records and ${seen.acked.size} acks promised, ${checks} full checks`);
  expect(readyRuns).toBeGreaterThan(CYCLES / 2);
  expect(seen.written.size).toBeGreaterThan(CYCLES);
  expect(seen.acked.size).toBeGreaterThan(0);
  expect(checks).toBeGreaterThan(1);
}, Math.max(240_000, CYCLES * 6_000)); // a loaded 2-core machine manages about 30 cycles a minute
