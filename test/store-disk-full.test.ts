import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { memoryLogger } from '../agent/adapters/memory/logger.js';
import { createVirtualTime } from '../agent/adapters/memory/time.js';
import { nodeFileStorage } from '../agent/adapters/node/storage.js';
import { TrustError } from '../agent/errors.js';
import type { StoragePort } from '../agent/ports/storage.js';
import { createStore } from '../agent/store/store.js';
import { DAY, MASTER, START, reading } from './fixtures/store-kit.js';

/**
 * Issue 12: a full flash follows the overflow rule (docs/storage.md), on REAL files: on a filesystem that really
 * fills (a 256 KiB tmpfs; mounting needs root, so where it is refused that case says so and is skipped), and in a
 * directory whose size a StoragePort wrapper holds to 256 KiB (runs everywhere).
 */
const dir = mkdtempSync(join(tmpdir(), 'ta-full-'));
const mounted = (() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('store-disk-full: cannot mount a tmpfs here (needs root); the disk-full test is skipped');
    return false;
  }
})();

afterAll(() => {
  if (mounted) execFileSync('umount', ['-l', dir]);
  rmSync(dir, { recursive: true, force: true });
});

/** The node file adapter, refusing (STORE_FULL, as the adapter reports ENOSPC) what would take the directory past `capacity`. */
function capped(inner: StoragePort & { close(): Promise<void> }, capacity: number): StoragePort & { close(): Promise<void> } {
  const sizes = new Map<string, number>();
  const used = (): number => [...sizes.values()].reduce((a, b) => a + b, 0);
  const room = (name: string, size: number): void => {
    if (used() - (sizes.get(name) ?? 0) + size > capacity) throw new TrustError('STORE_FULL', 'storage full (capped directory)');
  };
  return {
    read: (name) => inner.read(name),
    list: (prefix) => inner.list(prefix),
    sync: (name) => inner.sync(name),
    close: () => inner.close(),
    async writeAtomic(name, data) {
      room(name, data.length);
      await inner.writeAtomic(name, data);
      sizes.set(name, data.length);
    },
    async append(name, data) {
      room(name, (sizes.get(name) ?? 0) + data.length);
      await inner.append(name, data);
      sizes.set(name, (sizes.get(name) ?? 0) + data.length);
    },
    async truncate(name, length) {
      await inner.truncate(name, length);
      sizes.set(name, length);
    },
    async remove(name) {
      await inner.remove(name);
      sizes.delete(name);
    },
  };
}

async function fillAndCheck(files: [StoragePort & { close(): Promise<void> }, StoragePort & { close(): Promise<void> }], full: () => boolean): Promise<void> {
  const time = createVirtualTime(START);
  const open = (n: 0 | 1) => createStore({
    storage: files[n], clock: time, logger: memoryLogger(), masterKey: MASTER, sessionId: 'f00d',
    segmentBytes: 4096, limits: { maxBytes: 64 * 1024 * 1024 },
  });
  const store = await open(0);
  for (let i = 0; i < 10; i++) await store.append([reading('lock', START + i, 7 * DAY, { i }, { essential: true })]);
  const pad = 'x'.repeat(300);
  const total = 2_000; // about 700 KB of sealed records: well past what the flash holds
  for (let i = 0; i < total; i++) {
    const stored = await store.append([reading('temp', START + i, 7 * DAY, { i, pad })]);
    expect(stored).toHaveLength(1);
  }
  expect(full()).toBe(true); // the flash really was full

  const stats = store.stats();
  expect(stats.dropped.overflow).toBeGreaterThan(0);
  const temps = (await store.query('temp')).map((r) => (r.data as { i: number }).i);
  expect(temps.length + stats.dropped.overflow).toBe(total);
  expect(temps.at(-1)).toBe(total - 1); // the newest is kept
  expect(Math.min(...temps)).toBe(total - temps.length); // what went is the oldest, in order
  expect((await store.query('lock')).map((r) => (r.data as { i: number }).i)).toEqual([...Array(10).keys()]);
  await store.close();

  const reopened = await open(1);
  expect(reopened.stats().quarantined).toBe(0);
  expect((await reopened.query('temp')).map((r) => (r.data as { i: number }).i)).toEqual(temps);
  expect((await reopened.query('lock')).length).toBe(10);
  await reopened.close();
  for (const file of files) await file.close();
}

describe('a full flash, real files', () => {
  test.skipIf(!mounted)('on a 256 KiB tmpfs: appends keep succeeding by dropping the oldest non-essential parts; essential records stay; a reopen finds everything intact', async () => {
    await fillAndCheck([nodeFileStorage(dir), nodeFileStorage(dir)], () => {
      const free = statfsSync(dir);
      return free.bavail * free.bsize < 64 * 1024;
    });
  }, 60_000);

  test('in a directory held to 256 KiB: the same', async () => {
    const capDir = mkdtempSync(join(tmpdir(), 'ta-cap-'));
    try {
      const capacity = 256 * 1024;
      const first = capped(nodeFileStorage(capDir), capacity);
      let refused = 0;
      const counting: typeof first = { ...first, append: async (name, data) => { try { await first.append(name, data); } catch (error) { refused++; throw error; } } };
      await fillAndCheck([counting, capped(nodeFileStorage(capDir), capacity)], () => refused > 0);
    } finally {
      rmSync(capDir, { recursive: true, force: true });
    }
  }, 60_000);
});
