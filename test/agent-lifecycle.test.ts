import { describe, expect, it } from 'vitest';
import { verifyTrail } from '../agent/audit/index.js';
import { PREFERENCES_FILE } from '../agent/policy/index.js';
import { generateOwnerKeys } from '../companion/index.js';
import { makeAgent, memoryWorld, pairOwner, startCollector, startCompanion, until, type World } from './helpers/agent-kit.js';

/** Lifecycle of the real agent on the in-process broker and virtual time: boot offline, stop ordering, timers, local transfer. */

async function setup(world: World, deviceId: string) {
  const col = await startCollector(world);
  const kit = await makeAgent(world, { deviceId, recipientPublicKey: col.publicKey });
  col.collector.addDevice(deviceId, kit.agent.publicKeys.box);
  return { kit, col };
}

describe('agent lifecycle', () => {
  it('a boot with the broker unreachable fails start() but can retry; readings taken meanwhile are sent after', async () => {
    const world = memoryWorld();
    const broker = world.memoryBroker as NonNullable<World['memoryBroker']>;
    const { kit, col } = await setup(world, 'boot-th');
    broker.outage(true);
    await expect(kit.agent.start()).rejects.toMatchObject({ code: 'TRANSPORT' });
    expect(kit.agent.status().started).toBe(false);
    await kit.agent.record('climate', { temperatureC: 12, humidityPct: 50 });
    broker.outage(false);
    await kit.agent.start();
    await kit.agent.flush();
    await until(() => col.readings.length === 1, 'reading after the retried start');
    expect(kit.agent.audit.entries().filter((e) => e.type === 'agent.start')).toHaveLength(2);
    await kit.agent.stop();
    expect(world.scheduler.pending()).toBe(0);
  });

  it('stop() drains what is queued, says offline, closes the files; the agent cannot be restarted or record', async () => {
    const world = memoryWorld();
    const { kit, col } = await setup(world, 'stop-th');
    await kit.agent.start();
    for (let i = 0; i < 5; i++) await kit.agent.record('climate', { temperatureC: i, humidityPct: 50 });
    expect(kit.agent.status().store.queued).toBe(5);
    await kit.agent.stop(); // before the batch delay fired: stop itself sends them
    await until(() => col.readings.length === 5, 'queued readings sent by stop');
    expect(world.memoryBroker?.retained('ta/v1/stop-th/status')).toEqual(new TextEncoder().encode('offline'));
    expect(world.scheduler.pending()).toBe(0);
    await expect(kit.agent.start()).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(kit.agent.record('climate', { temperatureC: 1, humidityPct: 50 })).rejects.toMatchObject({ code: 'CLOSED' });
    await kit.agent.stop(); // idempotent
  });

  it('a reading recorded before start() is durable and queued, and sent once started', async () => {
    const world = memoryWorld();
    const { kit, col } = await setup(world, 'early-th');
    expect(await kit.agent.record('hvac', { mode: 'auto', running: false, setpointC: 20 })).toEqual({ stored: 1, queued: 1 });
    await world.time?.advance(5_000); // the batch timer fires while offline: nothing is lost
    expect(kit.agent.status().store.queued).toBe(1);
    await kit.agent.start();
    await until(() => col.readings.length === 1, 'sent after start');
    await until(() => kit.agent.status().store.queued === 0, 'acknowledged');
    await kit.agent.stop();
  });

  it('a withdrawal during a paced drain: a batch fetched before the purge is not sent after it', async () => {
    const world = memoryWorld();
    const col = await startCollector(world);
    const kit = await makeAgent(world, {
      deviceId: 'race-th', recipientPublicKey: col.publicKey, config: { telemetry: { maxBatch: 1, drainPerSecond: 1, batchDelayMs: 10 } },
    });
    col.collector.addDevice('race-th', kit.agent.publicKeys.box);
    await kit.agent.rights.applyPatch({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true });
    for (const setting of ['home', 'away', 'sleep']) await kit.agent.record('comfort', { setting });
    await kit.agent.start(); // drains one envelope, fetches the next, then waits 1 s (virtual) for the pace
    await until(() => col.readings.length === 1, 'first envelope');
    const timers = world.scheduler.pending();
    await until(() => world.scheduler.pending() > timers, 'the drain holds the next batch and waits for its pace');
    await kit.agent.rights.applyPatch({ categories: { comfort: { setting: 'off' } } });
    await world.time?.advance(10_000);
    expect(col.data('race-th', 'comfort')).toEqual([{ setting: 'home' }]);
    expect(kit.agent.status().store.queued).toBe(0);
    await kit.agent.stop();
    expect(world.scheduler.pending()).toBe(0);
  });

  it('a local ownership transfer (no companion) also forgets the owner and records a degraded self-check', async () => {
    const world = memoryWorld();
    const { kit } = await setup(world, 'local-xfer');
    await kit.agent.start();
    const ownerKeys = generateOwnerKeys();
    const companion = await pairOwner(world, kit, ownerKeys);
    expect(kit.agent.status().mode).toBe('normal');
    await kit.agent.rights.transferOwnership();
    expect(kit.agent.status().paired).toBe(false);
    expect(kit.agent.status().mode).toBe('degraded');
    const checks = kit.agent.audit.entries().filter((e) => e.type === 'selfcheck').map((e) => e.details['secure']);
    expect(checks).toEqual([false, true, false]); // start (unpaired), paired, transferred
    await companion.close();
    // Anyone with the button can pair now; the old owner key is not special any more.
    const next = await startCompanion(world, 'local-xfer');
    await next.pair(kit.agent.openPairingWindow().payload);
    expect(kit.agent.status().paired).toBe(true);
    await next.close();
    await kit.agent.stop();
    expect(world.scheduler.pending()).toBe(0);
  });

  it('reboots after an ownership transfer under the new keys; the trail verifies across the rotation', async () => {
    const world = memoryWorld();
    const { kit, col } = await setup(world, 'reboot-xfer');
    await kit.agent.start();
    const oldSign = kit.agent.publicKeys.sign;
    await kit.agent.record('climate', { temperatureC: 10, humidityPct: 50 });
    await kit.agent.rights.transferOwnership();
    const keys = kit.agent.publicKeys;
    await kit.agent.record('climate', { temperatureC: 11, humidityPct: 50 });
    await kit.agent.stop();
    const again = await makeAgent(world, { deviceId: 'reboot-xfer', recipientPublicKey: col.publicKey, storage: kit.storage });
    expect(again.agent.publicKeys).toEqual(keys);
    expect((await again.agent.store.query()).map((r) => r.data['temperatureC'])).toEqual([11]);
    const result = verifyTrail(again.agent.audit.exportTrail(), keys.sign, { previousKeys: [oldSign] });
    expect(result.ok).toBe(true);
    expect(result.trusted.some((e) => e.type === 'ownership.transfer')).toBe(true);
    await again.agent.stop();
  });

  it('a corrupt preference file at boot: defaults, first-run gate closed again, optional data purged before any reading', async () => {
    const world = memoryWorld();
    const { kit } = await setup(world, 'corrupt-prefs');
    await kit.agent.rights.applyPatch({ categories: { labels: { setting: 'local' } }, manifestReviewed: true });
    await kit.agent.record('labels', { deviceName: 'Den', roomName: 'Loft' });
    await kit.agent.stop();
    await kit.storage.writeAtomic(PREFERENCES_FILE, new Uint8Array([0xff, 0x00, 0x13, 0x37]));
    const again = await makeAgent(world, { deviceId: 'corrupt-prefs', recipientPublicKey: new Uint8Array(32).fill(3), storage: kit.storage });
    expect(again.agent.policy.startup.recoveredCorrupt).toBe(true);
    expect(again.agent.status().enforced.manifestReviewed).toBe(false);
    expect(again.agent.status().enforced.categories['labels']?.setting).toBe('off');
    expect(await again.agent.store.query('labels')).toEqual([]);
    expect(again.agent.audit.entries().some((e) => e.type === 'purge' && e.details['category'] === 'labels')).toBe(true);
    await again.agent.stop();
  });

  it('hands out copies of its public keys, and a throwing onStored observer does not fail a durable record()', async () => {
    const world = memoryWorld();
    const { kit } = await setup(world, 'guard-th');
    const box = kit.agent.publicKeys.box;
    box.fill(0);
    expect(kit.agent.publicKeys.box).not.toEqual(box);
    kit.agent.onStored(() => { throw new Error('observer bug'); });
    expect(await kit.agent.record('climate', { temperatureC: 20, humidityPct: 40 })).toEqual({ stored: 1, queued: 1 });
    expect(world.logger.entries.some((e) => e.message === 'onStored listener failed')).toBe(true);
    await kit.agent.stop();
  });
});
