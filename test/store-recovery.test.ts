import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { memoryStorage } from '../agent/adapters/memory/storage.js';
import { memoryLogger } from '../agent/adapters/memory/logger.js';
import { createVirtualTime } from '../agent/adapters/memory/time.js';
import type { StoragePort } from '../agent/ports/storage.js';
import { createStore } from '../agent/store/store.js';
import type { Store } from '../agent/store/contract.js';
import { DAY, HOUR, MASTER, START, idKey, useKits, reading, type Kind } from './fixtures/store-kit.js';

const kitFor = useKits();

async function fillTwoCategories(store: Store): Promise<void> {
  for (let i = 0; i < 40; i++) {
    await store.append([reading('temp', START + i, DAY, { i, pad: 'x'.repeat(40) }), reading('lock', START + i, 2 * DAY, { i }, { essential: true })]);
  }
}

describe.each(['memory', 'node'] as const)('recovery on %s storage', (kind) => {
  test('a damaged segment is quarantined; frames before the damage and other segments are kept; no crash loop', async () => {
    const kit = kitFor(kind);
    let store = await kit.open({ segmentBytes: 2048 });
    await fillTwoCategories(store);
    await store.close();
    const segments = await kit.storage.list('store/seg/');
    const sizes = await Promise.all(segments.map(async (name) => ((await kit.storage.read(name)) ?? new Uint8Array()).length));
    const victim = segments[sizes.indexOf(Math.max(...sizes))] ?? '';
    const bytes = (await kit.storage.read(victim)) ?? new Uint8Array();
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    await kit.storage.writeAtomic(victim, bytes);

    store = await kit.open();
    const stats = store.stats();
    expect(stats.quarantined).toBe(1);
    expect(kit.logger.find('error', 'damaged segment').length).toBe(1);
    const records = await store.query();
    expect(records.length).toBeGreaterThan(40); // only frames at and after the damage in one part are gone
    expect(records.length).toBeLessThan(80);
    expect((await kit.storage.list('store/q/')).length).toBe(1);
    await store.close();
    store = await kit.open(); // the second start finds a clean store
    expect(store.stats().quarantined).toBe(0);
    expect((await store.query()).length).toBe(records.length);
    await store.close();
  });

  test('a missing key file: segments are quarantined (unreadable), loudly; the store starts and works', async () => {
    const kit = kitFor(kind);
    let store = await kit.open();
    await fillTwoCategories(store);
    await store.close();
    const segments = await kit.storage.list('store/seg/');
    await kit.storage.remove('store/keys');
    store = await kit.open();
    expect(store.stats().quarantined).toBe(segments.length);
    expect(kit.logger.find('error', 'key file missing').length).toBe(1);
    expect(await store.query()).toEqual([]);
    await store.append([reading('temp', START, DAY, { fresh: true })]);
    expect((await store.query()).map((r) => r.data)).toEqual([{ fresh: true }]);
    // Quarantined ciphertext goes when its epoch would have ended anyway.
    await kit.time.advance(2 * DAY + HOUR);
    await store.sweep();
    expect(await kit.storage.list('store/q/')).toEqual([]);
    await store.close();
  });

  test('a corrupt key file or a wrong master key never blocks start', async () => {
    const kit = kitFor(kind);
    let store = await kit.open();
    await fillTwoCategories(store);
    await store.close();
    store = await kit.open({ masterKey: new Uint8Array(32).fill(9) });
    expect(store.stats().quarantined).toBeGreaterThan(1);
    expect(kit.logger.find('error', 'key file unreadable').length).toBe(1);
    await store.append([reading('temp', START, DAY, { after: 1 })]);
    await store.close();
    store = await kit.open({ masterKey: new Uint8Array(32).fill(9) });
    expect((await store.query()).length).toBe(1);
    await store.close();
  });

  test('a damaged ack entry only causes a resend (at-least-once)', async () => {
    const kit = kitFor(kind);
    let store = await kit.open();
    await store.append([reading('temp', START, DAY, { a: 1 }), reading('temp', START, DAY, { a: 2 })]);
    await store.acknowledge((await store.nextBatch(2)).map((r) => r.id));
    await store.close();
    const acks = (await kit.storage.read('store/acks')) ?? new Uint8Array();
    acks[3] = (acks[3] ?? 0) ^ 1;
    await kit.storage.writeAtomic('store/acks', Uint8Array.from([...acks, 1, 2, 3])); // plus a torn tail
    store = await kit.open();
    expect((await store.nextBatch(5)).map((r) => r.data)).toEqual([{ a: 1 }]);
    await store.close();
  });
});

