import fc from 'fast-check';
import nacl from 'tweetnacl';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../agent/codec/cbor.js';
import { equalBytes } from '../agent/crypto/keys.js';
import { topics } from '../agent/topics.js';
import { REJECT_REASONS } from '../collector/index.js';
import { makeWorld, readings, T0, wireTestRandom, type TestWorld } from './envelope-fixtures.js';

/**
 * Tamper resistance as the collector sees it: whatever a broker or an attacker does to valid envelopes,
 * the collector rejects, counts, and delivers nothing.
 */
beforeAll(wireTestRandom);

const SWAPPABLE = ['rk', 'sk', 'sid', 'seq', 'ts', 'n', 'ct'] as const;

function expectNothingAccepted(world: TestWorld): void {
  const stats = world.collector.stats();
  expect(world.delivered).toEqual([]);
  expect(stats.accepted).toBe(0);
  const rejected = Object.values(stats.rejected).reduce((a, b) => a + b, 0);
  expect(rejected).toBe(stats.received);
}

describe('single-byte changes', () => {
  it('flipping any bit of any byte is rejected, and the original still opens afterwards', () => {
    const world = makeWorld();
    const device = world.device('thermo-1');
    const envelope = device.sealer.seal('telemetry', readings(device, 0, 3), T0);
    const topic = topics.telemetry('thermo-1');
    for (let i = 0; i < envelope.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const copy = envelope.slice();
        copy[i] = (copy[i] ?? 0) ^ mask;
        expect(world.collector.ingest(topic, copy).ok, `byte ${i} ^ ${mask}`).toBe(false);
      }
    }
    expectNothingAccepted(world);
    // Rejections changed nothing: the untouched envelope is still accepted once.
    expect(world.collector.ingest(topic, envelope).ok).toBe(true);
    expect(world.delivered).toHaveLength(3);
  });

  it('fast-check: any byte set to any other value is rejected', () => {
    const world = makeWorld();
    const device = world.device('lock-1');
    const envelope = device.sealer.seal('telemetry', readings(device, 0, 2), T0);
    fc.assert(
      fc.property(fc.nat(envelope.length - 1), fc.integer({ min: 1, max: 255 }), (index, delta) => {
        const copy = envelope.slice();
        copy[index] = ((copy[index] ?? 0) + delta) & 0xff;
        return world.collector.ingest(topics.telemetry('lock-1'), copy).ok === false;
      }),
      { numRuns: 1500 },
    );
    expectNothingAccepted(world);
  });
});

