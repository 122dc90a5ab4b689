import { describe, expect, it } from 'vitest';
import { isTrustError } from '../agent/errors.js';
import { makeAgent, memoryWorld, startCollector, until, type CollectorHarness, type KitAgent, type World } from './helpers/agent-kit.js';
import { faultyStorage, type FaultyStorage } from './helpers/fault-storage.js';

/**
 * Issue 10 item 3: an owner request under a failing storage write. What counts is what the collector (real crypto)
 * receives once the link is up: never a reading the owner's final choice forbids.
 */

interface Rig { world: World; col: CollectorHarness; kit: KitAgent; faults: FaultyStorage }

async function rig(deviceId: string): Promise<Rig> {
  const world = memoryWorld();
  const col = await startCollector(world);
  const faults = faultyStorage();
  const kit = await makeAgent(world, { deviceId, recipientPublicKey: col.publicKey, storage: faults.storage });
  col.collector.addDevice(deviceId, kit.agent.publicKeys.box);
  return { world, col, kit, faults };
}

/** Comfort on and reviewed; three comfort readings and one climate reading queued while the link is down. */
async function queueWhileOffline(kit: KitAgent): Promise<void> {
  await kit.agent.rights.applyPatch({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true });
  for (const setting of ['home', 'away', 'sleep']) await kit.agent.record('comfort', { setting });
  await kit.agent.record('climate', { temperatureC: 21, humidityPct: 40 });
}

async function linkUpAndDrain(r: Rig): Promise<void> {
  await r.kit.agent.start();
  await r.kit.agent.flush();
  await r.world.time?.advance(5_000);
  await until(() => r.col.data(r.kit.agent.deviceId, 'climate').length === 1, 'the climate reading');
}

describe('the send-time gate', () => {
  it('a withdrawal interrupted and never retried: the queued readings are withheld and purged at send time, not sent', async () => {
    const r = await rig('gate-th');
    await queueWhileOffline(r.kit);
    r.faults.arm(2, 'eio');
    await r.kit.agent.rights.applyPatch({ categories: { comfort: { setting: 'off' } } }).catch(() => undefined);
    r.faults.disarm();
    await linkUpAndDrain(r);
    expect(r.col.data('gate-th', 'comfort')).toEqual([]);
    expect(r.kit.agent.store.census().filter((f) => f.category === 'comfort' && f.queued)).toEqual([]);
    await r.kit.agent.stop();
  });

  it('a category made local-only, whose queued readings were left queued, sends none of them', async () => {
    const r = await rig('local-th');
    await queueWhileOffline(r.kit);
    r.faults.arm(2, 'eio');
    await r.kit.agent.rights.applyPatch({ categories: { comfort: { setting: 'local' } } }).catch(() => undefined);
    r.faults.disarm();
    await linkUpAndDrain(r);
    expect(r.col.data('local-th', 'comfort')).toEqual([]);
    await r.kit.agent.stop();
  });
});
