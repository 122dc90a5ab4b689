import fc from 'fast-check';
import nacl from 'tweetnacl';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EnvelopeReading } from '../agent/codec/envelope.js';
import { keyId, toHex } from '../agent/crypto/keys.js';
import type { Transport } from '../agent/ports/transport.js';
import { topics } from '../agent/topics.js';
import { createCollector, type KnownDevice } from '../collector/index.js';
import { DAY, makeDevice, makeWorld, reading, readings, T0, wireTestRandom } from './envelope-fixtures.js';

beforeAll(wireTestRandom);

const TOPIC = topics.telemetry('thermo-1');
const ids = (list: Array<{ reading: EnvelopeReading }>) => list.map(({ reading: r }) => `${r.id.session}/${r.id.seq}`);

describe('delivery, replay and dedup', () => {
  it('delivers readings with their envelope metadata', () => {
    const world = makeWorld();
    const device = world.device('thermo-1');
    const metas: unknown[] = [];
    world.collector.onReading((_d, _r, meta) => metas.push(meta));
    world.clock.now = T0 + 250;
    const result = world.collector.ingest(TOPIC, device.sealer.seal('telemetry', readings(device, 0, 3), T0));
    expect(result).toMatchObject({ ok: true, deviceId: 'thermo-1', duplicates: 0, expired: 0 });
    expect(result.ok && result.delivered).toEqual(readings(device, 0, 3));
    expect(world.delivered.map((d) => d.deviceId)).toEqual(['thermo-1', 'thermo-1', 'thermo-1']);
    expect(metas[0]).toEqual({ envelopeTs: T0, receivedAt: T0 + 250, envelopeSession: device.sealer.sessionHex, envelopeSeq: 0 });
    expect(world.collector.stats()).toMatchObject({ received: 1, accepted: 1, readings: 3 });
  });

  it('the same envelope again is a replay and delivers nothing', () => {
    const world = makeWorld();
    const device = world.device('thermo-1');
    const envelope = device.sealer.seal('telemetry', readings(device, 0, 2), T0);
    expect(world.collector.ingest(TOPIC, envelope).ok).toBe(true);
    expect(world.collector.ingest(TOPIC, envelope)).toEqual({ ok: false, reason: 'replay', code: 'REPLAY' });
    expect(world.collector.ingest(TOPIC, envelope.slice()).ok).toBe(false);
    expect(world.delivered).toHaveLength(2);
    expect(world.collector.stats()).toMatchObject({ received: 3, accepted: 1, readings: 2, rejected: { replay: 2 } });
  });

  it('fast-check: at-least-once redelivery in any order delivers every reading exactly once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat(19), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (batches, repeats) => {
          const world = makeWorld();
          // The agent re-seals queued readings after a reconnect: same reading ids, new envelopes.
          const device = world.device('thermo-1');
          const envelopes = batches.map((seqs) => device.sealer.seal('telemetry', seqs.map((q) => reading(device.sealer.sessionId, q)), T0));
          const order = [...envelopes, ...repeats.map((r) => envelopes[r % envelopes.length]!)];
          for (const envelope of order) world.collector.ingest(TOPIC, envelope);
          const expected = [...new Set(batches.flat())].map((q) => `${device.sealer.sessionHex}/${q}`);
          const got = ids(world.delivered);
          const stats = world.collector.stats();
          return (
            got.length === expected.length && new Set(got).size === got.length && expected.every((e) => got.includes(e)) &&
            stats.accepted === envelopes.length && stats.rejected.replay === repeats.length &&
            stats.duplicates === batches.flat().length - expected.length
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('readings of an earlier boot session in a new session envelope are deduplicated by their own id', () => {
    const world = makeWorld();
    const before = world.device('thermo-1');
    const queued = readings(before, 0, 4);
    world.collector.ingest(TOPIC, before.sealer.seal('telemetry', queued.slice(0, 2), T0));
    // Reboot: new session, same identity; the durable queue still holds all four (two were never acknowledged).
    const after = makeDevice('thermo-1', world.collector.publicKey);
    world.collector.addDevice('thermo-1', after.identity.boxPublicKey);
    const result = world.collector.ingest(TOPIC, after.sealer.seal('telemetry', queued, T0 + 1000));
    expect(result).toMatchObject({ ok: true, duplicates: 2 });
    expect(ids(world.delivered)).toEqual(queued.map((r) => `${r.id.session}/${r.id.seq}`));
  });

  it('same reading ids from two devices are different readings', () => {
    const world = makeWorld();
    const a = world.device('thermo-1');
    const b = world.device('thermo-2');
    const shared = [reading('aaaaaaaaaaaaaaaa', 1)];
    world.collector.ingest(TOPIC, a.sealer.seal('telemetry', shared, T0));
    world.collector.ingest(topics.telemetry('thermo-2'), b.sealer.seal('telemetry', shared, T0));
    expect(world.delivered.map((d) => d.deviceId)).toEqual(['thermo-1', 'thermo-2']);
  });

  it('readings past their expiry are counted and not delivered', () => {
    const world = makeWorld();
    const device = world.device('thermo-1');
    const fresh = reading(device.sealer.sessionId, 1);
    const stale = { ...reading(device.sealer.sessionId, 2), expiresAt: T0 - 1 };
    const exactly = { ...reading(device.sealer.sessionId, 3), expiresAt: T0 };
    const result = world.collector.ingest(TOPIC, device.sealer.seal('telemetry', [fresh, stale, exactly], T0));
    expect(result).toMatchObject({ ok: true, expired: 2 });
    expect(world.delivered.map((d) => d.reading)).toEqual([fresh]);
    // Days later, a redelivery of a once-fresh reading is expired, not delivered again.
    world.clock.now = T0 + 8 * DAY;
    world.collector.ingest(TOPIC, device.sealer.seal('telemetry', [fresh], T0 + 8 * DAY));
    expect(world.collector.stats()).toMatchObject({ readings: 1, expiredOnArrival: 3, duplicates: 0 });
  });

  it('an envelope far behind the replay window is refused as a replay', () => {
    const world = { now: T0 };
    const secret = nacl.box.keyPair().secretKey;
    const collector = createCollector({ secretKey: secret, now: () => world.now, replayWindow: 4 });
    const device = makeDevice('thermo-1', collector.publicKey);
    collector.addDevice('thermo-1', device.identity.boxPublicKey);
    const envelopes = Array.from({ length: 10 }, (_, i) => device.sealer.seal('telemetry', [reading(device.sealer.sessionId, i)], T0));
    expect(collector.ingest(TOPIC, envelopes[9]!).ok).toBe(true);
    expect(collector.ingest(TOPIC, envelopes[7]!).ok).toBe(true); // late but inside the window
    expect(collector.ingest(TOPIC, envelopes[2]!)).toMatchObject({ ok: false, reason: 'replay' });
  });
});

describe('keys and devices', () => {
  it.each([1, 2] as const)('rotating the collector key: envelopes to the old and the new key both open while both are held (v%i)', (version) => {
    const world = makeWorld();
    const device = world.device('thermo-1', undefined, version);
    const old = device.sealer.seal('telemetry', readings(device, 0, 1), T0);
    const next = nacl.box.keyPair();
    // v1 names the recipient key id; v2 names none, so an envelope to a key the collector lacks simply does not open.
    const reason = version === 1 ? 'unknown-key' : 'auth-failed';
    expect(world.collector.ingest(TOPIC, (device.sealer.setRecipient(next.publicKey), device.sealer.seal('telemetry', readings(device, 1, 1), T0)))).toMatchObject({ ok: false, reason });
    world.collector.addRecipientKey(next.secretKey);
    expect(world.collector.ingest(TOPIC, device.sealer.seal('telemetry', readings(device, 1, 1), T0)).ok).toBe(true);
    expect(world.collector.ingest(TOPIC, old).ok).toBe(true);
    expect(world.delivered).toHaveLength(2);
  });

  it('a rotated device key starts a new sequence space, even within the same boot session', () => {
    const world = makeWorld();
    const before = world.device('thermo-1');
    expect(world.collector.ingest(TOPIC, before.sealer.seal('telemetry', readings(before, 0, 1), T0)).ok).toBe(true);
    // Ownership transfer rotates the identity; the agent keeps its session id and a new Sealer starts at seq 0.
    const after = world.device('thermo-1', before.sealer.sessionId);
    expect(world.collector.ingest(TOPIC, after.sealer.seal('telemetry', readings(before, 1, 1), T0)).ok).toBe(true);
    expect(world.delivered).toHaveLength(2);
  });

  it('a removed device key no longer opens anything', () => {
    const world = makeWorld();
    const device = world.device('thermo-1');
    expect(world.collector.removeDeviceKey(device.identity.boxPublicKey)).toBe(true);
    expect(world.collector.ingest(TOPIC, device.sealer.seal('telemetry', readings(device, 0, 1), T0))).toMatchObject({ ok: false, reason: 'unknown-key' });
  });

  it('devices can come from an external lookup by sender key id', () => {
    const secret = nacl.box.keyPair().secretKey;
    const known = new Map<string, KnownDevice>();
    const lookups: string[] = [];
    const collector = createCollector({
      secretKey: secret,
      now: () => T0,
      devices: (kid) => (lookups.push(toHex(kid)), known.get(toHex(kid))),
    });
    const device = makeDevice('fit-1', collector.publicKey, undefined, 1);
    known.set(toHex(keyId(device.identity.boxPublicKey)), { deviceId: 'fit-1', boxPublicKey: device.identity.boxPublicKey });
    expect(collector.ingest(topics.telemetry('fit-1'), device.sealer.seal('telemetry', readings(device, 0, 2), T0)).ok).toBe(true);
    expect(lookups).toEqual([toHex(keyId(device.identity.boxPublicKey))]);
  });

  it('v2 finds an externally registered device by the topic\'s device id (deviceKeys)', () => {
    const known = new Map<string, KnownDevice>();
    const collector = createCollector({ secretKey: nacl.box.keyPair().secretKey, now: () => T0, deviceKeys: (id) => [...known.values()].filter((d) => d.deviceId === id) });
    const device = makeDevice('fit-1', collector.publicKey);
    const envelope = device.sealer.seal('telemetry', readings(device, 0, 2), T0);
    expect(collector.ingest(topics.telemetry('fit-1'), envelope)).toMatchObject({ ok: false, reason: 'unknown-key' });
    known.set('fit-1', { deviceId: 'fit-1', boxPublicKey: device.identity.boxPublicKey });
    expect(collector.ingest(topics.telemetry('fit-1'), envelope).ok).toBe(true);
  });

  it('rejects bad provisioning input', () => {
    const world = makeWorld();
    expect(() => world.collector.addDevice('bad/id', nacl.box.keyPair().publicKey)).toThrow(/deviceId/);
    expect(() => world.collector.addDevice('ok', new Uint8Array(3))).toThrow(/boxPublicKey/);
    expect(() => createCollector({ secretKey: new Uint8Array(5), now: () => 0 })).toThrow(/secretKey/);
  });

  it('a throwing listener is counted and does not stop delivery to others', () => {
    const world = makeWorld();
    const device = world.device('thermo-1');
    const off = world.collector.onReading(() => {
      throw new Error('consumer bug');
    });
    const result = world.collector.ingest(TOPIC, device.sealer.seal('telemetry', readings(device, 0, 2), T0));
    expect(result.ok).toBe(true);
    expect(world.delivered).toHaveLength(2);
    expect(world.collector.stats().listenerErrors).toBe(2);
    off();
    world.collector.ingest(TOPIC, device.sealer.seal('telemetry', readings(device, 2, 1), T0));
    expect(world.collector.stats().listenerErrors).toBe(2);
  });

  it('the dedup memory stays bounded', () => {
    const secret = nacl.box.keyPair().secretKey;
    const collector = createCollector({ secretKey: secret, now: () => T0, maxTrackedReadings: 100 });
    const device = makeDevice('thermo-1', collector.publicKey);
    collector.addDevice('thermo-1', device.identity.boxPublicKey);
    for (let i = 0; i < 20; i++) collector.ingest(TOPIC, device.sealer.seal('telemetry', readings(device, i * 50, 50), T0));
    expect(collector.stats().readings).toBe(1000);
    // Oldest ids were forgotten, so a very late redelivery of the first batch counts as new: the documented trade-off.
    const late = collector.ingest(TOPIC, device.sealer.seal('telemetry', readings(device, 0, 1), T0));
    expect(late).toMatchObject({ ok: true, duplicates: 0 });
    const recent = collector.ingest(TOPIC, device.sealer.seal('telemetry', readings(device, 999, 1), T0));
    expect(recent).toMatchObject({ ok: true, duplicates: 1 });
  });
});

describe('attach', () => {
  /** A transport that records subscriptions and lets the test deliver messages. */
  function recordingTransport(): { transport: Transport; filters: string[]; deliver(topic: string, payload: Uint8Array): void } {
    const filters: string[] = [];
    let handler: ((message: { topic: string; payload: Uint8Array }) => void) | undefined;
    const transport = {
      connected: true, security: undefined, connect: async () => undefined, close: async () => undefined,
      publish: async () => undefined, subscribe: async (filter: string) => void filters.push(filter),
      onMessage: (h: typeof handler) => void (handler = h), onConnection: () => undefined,
    } as unknown as Transport;
    return { transport, filters, deliver: (topic, payload) => handler?.({ topic, payload }) };
  }

  it('with a shareGroup, telemetry comes through $share/<group>/ (delivered as usual), key announcements whole', async () => {
    const world = makeWorld();
    const device = world.device('thermo-1');
    const { transport, filters, deliver } = recordingTransport();
    await world.collector.attach(transport, { shareGroup: 'collectors' });
    expect(filters).toEqual([topics.allDeviceKeys(), `$share/collectors/${topics.allTelemetry()}`]);
    // The broker delivers a shared subscription's messages under their own topic.
    deliver(TOPIC, device.sealer.seal('telemetry', readings(device, 0, 2), T0));
    expect(world.delivered).toHaveLength(2);
  });

  it.each(['', 'a/b', 'a+', '#', 'x'.repeat(65)])('refuses the group name %j (INVALID_ARGUMENT), subscribing nothing', async (group) => {
    const { transport, filters } = recordingTransport();
    await expect(makeWorld().collector.attach(transport, { shareGroup: group })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(filters).toEqual([]);
  });
});
