import { describe, expect, it } from 'vitest';
import { isTrustError } from '../agent/errors.js';
import { makeAgent, memoryWorld, pairOwner, startCollector, until, type CollectorHarness, type KitAgent, type World } from './helpers/agent-kit.js';
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

describe('owner requests under a storage fault', () => {
  it('issue scenario: a withdrawal hit by one EIO, retried; the queued withdrawn readings never leave', async () => {
    const r = await rig('eio-th');
    await queueWhileOffline(r.kit);
    r.faults.arm(2, 'eio'); // write 1 is the preference file; write 2 is inside the purge
    const first = await r.kit.agent.rights.applyPatch({ categories: { comfort: { setting: 'off' } } }).catch((e: unknown) => e);
    expect(r.faults.fired).toBe(true);
    expect(isTrustError(first, 'STORAGE')).toBe(true);
    await r.kit.agent.rights.applyPatch({ categories: { comfort: { setting: 'off' } } }); // the owner's retry
    await linkUpAndDrain(r);
    expect(r.col.data('eio-th', 'comfort')).toEqual([]);
    expect(await r.kit.agent.store.query('comfort')).toEqual([]);
    const purge = r.kit.agent.audit.entries().filter((e) => e.type === 'purge' && e.details['category'] === 'comfort');
    expect(purge.map((e) => e.details['reason'])).toContain('withdrawn');
    await r.kit.agent.stop();
  });
});

describe('over the owner channel', () => {
  it('the companion gets a rejection naming STORAGE; its retry is accepted, completes the withdrawal, and nothing withdrawn leaves', async () => {
    const r = await rig('chan-th');
    await r.kit.agent.start();
    const companion = await pairOwner(r.world, r.kit);
    await companion.setPreferences({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true });
    for (const setting of ['home', 'away', 'sleep']) await r.kit.agent.record('comfort', { setting }); // queued: the batch timer waits on virtual time
    await r.kit.agent.record('climate', { temperatureC: 21, humidityPct: 40 });
    const version = r.kit.agent.rights.preferencesVersion();
    r.faults.arm(2, 'eio'); // write 1: the request's nonce; 2: the journal
    const refused = await companion.setPreferences({ categories: { comfort: { setting: 'off' } } }).catch((e: unknown) => e);
    expect(isTrustError(refused, 'STORAGE')).toBe(true);
    expect(String((refused as Error).message)).toMatch(/nothing changed/);
    expect(r.kit.agent.status().enforced.categories['comfort']?.setting).toBe('full'); // no effect
    r.faults.arm(3, 'eio'); // write 3, the preference file, comes after the journal: committed, refused, completed by the retry
    const interrupted = await companion.setPreferences({ categories: { comfort: { setting: 'off' } } }, { expectedVersion: version }).catch((e: unknown) => e);
    expect(isTrustError(interrupted, 'STORAGE')).toBe(true);
    expect(String((interrupted as Error).message)).toMatch(/completes it/);
    expect(r.kit.agent.rights.preferencesVersion(), 'the version the owner knows, until it completes').toBe(version);
    r.faults.disarm();
    const retried = await companion.setPreferences({ categories: { comfort: { setting: 'off' } } }, { expectedVersion: version });
    expect(retried.version).toBe(version + 1);
    expect(r.kit.agent.rights.hasUnfinishedRequest()).toBe(false);
    await companion.setPreferences({ categories: { comfort: { setting: 'full' } } }, { expectedVersion: version + 1 });
    for (const setting of ['home', 'away']) await r.kit.agent.record('comfort', { setting });
    await companion.close();
    await r.world.time?.advance(5_000);
    await until(() => r.col.data('chan-th', 'climate').length === 1, 'the climate reading');
    expect(r.col.data('chan-th', 'comfort')).toEqual([{ setting: 'home' }, { setting: 'away' }]); // only those taken after the owner turned it on again
    await r.kit.agent.stop();
  });
});

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
