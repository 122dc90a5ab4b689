import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyDocument } from '../agent/crypto/sign.js';
import { thermostatRegistry } from '../agent/policy/index.js';
import type { Transport, TransportFactory, TransportMessage } from '../agent/ports/index.js';
import { createCompanion, generateOwnerKeys } from '../companion/index.js';
import { topics } from '../agent/topics.js';
import type { EmbeddedBroker } from '../simulator/broker.js';
import {
  makeAgent, memoryWorld, pairOwner, startCollector, startDevice, until, useBrokerWorld,
  type CollectorHarness, type KitAgent, type World,
} from './helpers/agent-kit.js';

/** The policy engine through the real agent (issue 3): first-run gate, changes over the broker, withdrawal, manifest, updates. */

const shared = useBrokerWorld();
const cleanups = shared.cleanups;
let broker: EmbeddedBroker;
let world: World;
beforeAll(() => {
  ({ broker, world } = shared.current());
});

function device(deviceId: string, w: World = world): Promise<{ kit: KitAgent; col: CollectorHarness }> {
  return startDevice(w, cleanups, deviceId);
}

describe('policy through the agent', () => {
  it('first-run gate: before the manifest is reviewed only essential categories are stored or sent', async () => {
    const { kit, col } = await device('gate-th');
    await kit.agent.rights.applyPatch({ categories: { comfort: { setting: 'full' } } }); // on, but not reviewed yet
    expect(await kit.agent.record('comfort', { setting: 'away' })).toEqual({ stored: 0, queued: 0 });
    expect(await kit.agent.record('climate', { temperatureC: 20, humidityPct: 40 })).toEqual({ stored: 1, queued: 1 });
    expect(kit.agent.status().policy.dropped['comfort']).toMatchObject({ 'first-run': 1 });
    await kit.agent.rights.reviewManifest();
    expect(await kit.agent.record('comfort', { setting: 'sleep' })).toEqual({ stored: 1, queued: 1 });
    await kit.agent.flush();
    await until(() => col.readings.length === 2, 'climate and the reviewed comfort reading');
    expect(col.data('gate-th', 'comfort')).toEqual([{ setting: 'sleep' }]);
    expect(await kit.agent.store.query('comfort')).toHaveLength(1);
  });

  it('a change made by the companion over the broker applies to the very next reading', async () => {
    const { kit, col } = await device('next-th');
    const companion = await pairOwner(world, kit);
    cleanups.push(() => companion.close());
    await kit.agent.record('climate', { temperatureC: 20.26, humidityPct: 41 });
    await companion.setPreferences({ categories: { climate: { setting: 'full' }, comfort: { setting: 'full' } }, manifestReviewed: true });
    // No wait between "accepted" and the reading: enforcement happened before the reply.
    await kit.agent.record('climate', { temperatureC: 20.26, humidityPct: 41 });
    expect(await kit.agent.record('comfort', { setting: 'home' })).toEqual({ stored: 1, queued: 1 });
    await companion.setPreferences({ categories: { comfort: { setting: 'off' } } });
    expect(await kit.agent.record('comfort', { setting: 'away' })).toEqual({ stored: 0, queued: 0 });
    await kit.agent.flush();
    await until(() => col.readings.length === 3, 'three readings');
    expect(col.data('next-th', 'climate').map((d) => d['temperatureC'])).toEqual([20.5, 20.26]);
    expect(col.data('next-th', 'comfort')).toEqual([{ setting: 'home' }]);
  });

  it('a second change right after "accepted" expects the version the reply signed, even before the new retained state arrives', async () => {
    const { kit } = await device('lag-th');
    // The retained state lags (a slow broker): once the companion holds a state report, no later one reaches it.
    let holdsState = false;
    const lagging: TransportFactory = (options) => {
      const inner = world.clientTransport()(options);
      return {
        get connected() { return inner.connected; },
        connect: () => inner.connect(),
        publish: (topic, payload, publishOptions) => inner.publish(topic, payload, publishOptions),
        subscribe: (filter, qos) => inner.subscribe(filter, qos),
        onConnection: (handler) => inner.onConnection(handler),
        close: () => inner.close(),
        onMessage: (handler: (m: TransportMessage) => void) => inner.onMessage((m) => {
          if (m.topic === topics.state('lag-th') && holdsState) return;
          handler(m);
        }),
      };
    };
    const companion = await createCompanion({ transport: lagging, ownerKeys: generateOwnerKeys(), deviceId: 'lag-th', clock: world.clock, timeoutMs: 5_000 });
    cleanups.push(() => companion.close());
    await companion.pair(kit.agent.openPairingWindow().payload);
    await until(() => companion.lastState() !== undefined, 'the first state report');
    holdsState = true;
    const first = await companion.setPreferences({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true });
    const second = await companion.setPreferences({ categories: { comfort: { setting: 'off' } } });
    expect(second.version).toBe(first.version + 1);
    expect(kit.agent.policy.preferences().categories['comfort']?.setting).toBe('off');
  });

  it('withdrawal purges stored and queued-but-unsent data of the category (R3), also while offline', async () => {
    const { kit, col } = await device('wd-th');
    await kit.agent.rights.applyPatch({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true });
    await kit.agent.record('comfort', { setting: 'home' });
    await kit.agent.flush();
    await until(() => col.readings.length === 1, 'one comfort reading while online');
    const outage = broker.restart({ downMs: 500 });
    await until(() => !kit.agent.status().connected, 'offline');
    for (const setting of ['away', 'sleep', 'home']) await kit.agent.record('comfort', { setting });
    await kit.agent.record('climate', { temperatureC: 22, humidityPct: 40 });
    expect(kit.agent.status().store.queued).toBe(4);
    await kit.agent.rights.applyPatch({ categories: { comfort: { setting: 'off' } } });
    expect(await kit.agent.store.query('comfort')).toHaveLength(0); // the delivered one too: stored data goes as well
    // Only the climate reading is left to send (it may already be on its way if the broker came back meanwhile).
    expect(kit.agent.store.census().filter((f) => f.queued && f.category !== 'climate')).toEqual([]);
    await outage;
    await until(() => col.readings.length === 2 && kit.agent.status().store.queued === 0, 'climate after reconnect');
    expect(col.data('wd-th', 'comfort')).toEqual([{ setting: 'home' }]);
    expect(col.data('wd-th', 'climate')).toHaveLength(1);
    const purge = kit.agent.audit.entries().find((e) => e.type === 'purge' && e.details['category'] === 'comfort');
    expect(purge?.details).toMatchObject({ removed: 4, reason: 'withdrawn' });
  });

  it('publishes the manifest retained and signed, equal to agent.policy.manifest(), and republishes it after a change', async () => {
    const { kit } = await device('man-th');
    const observer: Transport = world.clientTransport()({ clientId: 'man-observer', cleanSession: true });
    cleanups.push(() => observer.close());
    const docs: unknown[] = [];
    observer.onMessage((m) => {
      if (m.topic === topics.manifest('man-th')) docs.push(verifyDocument(m.payload, kit.agent.publicKeys.sign).body);
    });
    await observer.connect();
    await observer.subscribe(topics.manifest('man-th'), 1); // subscribed after publication: the retained copy arrives
    await until(() => docs.length === 1, 'retained manifest');
    expect(docs[0]).toEqual(kit.agent.policy.manifest());
    await kit.agent.rights.applyPatch({ categories: { occupancy: { setting: 'local' } }, manifestReviewed: true });
    await until(() => docs.length === 2, 'manifest after the change');
    expect(docs[1]).toEqual(kit.agent.policy.manifest());
    expect((docs[1] as { contentHash: string }).contentHash).not.toBe((docs[0] as { contentHash: string }).contentHash);
  });

  it('a registry update that widens a category stays pending (new field not sent) until acceptPending', async () => {
    const { kit, col } = await device('upd-th');
    const next = structuredClone(thermostatRegistry);
    next.version = 2;
    const climate = next.categories.find((c) => c.name === 'climate') as (typeof next.categories)[number];
    climate.fields['dewPointC'] = { type: 'number', description: 'dew point in degrees Celsius', min: -50, max: 80 };
    const update = await kit.agent.rights.updateRegistry(next);
    expect(update.pending).toEqual(['climate']);
    expect(kit.agent.status().enforced.categories['climate']).toMatchObject({ setting: 'minimised', pendingConsent: true });
    await kit.agent.record('climate', { temperatureC: 20, humidityPct: 40, dewPointC: 9 });
    await kit.agent.rights.acceptPending(['climate']);
    expect(kit.agent.status().enforced.categories['climate']?.pendingConsent).toBe(false);
    await kit.agent.record('climate', { temperatureC: 21, humidityPct: 40, dewPointC: 10 });
    await kit.agent.flush();
    await until(() => col.readings.length === 2, 'two climate readings');
    const [pending, accepted] = col.data('upd-th', 'climate');
    expect(pending).not.toHaveProperty('dewPointC');
    expect(accepted).toMatchObject({ dewPointC: 10 });
    expect(kit.agent.audit.entries().some((e) => e.type === 'policy.update' && e.details['waitedForConsent'] === true)).toBe(true);
  });
});

