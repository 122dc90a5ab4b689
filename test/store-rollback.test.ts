import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { describe, expect, test } from 'vitest';
import { memoryCounter, memoryStorage } from '../agent/adapters/memory/index.js';
import { nodeFileCounter, nodeFileStorage } from '../agent/adapters/node/index.js';
import { createStore } from '../agent/store/store.js';
import type { MonotonicCounterPort } from '../agent/ports/counter.js';
import type { StoragePort } from '../agent/ports/storage.js';
import type { RollbackReport } from '../agent/store/rollback.js';
import { DAY, reading, START, useKits } from './fixtures/store-kit.js';
import { makeAgent, memoryWorld } from './helpers/agent-kit.js';

/**
 * Issue 10 item 6: an attacker with write access to the flash saves the store's files, waits for an erase, and puts
 * them back. Without a rollback counter the erased records come back (the documented limit); with one, the old key
 * file is refused: it and its segments are deleted, and the agent audits store.rollback.
 */

const kitFor = useKits();

async function roundTrip(counter: MonotonicCounterPort | undefined): Promise<{ back: number; reports: RollbackReport[] }> {
  const kit = kitFor('node');
  const dir = kit.dir!;
  const saved = mkdtempSync(join(tmpdir(), 'store-saved-'));
  try {
    const reports: RollbackReport[] = [];
    const options = { ...(counter === undefined ? {} : { counter }), onRollback: (r: RollbackReport) => reports.push(r) };
    const store = await kit.open(options);
    await store.append([reading('hr', START, 2 * DAY, { v: 1 }), reading('lock', START, 2 * DAY, { v: 2 })]);
    await store.close();
    cpSync(dir, saved, { recursive: true }); // the attacker's copy of the flash
    const again = await kit.open(options);
    await again.eraseAll();
    expect(await again.query()).toEqual([]);
    await again.close();
    await kit.dispose();
    rmSync(dir, { recursive: true, force: true });
    cpSync(saved, dir, { recursive: true }); // ... put back after the erase
    const restored = kitFor('node');
    const files = nodeFileStorage(dir);
    const reopened = await createStore({
      storage: files, clock: restored.time, logger: restored.logger, masterKey: new Uint8Array(32).fill(7), sessionId: 'abcd', ...options,
    });
    const back = (await reopened.query()).length;
    await reopened.append([reading('hr', START + 1, 2 * DAY, { v: 3 })]);
    expect((await reopened.query()).length).toBe(back + 1); // the store works on
    await reopened.close();
    await files.close();
    return { back, reports };
  } finally {
    rmSync(saved, { recursive: true, force: true });
  }
}

describe('rollback of flash', () => {
  test('without a counter: restoring old files after an erase brings the erased records back (documented limit)', async () => {
    expect(await roundTrip(undefined)).toEqual({ back: 2, reports: [] });
  });

  test('with a counter: the old key file is refused, its segments deleted, the rollback reported', async () => {
    const { back, reports } = await roundTrip(memoryCounter());
    expect(back).toBe(0);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.fileVersion).toBeLessThan(reports[0]!.counter);
    expect(reports[0]!.removedSegments).toBeGreaterThan(0);
  });

  test('a crash between the key-file write and the counter increment is not a rollback (the file is ahead)', async () => {
    const kit = kitFor('memory');
    const counter = memoryCounter();
    let failing = true;
    const flaky: MonotonicCounterPort = { read: counter.read, increment: () => (failing ? Promise.reject(new Error('power cut')) : counter.increment()) };
    const reports: RollbackReport[] = [];
    const store = await kit.open({ counter: flaky, onRollback: (r) => reports.push(r) });
    await store.append([reading('hr', START, 2 * DAY, { v: 1 })]);
    await store.close();
    expect(counter.value()).toBe(0);
    failing = false;
    const again = await kit.open({ counter: flaky, onRollback: (r) => reports.push(r) });
    expect(await again.query()).toHaveLength(1);
    expect(reports).toEqual([]);
    expect(counter.value()).toBeGreaterThan(0); // caught up at open
    await again.close();
  });

  test('on the agent: an old flash image after erase-all is refused and store.rollback is audited', async () => {
    const world = memoryWorld();
    const storage = memoryStorage();
    const counter = memoryCounter();
    const recipientPublicKey = nacl.box.keyPair().publicKey;
    const spec = { deviceId: 'rollback', recipientPublicKey, storage, counter };
    const first = await makeAgent(world, spec);
    await first.agent.start();
    await first.agent.record('climate', { temperatureC: 20, humidityPct: 40 });
    await first.agent.stop();
    const image = await snapshot(storage);
    const second = await makeAgent(world, spec);
    await second.agent.start();
    await second.agent.rights.eraseAll();
    await second.agent.stop();
    await restore(storage, image);
    const third = await makeAgent(world, spec);
    expect(await third.agent.store.query()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(third.agent.audit.entries().filter((e) => e.type === 'store.rollback')).toHaveLength(1);
    await third.agent.stop();
  });

  test('nodeFileCounter: persists, never goes back, serialises overlapping increments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'counter-'));
    try {
      const counter = nodeFileCounter(join(dir, 'counter'));
      expect(await counter.read()).toBe(0);
      const values = await Promise.all([counter.increment(), counter.increment(), counter.increment()]);
      expect(values.sort()).toEqual([1, 2, 3]);
      expect(await nodeFileCounter(join(dir, 'counter')).read()).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function snapshot(storage: StoragePort): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of await storage.list('')) files.set(name, (await storage.read(name))!.slice());
  return files;
}

async function restore(storage: StoragePort, image: Map<string, Uint8Array>): Promise<void> {
  for (const name of await storage.list('')) if (!image.has(name)) await storage.remove(name);
  for (const [name, bytes] of image) await storage.writeAtomic(name, bytes);
}
