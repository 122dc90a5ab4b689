import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLogger } from '../agent/adapters/memory/logger.js';
import { createVirtualTime } from '../agent/adapters/memory/time.js';
import { nodeFileStorage } from '../agent/adapters/node/storage.js';
import type { GateOutput } from '../agent/policy/contract.js';
import type { StoragePort } from '../agent/ports/storage.js';
import { createStore } from '../agent/store/store.js';
import { printLine, printRatio, type Measurement } from './harness.js';

/**
 * Store benchmarks, each against a floor measured in the same run:
 * 1. readings/s into the durable store with group commit, vs raw appends of the same bytes to one file with
 *    fsync at the same cadence (as many fsyncs as the store issued);
 * 2. the sweep that purges 1,000,000 expired records, vs deleting the same files (unlink + directory fsync
 *    per file, the durability the storage port promises for `remove`).
 */
const HOUR = 3_600_000;
const START = Date.UTC(2026, 0, 10);
const MASTER = new Uint8Array(32).fill(3);

interface Counted extends StoragePort {
  appends: number;
  appendBytes: number;
  syncs: number;
}

function counted(inner: StoragePort): Counted {
  const port: Counted = {
    appends: 0, appendBytes: 0, syncs: 0,
    read: (n) => inner.read(n), writeAtomic: (n, d) => inner.writeAtomic(n, d), truncate: (n, l) => inner.truncate(n, l),
    remove: (n) => inner.remove(n), list: (p) => inner.list(p),
    append: (n, d) => {
      port.appends++;
      port.appendBytes += d.length;
      return inner.append(n, d);
    },
    sync: (n) => {
      port.syncs++;
      return inner.sync(n);
    },
  };
  return port;
}

const reading = (i: number, at: number, category = 'temp'): GateOutput => ({
  category, at, data: { c: 20 + (i % 50) / 10, h: 40 + (i % 7) }, expiresAt: at + 24 * HOUR, transmit: true, essential: false,
});

async function benchGroupCommit(dir: string): Promise<void> {
  const WRITERS = 8;
  const PER_WRITER = 1500;
  const files = nodeFileStorage(join(dir, 'gc'));
  const storage = counted(files);
  const time = createVirtualTime(START);
  const store = await createStore({ storage, clock: time, logger: memoryLogger(), masterKey: MASTER, sessionId: '01', durability: { mode: 'group' } });
  storage.appends = storage.appendBytes = storage.syncs = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
    for (let i = 0; i < PER_WRITER; i++) await store.append([reading(i * WRITERS + w, START + i)]);
  }));
  const storeMs = performance.now() - t0;
  await store.close();
  await files.close();
  const readings = WRITERS * PER_WRITER;
  const floorMs = await rawAppendFloor(join(dir, 'gc-floor'), storage.appends, storage.appendBytes, storage.syncs);
  const subject: Measurement = { name: `store.append, ${WRITERS} writers, group commit`, perOpMicros: (storeMs * 1000) / readings, ops: readings };
  const floor: Measurement = { name: 'raw append same bytes + same fsyncs', perOpMicros: (floorMs * 1000) / readings, ops: readings };
  printRatio('store: durable readings/s with group commit', subject, floor);
  printLine('store readings/s', (readings / (storeMs / 1000)).toFixed(0));
  printLine('floor readings/s', (readings / (floorMs / 1000)).toFixed(0));
  printLine('fsyncs per reading', (storage.syncs / readings).toFixed(3));
}

async function rawAppendFloor(dir: string, appends: number, bytes: number, syncs: number): Promise<number> {
  await mkdir(dir, { recursive: true });
  const chunk = new Uint8Array(Math.max(1, Math.round(bytes / Math.max(1, appends)))).fill(0xab);
  const syncEvery = Math.max(1, Math.round(appends / Math.max(1, syncs)));
  const file = await open(join(dir, 'raw'), 'a');
  const t0 = performance.now();
  for (let i = 1; i <= appends; i++) {
    await file.write(chunk);
    if (i % syncEvery === 0) await file.sync();
  }
  await file.sync();
  const ms = performance.now() - t0;
  await file.close();
  return ms;
}

async function benchPurge(dir: string): Promise<void> {
  const RECORDS = 1_000_000;
  const BATCH = 20_000;
  const root = join(dir, 'purge');
  const time = createVirtualTime(START);
  const storage = nodeFileStorage(root);
  const store = await createStore({
    storage, clock: time, logger: memoryLogger(), masterKey: MASTER, sessionId: '02', durability: { mode: 'group' },
    limits: { maxRecords: 2 * RECORDS, maxBytes: 1024 * 1024 * 1024 }, segmentBytes: 256 * 1024, sweepEveryMs: 0,
  });
  const buildStart = performance.now();
  for (let done = 0; done < RECORDS; done += BATCH) {
    const spread = (done / RECORDS) * 4 * HOUR; // four hourly epochs per category
    await store.append(Array.from({ length: BATCH }, (_, i) => reading(done + i, START + spread, i % 2 === 0 ? 'temp' : 'hvac')));
  }
  const buildMs = performance.now() - buildStart;
  const files = await listFiles(join(root, 'store', 'seg'));
  await time.advance(30 * HOUR);
  const t0 = performance.now();
  const reports = await store.sweep();
  const purgeMs = performance.now() - t0;
  const removed = reports.reduce((n, r) => n + r.removed, 0);
  await store.close();
  await storage.close();
  const floorMs = await deleteFloor(join(dir, 'purge-floor'), files);
  printRatio(`store: purge ${removed.toLocaleString('en')} expired records (${files.length} files)`,
    { name: 'sweep: shred keys, delete segments', perOpMicros: purgeMs * 1000, ops: 1 },
    { name: 'unlink same files + dir fsync each', perOpMicros: floorMs * 1000, ops: 1 });
  printLine('purge cost per record', `${((purgeMs * 1000) / Math.max(1, removed)).toFixed(3)} µs`);
  printLine('building the 1M-record state (seal + append)', `${(buildMs / 1000).toFixed(1)} s`);
}

async function listFiles(dir: string): Promise<{ name: string; size: number }[]> {
  const names = await readdir(dir);
  return Promise.all(names.map(async (name) => ({ name, size: (await stat(join(dir, name))).size })));
}

async function deleteFloor(dir: string, files: { name: string; size: number }[]): Promise<number> {
  await mkdir(dir, { recursive: true });
  for (const file of files) await writeFile(join(dir, file.name), new Uint8Array(file.size));
  const t0 = performance.now();
  for (const file of files) {
    await rm(join(dir, file.name));
    const handle = await open(dir, 'r');
    await handle.sync();
    await handle.close();
  }
  return performance.now() - t0;
}

export async function runStoreBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'store-bench-'));
  try {
    await benchGroupCommit(dir);
    await benchPurge(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