describe('aggregation windows on virtual time', () => {
  it('the window-flush timer closes an hourly aggregate without a further reading, and stop() leaves no timer', async () => {
    const mem = memoryWorld();
    const time = mem.time as NonNullable<World['time']>;
    const { kit, col } = await device('agg-th', mem);
    await kit.agent.rights.applyPatch({ categories: { occupancy: { setting: 'minimised', level: 'hourly-count' } }, manifestReviewed: true });
    for (let i = 0; i < 4; i++) {
      expect(await kit.agent.record('occupancy', { room: 'living', occupied: i !== 2 })).toEqual({ stored: 0, queued: 0 });
      await time.advance(60_000);
    }
    await time.advance(3_600_000); // the window closes on the timer alone
    await until(() => col.readings.length === 1, 'the hourly aggregate');
    expect(col.data('agg-th', 'occupancy')).toEqual([expect.objectContaining({ occupiedCount: 3 })]);
    expect(col.data('agg-th', 'occupancy')[0]).not.toHaveProperty('room');
    await kit.agent.stop();
    expect(mem.scheduler.pending()).toBe(0);
  });
});

describe('manifest and wire agree', () => {
  it('for random preferences, the fields the manifest says are sent are exactly what the collector receives', async () => {
    const categories = thermostatRegistry.categories.filter((c) => c.minimise.every((level) => level.aggregate === undefined));
    const readings: Record<string, Record<string, unknown>> = {
      climate: { temperatureC: 20.26, humidityPct: 41 }, hvac: { mode: 'heat', running: true, setpointC: 21.2 },
      comfort: { setting: 'away' }, labels: { deviceName: 'Hall unit', roomName: 'Hall' },
    };
    const arbitrary = fc.record(Object.fromEntries(categories.map((c) => [c.name, fc.constantFrom(...c.settings)])));
    let run = 0;
    let delivered = 0;
    await fc.assert(fc.asyncProperty(arbitrary, async (settings) => {
      const mem = memoryWorld();
      const deviceId = `prop-${run++}`;
      const col = await startCollector(mem);
      const kit = await makeAgent(mem, { deviceId, recipientPublicKey: col.publicKey });
      col.collector.addDevice(deviceId, kit.agent.publicKeys.box);
      await kit.agent.start();
      const patch: Record<string, unknown> = {};
      for (const c of categories) {
        const setting = settings[c.name] as string;
        patch[c.name] = setting === 'minimised' ? { setting, level: c.minimise[0]?.name } : { setting };
      }
      await kit.agent.rights.applyPatch({ categories: patch, manifestReviewed: true });
      for (const c of categories) await kit.agent.record(c.name, readings[c.name] as Record<string, unknown>);
      await kit.agent.flush();
      await mem.time?.advance(1_000);
      const manifest = kit.agent.policy.manifest();
      for (const c of categories) {
        const said = manifest.categories.find((m) => m.name === c.name);
        const got = col.data(deviceId, c.name);
        delivered += got.length;
        if (said === undefined || said.sentFields.length === 0) expect(got, c.name).toEqual([]);
        else expect(got.map((d) => Object.keys(d).sort()), c.name).toEqual([[...said.sentFields].sort()]);
      }
      await kit.agent.stop();
      await col.close();
    }), { numRuns: 15, seed: 42 });
    expect(delivered).toBeGreaterThan(10); // the property saw real traffic, not only 'off'
  });
});

