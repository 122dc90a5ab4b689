import { describe, expect, test } from 'vitest';
import { utf8Encode } from '../agent/codec/utf8.js';
import { createVirtualTime } from '../agent/adapters/memory/time.js';
import { openFrame, scanSegment } from '../agent/store/frames.js';
import { deriveSecrets, loadKeyFile, type EpochKey } from '../agent/store/sealed-files.js';
import { createStore } from '../agent/store/store.js';
import type { StoredRecord } from '../agent/store/contract.js';
import { DAY, HOUR, MASTER, START, containsBytes, idKey, useKits, rawFiles, reading, type Kit, type Kind } from './fixtures/store-kit.js';

const MINUTE = 60_000;
const kitFor = useKits();

async function liveKeys(kit: Kit): Promise<EpochKey[]> {
  const state = await loadKeyFile(kit.storage, 'store/keys', deriveSecrets(MASTER));
  if (state.status !== 'ok') throw new Error(`key file ${state.status}`);
  return state.keys;
}

/** Frames in every raw file that open under any of `keys`, and whether any marker appears in plain bytes. */
async function scanRaw(kit: Kit, keys: EpochKey[], markers: string[]): Promise<{ decryptable: number; plaintext: string[] }> {
  let decryptable = 0;
  const plaintext: string[] = [];
  for (const [name, bytes] of await rawFiles(kit)) {
    for (const marker of markers) if (containsBytes(bytes, utf8Encode(marker))) plaintext.push(`${name}:${marker}`);
    for (const frame of scanSegment(bytes).frames) {
      for (const key of keys) if (openFrame(bytes, frame, key.key) !== undefined) decryptable++;
    }
  }
  return { decryptable, plaintext };
}

describe.each(['memory', 'node'] as const)('retention on %s storage', (kind) => {
  test('raw files after expiry and after erase: nothing decryptable, no plaintext values', async () => {
    const kit = kitFor(kind);
    const store = await kit.open();
    const hr = Array.from({ length: 20 }, (_, i) => reading('hr', START + i, 2 * HOUR, { note: `MARKER-HR-${i}` }));
    const lock = Array.from({ length: 20 }, (_, i) => reading('lock', START + i, 3 * DAY, { who: `MARKER-LOCK-${i}` }, { essential: true }));
    await store.append([...hr, ...lock]);
    const keys = await liveKeys(kit);
    const hrKeys = keys.filter((k) => k.category === 'hr');
    const markers = ['MARKER-HR', 'MARKER-LOCK'];
    // Positive control: the captured keys do open the frames, and the plain values are not on disk.
    expect(await scanRaw(kit, hrKeys, markers)).toEqual({ decryptable: 20, plaintext: [] });

    await kit.time.advance(3 * HOUR);
    await store.sweep();
    expect(await scanRaw(kit, hrKeys, markers)).toEqual({ decryptable: 0, plaintext: [] });
    expect((await liveKeys(kit)).some((k) => k.category === 'hr')).toBe(false);
    expect((await scanRaw(kit, keys, [])).decryptable).toBe(20); // the lock records are still there
    expect(store.stats().dropped.expired).toBe(20);

    await store.eraseAll();
    expect(await scanRaw(kit, keys, markers)).toEqual({ decryptable: 0, plaintext: [] });
    expect(await liveKeys(kit)).toEqual([]);
    await store.close();
  });

  test('offline for days on the virtual clock: nothing lost within retention, nothing sent past it', async () => {
    const kit = kitFor(kind);
    let store = await kit.open();
    const appended: StoredRecord[] = [];
    const retention = { temp: 2 * DAY, lock: 7 * DAY, hr: 12 * HOUR } as const;
    for (let step = 0; step < 5 * 24 * 6; step++) {
      if (step === 2 * 24 * 6) {
        await store.close(); // a reboot in the middle of the outage
        store = await kit.open();
      }
      const now = kit.time.now();
      const batch = (Object.keys(retention) as (keyof typeof retention)[]).map((category) =>
        reading(category, now, retention[category], { step }, { essential: category === 'lock' }),
      );
      appended.push(...(await store.append(batch)));
      await kit.time.advance(10 * MINUTE);
    }
    // Reconnect: drain at a bounded rate, acknowledging each batch after its (simulated) PUBACK.
    const delivered: StoredRecord[] = [];
    for (;;) {
      const batch = await store.nextBatch(40);
      if (batch.length === 0) break;
      for (const record of batch) expect(record.expiresAt).toBeGreaterThan(kit.time.now());
      delivered.push(...batch);
      await store.acknowledge(batch.map((r) => r.id));
      await kit.time.advance(1000);
    }
    const end = kit.time.now();
    const ids = delivered.map((r) => idKey(r.id));
    expect(new Set(ids).size).toBe(ids.length);
    const mustArrive = appended.filter((r) => r.expiresAt > end).map((r) => idKey(r.id));
    expect(mustArrive.length).toBeGreaterThan(1000);
    const got = new Set(ids);
    expect(mustArrive.filter((id) => !got.has(id))).toEqual([]);
    const ats = delivered.map((r) => r.at);
    expect([...ats].sort((a, b) => a - b)).toEqual(ats);
    expect(delivered.some((r) => r.category === 'hr' && r.at < START + 4 * DAY)).toBe(false);
    expect(store.stats().dropped.expiredUnsent).toBeGreaterThan(0);
    expect((await store.query()).every((r) => r.expiresAt > kit.time.now())).toBe(true);
    await store.close();
  });

  test('overflow drops oldest non-essential first, essential last, and counts every drop', async () => {
    const kit = kitFor(kind);
    const store = await kit.open({ limits: { maxRecords: 100 }, segmentBytes: 1024 });
    for (let i = 0; i < 200; i++) {
      const batch = [reading('temp', START + i, DAY, { i })];
      if (i % 5 === 0) batch.push(reading('lock', START + i, DAY, { i }, { essential: true }));
      await store.append(batch);
    }
    let records = await store.query();
    expect(records.length).toBeLessThanOrEqual(100);
    expect(records.filter((r) => r.essential).length).toBe(40);
    const temps = records.filter((r) => !r.essential).map((r) => r.data['i'] as number);
    expect(Math.min(...temps)).toBeGreaterThan(100); // oldest went first
    expect(temps).toEqual(Array.from({ length: temps.length }, (_, k) => 200 - temps.length + k));
    expect(store.stats().dropped.overflow).toBe(240 - records.length);

    await store.append(Array.from({ length: 120 }, (_, i) => reading('lock', START + 1000 + i, DAY, { i: 1000 + i }, { essential: true })));
    records = await store.query();
    expect(records.length).toBeLessThanOrEqual(100);
    expect(records.every((r) => r.essential)).toBe(true);
    expect(records.at(-1)?.data['i']).toBe(1119);
    expect(store.stats().dropped.overflow).toBe(360 - records.length);
    expect(store.stats().records).toBe(records.length);
    await store.close();
  });
});

