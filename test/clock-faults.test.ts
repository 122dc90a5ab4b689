import { describe, expect, test } from 'vitest';
import type { ClockPort } from '../agent/ports/clock.js';
import type { ClockFault } from '../agent/store/trusted-clock.js';
import { makeAgent, memoryWorld } from './helpers/agent-kit.js';
import { DAY, HOUR, START, reading, useKits, type Kit } from './fixtures/store-kit.js';
import nacl from 'tweetnacl';

/**
 * Issue 10 item 5: clock faults are detected, logged, audited, and resolved toward deletion, never toward keeping.
 * The store's clock is the kit's virtual time seen through a faulty lens; its timers (sweeps) still run on the
 * virtual scheduler, as on a device whose counter misbehaves while its timer interrupt keeps firing.
 */

const MINUTE = 60_000;
const kitFor = useKits();

function lens(kit: Kit, monotonic: (real: number) => number, wall: (real: number) => number = (w) => w): ClockPort {
  return { now: () => wall(kit.time.now()), monotonic: () => monotonic(kit.time.monotonic()) };
}

async function openWith(kit: Kit, clock: ClockPort): Promise<{ store: Awaited<ReturnType<Kit['open']>>; faults: ClockFault[] }> {
  const faults: ClockFault[] = [];
  const store = await kit.open({ clock, onClockFault: (fault) => faults.push(fault) });
  return { store, faults };
}

describe('monotonic clock faults', () => {
  test('a 32-bit millisecond counter wrapping: detected, and records still expire on time', async () => {
    const kit = kitFor('memory');
    const base = 2 ** 32 - 10 * MINUTE; // wraps 10 minutes in
    const { store, faults } = await openWith(kit, lens(kit, (m) => (base + m) % 2 ** 32));
    await store.append([reading('hr', START, 2 * HOUR, { v: 1 })]);
    await kit.time.advance(2 * HOUR + MINUTE);
    expect(await store.query()).toEqual([]);
    expect(await store.nextBatch(10)).toEqual([]);
    expect(store.trustedNow()).toBeGreaterThanOrEqual(START + 2 * HOUR);
    expect(faults.map((f) => f.kind)).toContain('monotonic-back');
    expect(store.stats().clockFaults).toBeGreaterThan(0);
    expect(kit.logger.entries.some((e) => e.message.includes('clock fault'))).toBe(true);
    await store.close();
  });

  test('a monotonic counter that stops: trusted time follows the wall clock, records expire on time', async () => {
    const kit = kitFor('memory');
    const { store, faults } = await openWith(kit, lens(kit, (m) => Math.min(m, 5 * MINUTE)));
    await store.append([reading('hr', START, 2 * HOUR, { v: 1 })]);
    await kit.time.advance(3 * HOUR);
    expect(await store.query()).toEqual([]);
    expect(faults.map((f) => f.kind)).toContain('monotonic-stalled');
    await store.close();
  });

  test('a monotonic jump forward (or the wall set back; they look alike): the later time wins, reported once', async () => {
    const kit = kitFor('memory');
    let jump = 0;
    const { store, faults } = await openWith(kit, lens(kit, (m) => m + jump));
    await store.append([reading('hr', START, 2 * HOUR, { v: 1 }), reading('temp', START, 5 * DAY, { v: 2 })]);
    jump = 3 * HOUR;
    await kit.time.advance(MINUTE);
    expect((await store.query()).map((r) => r.category)).toEqual(['temp']);
    await kit.time.advance(HOUR);
    expect(faults.filter((f) => f.kind === 'wall-behind')).toHaveLength(1);
    await store.close();
  });
});

describe('wall clock faults', () => {
  test('wall set back: retention not extended, and the fault is reported', async () => {
    const kit = kitFor('memory');
    const { store, faults } = await openWith(kit, kit.time);
    await store.append([reading('hr', START, 2 * HOUR, { v: 1 })]);
    kit.time.jumpWall(-DAY);
    await kit.time.advance(2 * HOUR + 1000);
    expect(await store.query()).toEqual([]);
    expect(faults.map((f) => f.kind)).toEqual(['wall-behind']);
    await store.close();
  });

  test('wall set forward: data within retention kept, and the fault is reported', async () => {
    const kit = kitFor('memory');
    const { store, faults } = await openWith(kit, kit.time);
    await store.append([reading('temp', START, 2 * DAY, { v: 1 })]);
    kit.time.jumpWall(10 * DAY);
    await kit.time.advance(HOUR);
    expect(await store.query()).toHaveLength(1);
    expect(faults.map((f) => f.kind)).toEqual(['wall-ahead']);
    await store.close();
  });

  test('a reboot with the wall clock far behind the persisted mark is reported', async () => {
    const kit = kitFor('memory');
    const first = await openWith(kit, kit.time);
    await kit.time.advance(2 * HOUR);
    await first.store.close();
    kit.time.jumpWall(-30 * DAY);
    const again = await openWith(kit, kit.time);
    expect(again.faults.map((f) => f.kind)).toEqual(['wall-behind-at-boot']);
    expect(again.store.trustedNow()).toBeGreaterThanOrEqual(START + 2 * HOUR);
    await again.store.close();
  });
});

describe('on the agent', () => {
  test('wall clock set far back: a fresh reading is kept (not silently counted as expired) and clock.fault is audited', async () => {
    const world = memoryWorld();
    const kit = await makeAgent(world, { deviceId: 'clock-back', recipientPublicKey: nacl.box.keyPair().publicKey });
    await kit.agent.start();
    try {
      await world.time!.advance(MINUTE);
      world.time!.jumpWall(-365 * DAY);
      await world.time!.advance(MINUTE);
      expect(await kit.agent.record('climate', { temperatureC: 20, humidityPct: 40 })).toMatchObject({ stored: 1 });
      await new Promise((resolve) => setTimeout(resolve, 10));
      const entries = kit.agent.audit.entries().filter((e) => e.type === 'clock.fault');
      expect(entries.map((e) => e.details['reason'])).toEqual(['wall-behind']);
      expect(Number(entries[0]!.details['deltaMs'])).toBeGreaterThan(300 * DAY);
    } finally {
      await kit.agent.stop();
    }
  });
});
