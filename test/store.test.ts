import { describe, expect, test } from 'vitest';
import { isTrustError } from '../agent/errors.js';
import type { GateOutput } from '../agent/policy/contract.js';
import { DAY, HOUR, START, idKey, useKits, reading, type Kit, type Kind } from './fixtures/store-kit.js';

const kitFor = useKits();

describe.each(['memory', 'node'] as const)('store on %s storage', (kind) => {
  test('queue drains oldest first; acknowledged items leave the queue and stay out after reopen', async () => {
    const kit = kitFor(kind);
    let store = await kit.open();
    const stored = await store.append(
      Array.from({ length: 30 }, (_, i) => reading(i % 2 === 0 ? 'temp' : 'hvac', START + i, DAY, { i })),
    );
    expect(stored.map((r) => r.data['i'])).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const first = await store.nextBatch(10);
    expect(first.map((r) => r.data['i'])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await store.acknowledge(first.map((r) => r.id));
    expect(store.stats().queued).toBe(20);
    await store.close();
    store = await kit.open();
    const rest = await store.nextBatch(100);
    expect(rest.map((r) => r.data['i'])).toEqual(Array.from({ length: 20 }, (_, i) => i + 10));
    // Acknowledged records stay stored (local copy) until they expire.
    expect((await store.query()).length).toBe(30);
    expect((await store.query('temp')).length).toBe(15);
    // The census lists the same records from the index alone: facts equal, ten of them no longer queued.
    const census = store.census();
    const queried = await store.query();
    expect(census.map(({ queued: _q, ...facts }) => facts)).toEqual(queried.map(({ data: _d, ...facts }) => facts));
    expect(census.filter((r) => r.queued)).toHaveLength(20);
    await store.close();
  });

  test('local-only records are stored but never queued', async () => {
    const kit = kitFor(kind);
    const store = await kit.open();
    await store.append([reading('occupancy', START, DAY, { room: 'kitchen' }, { transmit: false }), reading('temp', START, DAY, { c: 20 })]);
    expect((await store.nextBatch(10)).map((r) => r.category)).toEqual(['temp']);
    expect((await store.query('occupancy')).map((r) => r.data)).toEqual([{ room: 'kitchen' }]);
    await store.close();
  });

  test('ids continue after reopen with the same session and are unique', async () => {
    const kit = kitFor(kind);
    let store = await kit.open({ sessionId: 'abcd' });
    await store.append([reading('temp', START, DAY, { a: 1 }), reading('temp', START, DAY, { a: 2 })]);
    await store.close();
    store = await kit.open({ sessionId: 'abcd' });
    const more = await store.append([reading('temp', START, DAY, { a: 3 })]);
    expect(more[0]?.id).toEqual({ session: 'abcd', seq: 2 });
    const ids = (await store.query()).map((r) => idKey(r.id));
    expect(new Set(ids).size).toBe(3);
    await store.close();
  });

  test('bad input is rejected and changes nothing', async () => {
    const kit = kitFor(kind);
    const store = await kit.open();
    const good = reading('temp', START, DAY, { c: 1 });
    const bad = [
      { ...good, expiresAt: Number.NaN },
      { ...good, category: '' },
      { ...good, data: null },
      { ...good, transmit: 'yes' },
      { ...good, data: { when: new Date(0) } },
      { ...good, data: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } } },
      { ...good, data: { x: Number.POSITIVE_INFINITY } },
    ] as unknown as GateOutput[];
    for (const item of bad) {
      await expect(store.append([good, item])).rejects.toSatisfy((e) => isTrustError(e, 'INVALID_ARGUMENT'));
    }
    await expect(store.nextBatch(0)).rejects.toSatisfy((e) => isTrustError(e, 'INVALID_ARGUMENT'));
    await expect(store.purge({ category: 'temp', scope: 'nope', reason: 'withdrawn' } as never)).rejects.toThrow();
    expect(store.stats().records).toBe(0);
    expect(await kit.storage.list('store/seg/')).toEqual([]);
    await store.acknowledge([{ session: 'ffff', seq: 9 }]); // unknown ids are ignored
    await store.close();
    await expect(store.append([good])).rejects.toSatisfy((e) => isTrustError(e, 'CLOSED'));
  });

  test('a reading already past its deadline is not stored and is counted', async () => {
    const kit = kitFor(kind);
    const store = await kit.open();
    const out = await store.append([reading('temp', START - DAY, HOUR, { c: 1 }), reading('temp', START, HOUR, { c: 2 })]);
    expect(out.map((r) => r.data)).toEqual([{ c: 2 }]);
    expect(store.stats().dropped.expired).toBe(1);
    expect(store.stats().dropped.expiredUnsent).toBe(1);
    await store.close();
  });

  test('withdrawal purges the category, stored and queued; other categories untouched', async () => {
    const kit = kitFor(kind);
    let store = await kit.open();
    await store.append([reading('hr', START, DAY, { bpm: 70 }), reading('steps', START, DAY, { n: 5 }), reading('hr', START + 1, 3 * DAY, { bpm: 71 })]);
    const report = await store.purge({ category: 'hr', scope: 'all', reason: 'withdrawn' });
    expect(report).toEqual({ category: 'hr', removed: 2, reason: 'withdrawn' });
    expect((await store.nextBatch(10)).map((r) => r.category)).toEqual(['steps']);
    await store.close();
    store = await kit.open();
    expect((await store.query()).map((r) => r.category)).toEqual(['steps']);
    expect(store.stats().dropped.purged).toBe(0); // counters are per open
    await store.close();
  });

  test('queued purge removes only unsent items; sent and local-only copies stay', async () => {
    const kit = kitFor(kind);
    let store = await kit.open();
    const [sent] = await store.append([reading('loc', START, DAY, { n: 'sent' })]);
    await store.acknowledge([sent!.id]);
    await store.append([
      reading('loc', START + 1, DAY, { n: 'unsent' }),
      reading('loc', START + 2, DAY, { n: 'local' }, { transmit: false }),
      reading('temp', START + 3, DAY, { n: 'other' }),
    ]);
    const report = await store.purge({ category: 'loc', scope: 'queued', reason: 'narrowed' });
    expect(report.removed).toBe(1);
    expect((await store.query('loc')).map((r) => r.data['n'])).toEqual(['sent', 'local']);
    expect((await store.nextBatch(10)).map((r) => r.data['n'])).toEqual(['other']);
    await store.close();
    store = await kit.open();
    expect((await store.query('loc')).map((r) => r.data['n'])).toEqual(['sent', 'local']);
    expect((await store.nextBatch(10)).map((r) => r.data['n'])).toEqual(['other']);
    await store.close();
  });

  test('narrowed retention deletes what is older and caps the rest', async () => {
    const kit = kitFor(kind);
    let store = await kit.open();
    await store.append([reading('temp', START - 10 * HOUR, 7 * DAY, { n: 'old' }), reading('temp', START - HOUR, 7 * DAY, { n: 'new' })]);
    const report = await store.purge({ category: 'temp', scope: 'all', maxAgeMs: 5 * HOUR, reason: 'retention' });
    expect(report.removed).toBe(1);
    const left = await store.query('temp');
    expect(left.map((r) => [r.data['n'], r.expiresAt])).toEqual([['new', START + 4 * HOUR]]);
    await store.close();
    store = await kit.open();
    expect((await store.query('temp')).map((r) => r.expiresAt)).toEqual([START + 4 * HOUR]);
    await kit.time.advance(4 * HOUR + 1);
    expect(await store.query('temp')).toEqual([]);
    await store.close();
  });

  test('erase removes every record, key and segment and reports per category', async () => {
    const kit = kitFor(kind);
    const store = await kit.open();
    await store.append([reading('a', START, DAY, { x: 1 }), reading('b', START, DAY, { x: 2 }), reading('a', START, 2 * DAY, { x: 3 })]);
    const [ack] = await store.nextBatch(1);
    await store.acknowledge([ack!.id]);
    const reports = await store.eraseAll();
    expect(reports.sort((x, y) => x.category.localeCompare(y.category))).toEqual([
      { category: 'a', removed: 2, reason: 'erase' },
      { category: 'b', removed: 1, reason: 'erase' },
    ]);
    expect(await store.query()).toEqual([]);
    expect(await kit.storage.list('store/seg/')).toEqual([]);
    expect(await kit.storage.list('store/acks')).toEqual([]);
    await store.append([reading('a', START, DAY, { x: 4 })]);
    expect((await store.exportRecords()).map((r) => r.data)).toEqual([{ x: 4 }]);
    await store.close();
  });
});

