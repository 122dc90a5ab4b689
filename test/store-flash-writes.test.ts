import { describe, expect, test } from 'vitest';
import { memoryLogger } from '../agent/adapters/memory/logger.js';
import { memoryStorage } from '../agent/adapters/memory/storage.js';
import { createVirtualTime } from '../agent/adapters/memory/time.js';
import type { StoragePort } from '../agent/ports/storage.js';
import { createStore } from '../agent/store/store.js';
import { DAY, MASTER, START, reading } from './fixtures/store-kit.js';

/** Issue 12 item 3: bookkeeping files are written only when they must be (docs/storage.md, "Flash writes"). */

function countWrites(inner: StoragePort): { port: StoragePort; writes: Map<string, number>; syncs: number } {
  const counts = { port: inner, writes: new Map<string, number>(), syncs: 0 };
  counts.port = {
    ...inner,
    read: (name) => inner.read(name), list: (prefix) => inner.list(prefix), truncate: (name, length) => inner.truncate(name, length), remove: (name) => inner.remove(name),
    append: (name, data) => inner.append(name, data),
    writeAtomic: (name, data) => { counts.writes.set(name, (counts.writes.get(name) ?? 0) + 1); return inner.writeAtomic(name, data); },
    sync: (name) => { counts.syncs++; return inner.sync(name); },
  };
  return counts;
}

describe('flash writes of the store', () => {
  test('the trusted-time file is written at open, by the periodic sweep at most once per interval, and at close; not by the sweeps before each batch', async () => {
    const time = createVirtualTime(START);
    const counted = countWrites(memoryStorage());
    const store = await createStore({
      storage: counted.port, clock: time, scheduler: time, logger: memoryLogger(), masterKey: MASTER, sessionId: 'abcd', sweepEveryMs: 5 * 60_000,
    });
    expect(counted.writes.get('store/time')).toBe(1);
    const syncsBefore = counted.syncs;
    for (let s = 0; s < 30 * 60; s++) {
      await time.advance(1_000);
      await store.append([reading('temp', time.now(), DAY, { s })]);
      const batch = await store.nextBatch(10);
      await store.acknowledge(batch.map((r) => r.id));
    }
    // 30 minutes of one reading a second, each sent and acknowledged: 6 periodic sweeps, not one write a minute.
    expect(counted.writes.get('store/time')).toBeLessThanOrEqual(1 + 6);
    expect(counted.writes.get('store/time')).toBeGreaterThanOrEqual(1 + 5);
    // One sync per group commit: the record's, then the acknowledgement's.
    expect(counted.syncs - syncsBefore).toBe(2 * 30 * 60);
    const beforeClose = counted.writes.get('store/time') ?? 0;
    await store.close();
    expect(counted.writes.get('store/time')).toBe(beforeClose + 1);
  });
});
