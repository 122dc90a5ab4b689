import { afterEach, describe, expect, it } from 'vitest';
import { registryFor } from '../agent/policy/index.js';
import { memoryStorage } from '../agent/adapters/memory/index.js';
import { makeAgent, memoryWorld, pairOwner, removeTempDirs, startCollector, until } from './helpers/agent-kit.js';

afterEach(() => removeTempDirs());

describe('R14 safe mode', () => {
  it('a paired device on an insecure link collects essential data only, and says why', async () => {
    const world = memoryWorld({ insecure: true });
    const col = await startCollector(world);
    const kit = await makeAgent(world, { deviceId: 'unsafe-th', recipientPublicKey: col.publicKey });
    col.collector.addDevice('unsafe-th', kit.agent.publicKeys.box);
    await kit.agent.start();
    const companion = await pairOwner(world, kit);
    await companion.setPreferences({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true });
    const status = kit.agent.status();
    expect(status.mode).toBe('degraded');
    expect(status.safeMode.active).toBe(true);
    expect(status.safeMode.reasons).toEqual(expect.arrayContaining(['tls-off']));
    expect(await kit.agent.record('comfort', { setting: 'away' })).toEqual({ stored: 0, queued: 0 });
    expect(await kit.agent.record('hvac', { mode: 'heat', running: true, setpointC: 20.5 })).toEqual({ stored: 1, queued: 1 });
    await kit.agent.flush();
    await until(() => col.readings.length === 1, 'the essential reading');
    expect(col.data('unsafe-th', 'comfort')).toEqual([]);
    expect(kit.agent.status().safeMode.dropped).toBe(1);
    await companion.close();
    await kit.agent.stop();
  });

  it('the same device on a secure link follows the owner settings', async () => {
    const world = memoryWorld();
    const col = await startCollector(world);
    const kit = await makeAgent(world, { deviceId: 'safe-th', recipientPublicKey: col.publicKey });
    col.collector.addDevice('safe-th', kit.agent.publicKeys.box);
    await kit.agent.start();
    const companion = await pairOwner(world, kit);
    await companion.setPreferences({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true });
    expect(kit.agent.status().safeMode).toEqual({ active: false, reasons: [], dropped: 0 });
    expect(await kit.agent.record('comfort', { setting: 'away' })).toEqual({ stored: 1, queued: 1 });
    await companion.close();
    await kit.agent.stop();
  });
});

describe('firmware registry in the config', () => {
  it('a widened registry at boot keeps the owner settings and waits for consent; a mismatched type is refused', async () => {
    const world = memoryWorld();
    const col = await startCollector(world);
    const storage = memoryStorage();
    const first = await makeAgent(world, { deviceId: 'fw-th', recipientPublicKey: col.publicKey, storage });
    await first.agent.rights.applyPatch({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true });
    const before = first.agent.status().enforced.categories['comfort'];
    await first.agent.stop();

    const shipped = registryFor('thermostat');
    const widened = {
      ...shipped, version: shipped.version + 1,
      categories: shipped.categories.map((c) => (c.name === 'comfort' ? { ...c, retentionMaxMs: c.retentionMaxMs * 2 } : c)),
    };
    const second = await makeAgent(world, { deviceId: 'fw-th', recipientPublicKey: col.publicKey, storage, config: { registry: widened } });
    const comfort = second.agent.status().enforced.categories['comfort'];
    expect(comfort?.pendingConsent).toBe(true);
    expect(comfort?.retentionMs).toBe(before?.retentionMs);
    expect(second.agent.audit.entries().some((e) => e.type === 'policy.update' && e.details['waitedForConsent'] === true)).toBe(true);
    await second.agent.stop();

    await expect(makeAgent(world, {
      deviceId: 'fw-th2', recipientPublicKey: col.publicKey, config: { registry: registryFor('smart-lock') },
    })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