describe('clock rule', () => {
  test('a clock set backwards does not extend retention', async () => {
    const kit = kitFor('memory');
    const store = await kit.open();
    await store.append([reading('hr', START, 2 * HOUR, { v: 1 })]);
    kit.time.jumpWall(-DAY);
    await kit.time.advance(2 * HOUR + 1000);
    expect(await store.nextBatch(10)).toEqual([]);
    expect(await store.query()).toEqual([]);
    expect(store.trustedNow()).toBeGreaterThanOrEqual(START + 2 * HOUR);
    expect(store.stats().records).toBe(0); // its epoch was shredded on time
    expect(store.stats().clockRejected).toBeGreaterThan(0);
    await store.close();
  });

  test('a forward jump is bounded by monotonic time; trustTime accepts an authenticated time', async () => {
    const kit = kitFor('memory');
    const store = await kit.open();
    await store.append([reading('temp', START, 2 * DAY, { v: 1 })]);
    kit.time.jumpWall(10 * DAY);
    await kit.time.advance(HOUR);
    expect((await store.nextBatch(10)).length).toBe(1);
    expect(store.trustedNow()).toBeLessThan(START + 2 * HOUR);
    store.trustTime(kit.time.now());
    expect(await store.nextBatch(10)).toEqual([]);
    await store.close();
  });

  test('a reboot into an earlier clock cannot resurrect retention (persisted high-water mark)', async () => {
    const kit = kitFor('node');
    const store = await kit.open();
    await store.append([reading('hr', START, 2 * HOUR, { v: 1 })]);
    await kit.time.advance(90 * MINUTE);
    await store.close();
    const rebooted = createVirtualTime(START - DAY); // monotonic restarts, RTC lost a day
    const again = await createStore({ storage: kit.storage, clock: rebooted, logger: kit.logger, masterKey: MASTER, sessionId: 'beef' });
    expect((await again.query()).length).toBe(1);
    await rebooted.advance(31 * MINUTE);
    expect(await again.query()).toEqual([]);
    expect(await again.nextBatch(5)).toEqual([]);
    await again.close();
  });
});