describe('durability modes', () => {
  const countingSyncs = (kit: Kit): { syncs: number } => {
    const counter = { syncs: 0 };
    const sync = kit.storage.sync.bind(kit.storage);
    kit.storage.sync = (name) => {
      counter.syncs++;
      return sync(name);
    };
    return counter;
  };

  test.each(['each', 'group'] as const)('%s: a resolved append survives a power cut', async (mode) => {
    const kit = kitFor('memory');
    let store = await kit.open({ durability: { mode } });
    const stored = await store.append([reading('temp', START, DAY, { v: 1 }), reading('lock', START, DAY, { v: 2 })]);
    kit.memory?.crash({ tornTail: true });
    store = await kit.open();
    expect((await store.query()).map((r) => idKey(r.id)).sort()).toEqual(stored.map((r) => idKey(r.id)).sort());
    await store.close();
  });

  test('group commit shares syncs between concurrent writers', async () => {
    const kit = kitFor('memory');
    const store = await kit.open({ durability: { mode: 'group' } });
    await store.append([reading('temp', START, DAY, { warm: 1 })]); // the key file write is not part of the count
    const counter = countingSyncs(kit);
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.append([reading('temp', START + i, DAY, { i })])));
    expect(counter.syncs).toBeGreaterThan(0);
    expect(counter.syncs).toBeLessThan(10);
    await store.close();
  });

  test('each mode syncs every call', async () => {
    const kit = kitFor('memory');
    const store = await kit.open({ durability: { mode: 'each' } });
    await store.append([reading('temp', START, DAY, { warm: 1 })]);
    const counter = countingSyncs(kit);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.append([reading('temp', START + i, DAY, { i })])));
    expect(counter.syncs).toBe(20);
    await store.close();
  });

  test('group commit with a gathering delay resolves on the scheduler', async () => {
    const kit = kitFor('memory');
    const store = await kit.open({ durability: { mode: 'group', groupCommitMs: 5 } });
    let done = false;
    const pending = store.append([reading('temp', START, DAY, { v: 1 })]).then(() => (done = true));
    for (let i = 0; i < 50; i++) await Promise.resolve();
    expect(done).toBe(false);
    await kit.time.advance(5);
    await pending;
    expect(done).toBe(true);
    await store.close();
  });
});