/** A process's view of the storage: after `kill()` nothing it started reaches the disk (it never resolves). */
function processView(storage: StoragePort): { port: StoragePort; kill(): void } {
  let dead = false;
  const guard = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A): Promise<R> =>
    dead ? new Promise<R>(() => undefined) : fn(...args);
  return {
    port: {
      read: guard((n) => storage.read(n)), writeAtomic: guard((n, d) => storage.writeAtomic(n, d)),
      append: guard((n, d) => storage.append(n, d)), sync: guard((n) => storage.sync(n)),
      truncate: guard((n, l) => storage.truncate(n, l)), remove: guard((n) => storage.remove(n)),
      list: guard((p) => storage.list(p)),
    },
    kill: () => { dead = true; },
  };
}

type Command =
  | { t: 'append'; n: number; retentionH: number; transmit: boolean }
  | { t: 'ack'; n: number }
  | { t: 'sweep' }
  | { t: 'advance'; minutes: number }
  | { t: 'purgeQueued' }
  | { t: 'crash'; ticks: number; torn: boolean };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('append' as const), n: fc.integer({ min: 1, max: 6 }), retentionH: fc.integer({ min: 1, max: 8 }), transmit: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('ack' as const), n: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('sweep' as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('advance' as const), minutes: fc.integer({ min: 1, max: 200 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('purgeQueued' as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('crash' as const), ticks: fc.integer({ min: 0, max: 40 }), torn: fc.boolean() }) },
);

test('any interleaving of append, ack, sweep, purge, time and crashes keeps the store invariants', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 30 }), async (commands) => {
      const disk = memoryStorage();
      const time = createVirtualTime(START);
      let session = 0;
      let view = processView(disk);
      const open = (): Promise<Store> =>
        createStore({ storage: view.port, clock: time, logger: memoryLogger(), masterKey: MASTER, sessionId: (++session).toString(16), epochMs: HOUR, segmentBytes: 512 });
      let store = await open();
      const durable = new Map<string, { expiresAt: number; purgeable: boolean }>();
      const acked = new Set<string>();
      let at = START;
      for (const cmd of commands) {
        if (cmd.t === 'append') {
          const outputs = Array.from({ length: cmd.n }, () => reading('c', at++, cmd.retentionH * HOUR, { at }, { transmit: cmd.transmit }));
          for (const r of await store.append(outputs)) durable.set(idKey(r.id), { expiresAt: r.expiresAt, purgeable: r.transmit });
        } else if (cmd.t === 'ack') {
          const batch = await store.nextBatch(cmd.n);
          await store.acknowledge(batch.map((r) => r.id));
          for (const r of batch) {
            acked.add(idKey(r.id));
            const known = durable.get(idKey(r.id));
            if (known !== undefined) known.purgeable = false;
          }
        } else if (cmd.t === 'sweep') await store.sweep();
        else if (cmd.t === 'advance') await time.advance(cmd.minutes * 60_000);
        else if (cmd.t === 'purgeQueued') {
          await store.purge({ category: 'c', scope: 'queued', reason: 'narrowed' });
          for (const [id, known] of durable) if (known.purgeable) durable.delete(id);
        } else {
          // Start work that is NOT awaited, let it run a few steps, then pull the plug.
          const inflight = store.append([reading('c', at++, 3 * HOUR, { lost: true })]).catch(() => undefined);
          void inflight;
          for (let i = 0; i < cmd.ticks; i++) await Promise.resolve();
          view.kill();
          disk.crash({ tornTail: cmd.torn });
          view = processView(disk);
          store = await open();
        }
        await checkInvariants(store, durable, acked);
      }
      await store.close();
    }),
    { numRuns: process.env['CI'] === 'true' ? 150 : 50 },
  );
});

async function checkInvariants(store: Store, durable: Map<string, { expiresAt: number }>, acked: Set<string>): Promise<void> {
  const all = await store.query();
  const now = store.trustedNow();
  const ids = all.map((r) => idKey(r.id));
  expect(new Set(ids).size).toBe(ids.length);
  for (const r of all) expect(r.expiresAt).toBeGreaterThan(now - 1);
  const present = new Set(ids);
  for (const [id, known] of durable) if (known.expiresAt > now) expect(present.has(id), `record ${id} lost`).toBe(true);
  const queued = await store.nextBatch(10_000);
  for (const r of queued) expect(acked.has(idKey(r.id)), `acknowledged ${idKey(r.id)} resent`).toBe(false);
}