describe('header swaps between valid envelopes', () => {
  it('fast-check: replacing any non-empty set of outer fields with another envelope\'s is rejected', () => {
    const world = makeWorld();
    // Donors: another device, and another key + session of the same device, both sealed to a second recipient
    // key the collector also holds, so every swappable field differs from the target's.
    const second = nacl.box.keyPair();
    world.collector.addRecipientKey(second.secretKey);
    const a = world.device('dev-a');
    const b = world.device('dev-b');
    const sameDevice = world.device('dev-a');
    b.sealer.setRecipient(second.publicKey);
    sameDevice.sealer.setRecipient(second.publicKey);
    // Burn sequence numbers so the donors' seq differ from the target's 0.
    for (let i = 0; i < 3; i++) b.sealer.seal('telemetry', readings(b, 0, 1), T0);
    for (let i = 0; i < 5; i++) sameDevice.sealer.seal('telemetry', readings(sameDevice, 0, 1), T0);
    const topic = topics.telemetry('dev-a');
    const sources = [
      b.sealer.seal('telemetry', readings(b, 0, 1), T0 + 5),
      sameDevice.sealer.seal('telemetry', readings(sameDevice, 9, 1), T0 + 7),
    ];
    const target = a.sealer.seal('telemetry', readings(a, 0, 2), T0);
    const outerTarget = decodeCbor(target) as Record<string, unknown>;
    fc.assert(
      fc.property(fc.subarray([...SWAPPABLE], { minLength: 1 }), fc.nat(sources.length - 1), (fields, which) => {
        const donor = decodeCbor(sources[which]!) as Record<string, unknown>;
        const forged = { ...outerTarget };
        for (const field of fields) forged[field] = donor[field];
        // Taking every field from the same-device donor just re-sends the donor itself: valid, not a forgery.
        if (which === 1 && fields.length === SWAPPABLE.length) return true;
        expect(fields.every((f) => !equalBytes(encodeCbor(forged[f]), encodeCbor(outerTarget[f])))).toBe(true);
        return world.collector.ingest(topic, encodeCbor(forged)).ok === false;
      }),
      { numRuns: 400 },
    );
    expectNothingAccepted(world);
  });

  it('moving a valid envelope to another device or stream topic is a mismatch', () => {
    const world = makeWorld();
    const a = world.device('dev-a');
    world.device('dev-b');
    const envelope = a.sealer.seal('telemetry', readings(a, 0, 1), T0);
    expect(world.collector.ingest(topics.telemetry('dev-b'), envelope)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(world.collector.ingest('ta/v1/dev-a/other', envelope)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(world.collector.ingest('somewhere/else', envelope)).toMatchObject({ ok: false, reason: 'mismatch' });
    expectNothingAccepted(world);
    expect(world.collector.ingest(topics.telemetry('dev-a'), envelope).ok).toBe(true);
  });

  it('a device cannot publish as another device even with a valid envelope of its own', () => {
    const world = makeWorld();
    world.device('victim');
    // The attacker is provisioned, but seals claiming to be the victim on the victim's topic.
    const attacker = world.device('attacker');
    const forger = new (attacker.sealer.constructor as typeof import('../agent/telemetry/sealer.js').Sealer)({
      identity: attacker.identity, deviceId: 'victim', recipientPublicKey: world.collector.publicKey, sessionId: attacker.sealer.sessionId,
    });
    const envelope = forger.seal('telemetry', readings(attacker, 0, 1), T0);
    expect(world.collector.ingest(topics.telemetry('victim'), envelope)).toMatchObject({ ok: false, reason: 'mismatch' });
    expectNothingAccepted(world);
  });
});

describe('garbage into the collector', () => {
  it('fast-check: random bytes are rejected, counted by reason, never thrown', () => {
    const world = makeWorld();
    world.device('thermo-1');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.constantFrom('ta/v1/thermo-1/telemetry', 'ta/v1/x/telemetry', '', '#'), (bytes, topic) => {
        const result = world.collector.ingest(topic, bytes);
        return !result.ok && REJECT_REASONS.includes(result.reason);
      }),
      { numRuns: 1000 },
    );
    expectNothingAccepted(world);
  });

  it('fast-check: any CBOR value, and maps that look like envelopes, are rejected', () => {
    const world = makeWorld();
    const device = world.device('thermo-1');
    const real = decodeCbor(device.sealer.seal('telemetry', readings(device, 0, 1), T0)) as Record<string, unknown>;
    const field = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.uint8Array({ maxLength: 40 }), fc.constant(null), fc.constant(undefined));
    const lookalike = fc.record({
      v: fc.oneof(fc.constant(1), field), alg: fc.oneof(fc.constant(1), field),
      rk: fc.oneof(fc.constant(real['rk']), field), sk: fc.oneof(fc.constant(real['sk']), field),
      sid: field, seq: field, ts: field, n: fc.oneof(fc.uint8Array({ minLength: 24, maxLength: 24 }), field), ct: field,
    });
    fc.assert(
      fc.property(fc.oneof(fc.anything(), lookalike), (value) => {
        let bytes: Uint8Array;
        try {
          bytes = encodeCbor(value);
        } catch {
          return true; // not encodable: nothing to send
        }
        return world.collector.ingest(topics.telemetry('thermo-1'), bytes).ok === false;
      }),
      { numRuns: 800 },
    );
    expectNothingAccepted(world);
  });

  it('every truncation and every extension of a valid envelope is rejected', () => {
    const world = makeWorld();
    const device = world.device('thermo-1');
    const envelope = device.sealer.seal('telemetry', readings(device, 0, 2), T0);
    const topic = topics.telemetry('thermo-1');
    for (let length = 0; length < envelope.length; length++) {
      expect(world.collector.ingest(topic, envelope.subarray(0, length)).ok).toBe(false);
    }
    const longer = new Uint8Array(envelope.length + 1);
    longer.set(envelope);
    expect(world.collector.ingest(topic, longer).ok).toBe(false);
    expectNothingAccepted(world);
    expect(world.collector.stats().rejected.malformed).toBe(envelope.length + 1);
  });

  it('oversized, unsupported, unknown-key: each counted under its reason', () => {
    const world = makeWorld();
    const device = world.device('thermo-1');
    const topic = topics.telemetry('thermo-1');
    const outer = decodeCbor(device.sealer.seal('telemetry', readings(device, 0, 1), T0)) as Record<string, unknown>;
    const stranger = makeWorld().device('thermo-1'); // sealed to another collector, by an unprovisioned key
    const results = [
      world.collector.ingest(topic, new Uint8Array(64 * 1024 + 1)),
      world.collector.ingest(topic, encodeCbor({ ...outer, v: 2 })),
      world.collector.ingest(topic, encodeCbor({ ...outer, alg: 7 })),
      world.collector.ingest(topic, stranger.sealer.seal('telemetry', readings(stranger, 0, 1), T0)),
      world.collector.ingest(topic, encodeCbor({ ...outer, sk: new Uint8Array(8) })),
      world.collector.ingest(topic, null as unknown as Uint8Array),
    ];
    expect(results.map((r) => (r.ok ? 'ok' : `${r.reason}:${r.code}`))).toEqual([
      'oversized:OVERSIZED',
      'unsupported:UNSUPPORTED_VERSION',
      'unsupported:UNKNOWN_ALGORITHM',
      'unknown-key:UNKNOWN_KEY',
      'unknown-key:UNKNOWN_KEY',
      'malformed:MALFORMED',
    ]);
    expect(world.collector.stats().rejected).toMatchObject({ oversized: 1, unsupported: 2, 'unknown-key': 2, malformed: 1 });
    expectNothingAccepted(world);
  });
});
