import fc from 'fast-check';
import nacl from 'tweetnacl';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../agent/codec/cbor.js';
import { encodeCompact } from '../agent/codec/cbor-compact.js';
import { Sealer } from '../agent/telemetry/sealer.js';
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

describe.each([1, 2] as const)('single-byte changes, v%i', (version) => {
  it('flipping any bit of any byte is rejected, and the original still opens afterwards', () => {
    const world = makeWorld();
    const device = world.device('thermo-1', undefined, version);
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
    const device = world.device('lock-1', undefined, version);
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

describe('header swaps between valid envelopes (v1; v2 below)', () => {
  it('fast-check: replacing any non-empty set of outer fields with another envelope\'s is rejected', () => {
    const world = makeWorld();
    // Donors: another device, and another key + session of the same device, both sealed to a second recipient
    // key the collector also holds, so every swappable field differs from the target's.
    const second = nacl.box.keyPair();
    world.collector.addRecipientKey(second.secretKey);
    const a = world.device('dev-a', undefined, 1);
    const b = world.device('dev-b', undefined, 1);
    const sameDevice = world.device('dev-a', undefined, 1);
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
    const a = world.device('dev-a', undefined, 1);
    world.device('dev-b', undefined, 1);
    const envelope = a.sealer.seal('telemetry', readings(a, 0, 1), T0);
    expect(world.collector.ingest(topics.telemetry('dev-b'), envelope)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(world.collector.ingest('ta/v1/dev-a/other', envelope)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(world.collector.ingest('somewhere/else', envelope)).toMatchObject({ ok: false, reason: 'mismatch' });
    expectNothingAccepted(world);
    expect(world.collector.ingest(topics.telemetry('dev-a'), envelope).ok).toBe(true);
  });

  it('a device cannot publish as another device even with a valid envelope of its own', () => {
    const world = makeWorld();
    world.device('victim', undefined, 1);
    // The attacker is provisioned, but seals claiming to be the victim on the victim's topic.
    const attacker = world.device('attacker', undefined, 1);
    const forger = new (attacker.sealer.constructor as typeof import('../agent/telemetry/sealer.js').Sealer)({
      identity: attacker.identity, deviceId: 'victim', recipientPublicKey: world.collector.publicKey, sessionId: attacker.sealer.sessionId, version: 1,
    });
    const envelope = forger.seal('telemetry', readings(attacker, 0, 1), T0);
    expect(world.collector.ingest(topics.telemetry('victim'), envelope)).toMatchObject({ ok: false, reason: 'mismatch' });
    expectNothingAccepted(world);
  });
});

describe('garbage into the collector (v1 lookalikes)', () => {
  it('fast-check: random bytes are rejected, counted by reason, never thrown', () => {
    const world = makeWorld();
    world.device('thermo-1', undefined, 1);
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
    const device = world.device('thermo-1', undefined, 1);
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

  it.each([1, 2] as const)('every truncation and every extension of a valid v%i envelope is rejected', (version) => {
    const world = makeWorld();
    const device = world.device('thermo-1', undefined, version);
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
    const device = world.device('thermo-1', undefined, 1);
    const topic = topics.telemetry('thermo-1');
    const outer = decodeCbor(device.sealer.seal('telemetry', readings(device, 0, 1), T0)) as Record<string, unknown>;
    const stranger = makeWorld().device('thermo-1', undefined, 1); // sealed to another collector, by an unprovisioned key
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

/**
 * v2 names no key ids and no nonce: the nonce is derived from (alg, keys, sid, seq, device, stream), so every header
 * change, another topic, device or key pair gives another nonce and the box does not open.
 */
describe('envelope v2', () => {
  const topic = topics.telemetry('dev-a');
  const outerOf = (bytes: Uint8Array): unknown[] => decodeCbor(bytes) as unknown[];

  it('fast-check: replacing any set of header items (sid, seq, ct) with another envelope\'s, or any seq, is rejected', () => {
    const world = makeWorld();
    const second = nacl.box.keyPair();
    world.collector.addRecipientKey(second.secretKey);
    const a = world.device('dev-a');
    const b = world.device('dev-b');
    const sameDevice = world.device('dev-a');
    b.sealer.setRecipient(second.publicKey);
    for (let i = 0; i < 3; i++) b.sealer.seal('telemetry', readings(b, 0, 1), T0);
    for (let i = 0; i < 5; i++) sameDevice.sealer.seal('telemetry', readings(sameDevice, 0, 1), T0);
    const target = outerOf(a.sealer.seal('telemetry', readings(a, 0, 2), T0));
    const donors = [b.sealer.seal('telemetry', readings(b, 0, 1), T0 + 5), sameDevice.sealer.seal('telemetry', readings(sameDevice, 9, 1), T0 + 7)].map(outerOf);
    fc.assert(
      fc.property(fc.subarray([2, 3, 4], { minLength: 1 }), fc.nat(1), fc.option(fc.nat(1000)), (positions, which, seq) => {
        const forged = [...target];
        for (const p of positions) forged[p] = donors[which]![p];
        if (seq !== null && seq !== 0) forged[3] = seq;
        // Unchanged, or all of the donor (a valid envelope of its own): not a forgery.
        if (equalBytes(encodeCompact(forged), encodeCompact(target)) || equalBytes(encodeCompact(forged), encodeCompact(donors[which]!))) return true;
        return world.collector.ingest(topic, encodeCompact(forged)).ok === false;
      }),
      { numRuns: 300 },
    );
    expectNothingAccepted(world);
    expect(world.collector.ingest(topic, encodeCompact(target)).ok).toBe(true);
  });

  it('moved to another device, stream or topic: rejected by name, and the original still opens', () => {
    const world = makeWorld();
    const a = world.device('dev-a');
    world.device('dev-b');
    const envelope = a.sealer.seal('telemetry', readings(a, 0, 1), T0);
    const results = [
      world.collector.ingest(topics.telemetry('dev-b'), envelope),
      world.collector.ingest('ta/v1/dev-a/other', envelope),
      world.collector.ingest(topics.telemetry('nobody'), envelope),
      world.collector.ingest('somewhere/else', envelope),
    ];
    expect(results.map((r) => (r.ok ? 'ok' : r.code))).toEqual(['AUTH_FAILED', 'AUTH_FAILED', 'UNKNOWN_KEY', 'HEADER_MISMATCH']);
    expectNothingAccepted(world);
    expect(world.collector.ingest(topic, envelope).ok).toBe(true);
  });

  it('a device sealing as another device, with its own valid key, does not open on the victim\'s topic', () => {
    const world = makeWorld();
    world.device('victim');
    const attacker = world.device('attacker');
    const forger = new Sealer({ identity: attacker.identity, deviceId: 'victim', recipientPublicKey: world.collector.publicKey, sessionId: attacker.sealer.sessionId });
    expect(world.collector.ingest(topics.telemetry('victim'), forger.seal('telemetry', readings(attacker, 0, 1), T0))).toMatchObject({ ok: false, code: 'AUTH_FAILED' });
    expectNothingAccepted(world);
  });

  it('replayed: REPLAY; another envelope under a used (sid, seq), i.e. the derived nonce reused: NONCE_REUSE; forged ct there: AUTH_FAILED', () => {
    const world = makeWorld();
    const a = world.device('dev-a');
    const first = a.sealer.seal('telemetry', readings(a, 0, 2), T0);
    expect(world.collector.ingest(topic, first).ok).toBe(true);
    expect(world.collector.ingest(topic, first)).toEqual({ ok: false, reason: 'replay', code: 'REPLAY' });
    // A second sealer on the same key and session restarting at seq 0: the sender fault derived nonces must not have.
    const restarted = new Sealer({ identity: a.identity, deviceId: 'dev-a', recipientPublicKey: world.collector.publicKey, sessionId: a.sealer.sessionId });
    const reused = restarted.seal('telemetry', readings(a, 5, 1), T0 + 1000);
    expect(world.collector.ingest(topic, reused)).toEqual({ ok: false, reason: 'nonce-reuse', code: 'NONCE_REUSE' });
    const forged = outerOf(first);
    forged[4] = nacl.randomBytes((forged[4] as Uint8Array).length);
    expect(world.collector.ingest(topic, encodeCompact(forged))).toMatchObject({ ok: false, code: 'AUTH_FAILED' });
    expect(world.delivered).toHaveLength(2);
    expect(world.collector.stats().rejected).toMatchObject({ replay: 1, 'nonce-reuse': 1, 'auth-failed': 1 });
  });

  it('version, algorithm and shape: each counted under its reason', () => {
    const world = makeWorld();
    const a = world.device('dev-a');
    const outer = outerOf(a.sealer.seal('telemetry', readings(a, 0, 1), T0));
    const results = [
      encodeCompact([3, ...outer.slice(1)]),
      encodeCompact([2, 7, ...outer.slice(2)]),
      encodeCompact([]),
      encodeCompact(outer.slice(0, 4)),
      encodeCompact({ alg: 1 }),
      encodeCompact([2, 1, new Uint8Array(7), 0, outer[4] as Uint8Array]),
    ].map((bytes) => world.collector.ingest(topic, bytes));
    expect(results.map((r) => (r.ok ? 'ok' : `${r.reason}:${r.code}`))).toEqual([
      'unsupported:UNSUPPORTED_VERSION', 'unsupported:UNKNOWN_ALGORITHM', 'malformed:MALFORMED', 'malformed:MALFORMED', 'malformed:MALFORMED', 'malformed:MALFORMED',
    ]);
    expectNothingAccepted(world);
  });
});
