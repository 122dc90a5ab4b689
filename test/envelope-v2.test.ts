import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { Encoder } from 'cbor-x';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor } from '../agent/codec/cbor.js';
import { encodeCompact, halfBits } from '../agent/codec/cbor-compact.js';
import type { EnvelopeReading } from '../agent/codec/envelope.js';
import { parseAnyEnvelope, sealEnvelopeV2 } from '../agent/codec/envelope-any.js';
import { categoryTable, decodeDelta, deriveNonce, encodeDelta, encodeInnerV2, parseInnerV2 } from '../agent/codec/envelope-v2.js';
import { fromHex, keyId, toHex } from '../agent/crypto/keys.js';
import { x25519XSalsa20Poly1305 } from '../agent/crypto/suites.js';
import { isTrustError } from '../agent/errors.js';
import { Sealer } from '../agent/telemetry/sealer.js';
import { shippedCategoryTable } from '../agent/telemetry/categories.js';
import { registryFor } from '../agent/policy/devices/index.js';
import { createCollector } from '../collector/index.js';
import { T0, wireTestRandom } from './envelope-fixtures.js';

interface Vector {
  topic: string;
  keys: Record<'deviceBoxSecretKey' | 'deviceBoxPublicKey' | 'collectorSecretKey' | 'collectorPublicKey', string>;
  inputs: { deviceId: string; stream: string; sessionId: string; seq: number; ts: number; categories: string[]; readings: EnvelopeReading[] };
  expected: { senderKeyId: string; recipientKeyId: string; sharedKey: string; categoryTableId: number; nonce: string; plaintext: string; envelope: string; envelopeLength: number };
}

const vector = JSON.parse(readFileSync(new URL('./vectors/envelope-v2.json', import.meta.url), 'utf8')) as Vector;
const i = vector.inputs;
const keys = { recipientKeyId: fromHex(vector.expected.recipientKeyId), senderKeyId: fromHex(vector.expected.senderKeyId) };

beforeAll(wireTestRandom);

describe('golden vector envelope-v2.json', () => {
  it('the category table is the thermostat registry\'s, with the documented id', () => {
    expect(i.categories).toEqual(registryFor('thermostat').categories.map((c) => c.name));
    expect(categoryTable(i.categories).id).toBe(vector.expected.categoryTableId);
    expect(shippedCategoryTable(registryFor('thermostat'))?.id).toBe(vector.expected.categoryTableId);
  });

  it('nonce, plaintext and envelope are reproduced byte for byte', () => {
    const header = { version: 2, alg: 1, sessionId: fromHex(i.sessionId), seq: i.seq } as const;
    expect(toHex(deriveNonce(header, keys, i, 24))).toBe(vector.expected.nonce);
    expect(toHex(encodeInnerV2(fromHex(i.sessionId), i.ts, i.readings, categoryTable(i.categories)))).toBe(vector.expected.plaintext);
    const sealed = sealEnvelopeV2({
      suite: x25519XSalsa20Poly1305, sharedKey: fromHex(vector.expected.sharedKey), keys, sessionId: fromHex(i.sessionId),
      seq: i.seq, ts: i.ts, deviceId: i.deviceId, stream: i.stream, readings: i.readings, categories: categoryTable(i.categories),
    });
    expect(toHex(sealed)).toBe(vector.expected.envelope);
    expect(sealed.length).toBe(vector.expected.envelopeLength);
  });

  it('the Sealer (v2 by default) with the registry\'s table gives the same bytes', () => {
    const identity = { boxSecretKey: fromHex(vector.keys.deviceBoxSecretKey), boxKeyId: keys.senderKeyId };
    const sealer = new Sealer({
      identity, deviceId: i.deviceId, recipientPublicKey: fromHex(vector.keys.collectorPublicKey), sessionId: fromHex(i.sessionId),
      firstSeq: i.seq, categories: () => categoryTable(i.categories),
    });
    expect(toHex(sealer.seal(i.stream, i.readings, i.ts))).toBe(vector.expected.envelope);
    expect(sealer.nextSeq).toBe(i.seq + 1);
  });

  it('a collector with the shipped registries opens it to the input readings', () => {
    const collector = createCollector({ secretKey: fromHex(vector.keys.collectorSecretKey), now: () => i.ts });
    collector.addDevice(i.deviceId, fromHex(vector.keys.deviceBoxPublicKey));
    const got: Array<{ reading: EnvelopeReading; ts: number }> = [];
    collector.onReading((_, reading, meta) => got.push({ reading, ts: meta.envelopeTs }));
    expect(collector.ingest(vector.topic, fromHex(vector.expected.envelope)).ok).toBe(true);
    expect(got.map((g) => g.reading)).toEqual(i.readings);
    expect(got[0]?.ts).toBe(Math.floor(i.ts / 1000) * 1000);
  });

  it('the outer array is [2, alg, sid, seq, ct] and the plaintext [T, g, rs, readings...]', () => {
    const outer = decodeCbor(fromHex(vector.expected.envelope)) as unknown[];
    expect(outer.slice(0, 4)).toEqual([2, 1, fromHex(i.sessionId), i.seq]);
    const inner = decodeCbor(fromHex(vector.expected.plaintext)) as unknown[];
    expect(inner.slice(0, 3)).toEqual([Math.floor(i.ts / 1000), vector.expected.categoryTableId, new Uint8Array(0)]);
    expect(inner).toHaveLength(3 + i.readings.length);
  });
});

describe('v2 encoding rules', () => {
  it('fast-check: time deltas round-trip, in the largest unit that divides them', () => {
    fc.assert(fc.property(fc.integer({ min: -1e13, max: 1e13 }), (ms) => decodeDelta(encodeDelta(ms)) === ms));
    expect([0, 1, 1000, 60_000, 3_600_000, -60_000, 7 * 86_400_000].map(encodeDelta)).toEqual([0, 4, 5, 6, 7, -6, 168 * 4 + 3]);
  });

  it('fast-check: numbers inside d decode to themselves through the strict decoder; floats take the shortest exact width', () => {
    fc.assert(fc.property(fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.float({ noNaN: true }), fc.integer({ min: -1e15, max: 1e15 })), (n) => {
      const back = decodeCbor(encodeCompact({ n })) as { n: number };
      return Object.is(back.n, n) || (n === 0 && back.n === 0);
    }));
    expect(toHex(encodeCompact(21.5))).toBe('f94d60');
    expect(toHex(encodeCompact(-3.5))).toBe('f9c300');
    expect(toHex(encodeCompact(0.1))).toBe('fb3fb999999999999a');
    expect(toHex(encodeCompact(-20))).toBe('33');
    expect(toHex(encodeCompact(-4294967296))).toBe('3affffffff');
    expect(toHex(encodeCompact(4294967296))).toBe('fa4f800000');
    expect(toHex(encodeCompact(5e9))).toBe('fa4f9502f9');
    expect(toHex(encodeCompact(100000.5))).toBe('fa47c35040');
    expect(halfBits(65504)).toBe(0x7bff);
    expect(halfBits(65505)).toBeUndefined();
    expect(halfBits(2 ** -24)).toBe(1);
  });

  it('fast-check: the compact encoder writes values cbor-x reads back the same', () => {
    const cborx = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
    const value = fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.string(), fc.boolean(), fc.constant(null)));
    fc.assert(fc.property(value, (d) => {
      expect(cborx.decode(encodeCompact(d))).toEqual(decodeCbor(encodeCompact(d)));
      return true;
    }));
  });

  it('fast-check: any readings of one session round-trip through seal and open', () => {
    const recipient = nacl.box.keyPair();
    const device = nacl.box.keyPair();
    const session = 'b1b2b3b4b5b6b7b8';
    const arbReading = fc.record({
      seq: fc.nat(1e9), at: fc.integer({ min: 0, max: 4e12 }), life: fc.integer({ min: 0, max: 4e10 }),
      category: fc.constantFrom('climate', 'hvac', 'other-thing'), v: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
    });
    fc.assert(fc.property(fc.array(arbReading, { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 4e12 }), (rs, ts) => {
      const readings = rs.map((r) => ({ id: { session, seq: r.seq }, category: r.category, at: r.at, expiresAt: r.at + r.life, data: { v: r.v } }));
      const sealer = new Sealer({
        identity: { boxSecretKey: device.secretKey, boxKeyId: keyId(device.publicKey) }, deviceId: 'd-1', recipientPublicKey: recipient.publicKey,
        sessionId: fromHex('0102030405060708'), categories: () => categoryTable(['climate', 'hvac']),
      });
      const parsed = parseAnyEnvelope(sealer.seal('telemetry', readings, ts));
      if (parsed.version !== 2) return false;
      const nonce = deriveNonce(parsed.v2.header, { recipientKeyId: keyId(recipient.publicKey), senderKeyId: keyId(device.publicKey) }, { deviceId: 'd-1', stream: 'telemetry' }, 24);
      const plaintext = nacl.box.open(parsed.v2.ciphertext, nonce, device.publicKey, recipient.secretKey);
      const opened = parseInnerV2(plaintext!, fromHex('0102030405060708'));
      const names = ['climate', 'hvac'];
      const back = opened.readings.map(({ categoryIndex, ...r }) => ({ ...r, category: categoryIndex === undefined ? r.category : names[categoryIndex] }));
      expect(back).toEqual(readings.map((r) => ({ ...r, data: { v: Object.is(r.data.v, -0) ? 0 : r.data.v } })));
      return true;
    }), { numRuns: 150 });
  });

  it('readings of an earlier session carry it (rs), and the sealer cuts envelopes where the session changes', () => {
    const recipient = nacl.box.keyPair();
    const device = nacl.box.keyPair();
    const sealer = new Sealer({ identity: { boxSecretKey: device.secretKey, boxKeyId: keyId(device.publicKey) }, deviceId: 'd-1', recipientPublicKey: recipient.publicKey, sessionId: fromHex('0102030405060708') });
    const old = (seq: number): EnvelopeReading => ({ id: { session: 'aaaaaaaaaaaaaaaa', seq }, category: 'c', at: T0, expiresAt: T0 + 1, data: {} });
    const now = (seq: number): EnvelopeReading => ({ ...old(seq), id: { session: '0102030405060708', seq } });
    expect(sealer.sealFitting('telemetry', [old(5), old(6), now(0), now(1)], T0).count).toBe(2);
    expect(sealer.sealFitting('telemetry', [now(0), now(1)], T0).count).toBe(2);
    const fail = (() => {
      try {
        sealer.seal('telemetry', [old(1), now(0)], T0);
      } catch (error) {
        return isTrustError(error) ? error.code : 'other';
      }
      return 'none';
    })();
    expect(fail).toBe('INVALID_READING');
  });
});
