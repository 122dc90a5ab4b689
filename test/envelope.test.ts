import { readFileSync } from 'node:fs';
import nacl from 'tweetnacl';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../agent/codec/cbor.js';
import {
  ENVELOPE_LIMITS,
  encodeInner,
  openEnvelope,
  parseEnvelope,
  sealEnvelope,
  type EnvelopeReading,
} from '../agent/codec/envelope.js';
import { fromHex, keyId, toHex } from '../agent/crypto/keys.js';
import { createSuiteRegistry, DEFAULT_SUITES, SharedKeyCache, x25519XSalsa20Poly1305, type CryptoSuite } from '../agent/crypto/suites.js';
import { isTrustError, type TrustErrorCode } from '../agent/errors.js';
import { Sealer } from '../agent/telemetry/sealer.js';
import { reading, T0, wireTestRandom } from './envelope-fixtures.js';

interface Vector {
  topic: string;
  keys: Record<'deviceBoxSecretKey' | 'deviceBoxPublicKey' | 'collectorSecretKey' | 'collectorPublicKey', string>;
  inputs: { deviceId: string; stream: string; sessionId: string; seq: number; ts: number; nonce: string; readings: EnvelopeReading[] };
  expected: { senderKeyId: string; recipientKeyId: string; sharedKey: string; plaintext: string; envelope: string; envelopeLength: number };
}

const vector = JSON.parse(readFileSync(new URL('./vectors/envelope-v1.json', import.meta.url), 'utf8')) as Vector;
const deviceSecret = fromHex(vector.keys.deviceBoxSecretKey);
const collectorSecret = fromHex(vector.keys.collectorSecretKey);
const collectorPublic = fromHex(vector.keys.collectorPublicKey);

function expectCode(fn: () => unknown, code: TrustErrorCode): void {
  try {
    fn();
  } catch (error) {
    expect(isTrustError(error) ? error.code : error).toBe(code);
    return;
  }
  expect.fail(`expected TrustError ${code}`);
}

function vectorSealer(): Sealer {
  const identity = { boxSecretKey: deviceSecret, boxKeyId: keyId(fromHex(vector.keys.deviceBoxPublicKey)) };
  const { deviceId, sessionId, seq } = vector.inputs;
  return new Sealer({ identity, deviceId, recipientPublicKey: collectorPublic, sessionId: fromHex(sessionId), firstSeq: seq, version: 1 });
}

beforeAll(wireTestRandom);

describe('golden vector envelope-v1.json', () => {
  it('keys in the vector belong together', () => {
    expect(toHex(nacl.box.keyPair.fromSecretKey(deviceSecret).publicKey)).toBe(vector.keys.deviceBoxPublicKey);
    expect(toHex(nacl.box.keyPair.fromSecretKey(collectorSecret).publicKey)).toBe(vector.keys.collectorPublicKey);
    expect(toHex(keyId(collectorPublic))).toBe(vector.expected.recipientKeyId);
    expect(toHex(x25519XSalsa20Poly1305.precompute(collectorPublic, deviceSecret))).toBe(vector.expected.sharedKey);
  });

  it('sealEnvelope reproduces the exact bytes', () => {
    const i = vector.inputs;
    const common = {
      recipientKeyId: fromHex(vector.expected.recipientKeyId),
      senderKeyId: fromHex(vector.expected.senderKeyId),
      sessionId: fromHex(i.sessionId),
      seq: i.seq,
      ts: i.ts,
      deviceId: i.deviceId,
      stream: i.stream,
      readings: i.readings,
    };
    expect(toHex(encodeInner(common))).toBe(vector.expected.plaintext);
    const sealed = sealEnvelope({ ...common, suite: x25519XSalsa20Poly1305, sharedKey: fromHex(vector.expected.sharedKey), nonce: fromHex(i.nonce) });
    expect(toHex(sealed)).toBe(vector.expected.envelope);
    expect(sealed.length).toBe(vector.expected.envelopeLength);
  });

  it('Sealer with an injected nonce reproduces the exact bytes and then advances seq', () => {
    const sealer = vectorSealer();
    const i = vector.inputs;
    expect(toHex(sealer.seal(i.stream, i.readings, i.ts, fromHex(i.nonce)))).toBe(vector.expected.envelope);
    expect(sealer.nextSeq).toBe(i.seq + 1);
  });

  it('opens to the input readings on its topic', () => {
    const opened = openEnvelope(
      fromHex(vector.expected.envelope),
      { recipientSecretKey: collectorSecret, senderPublicKey: fromHex(vector.keys.deviceBoxPublicKey) },
      { deviceId: vector.inputs.deviceId, stream: vector.inputs.stream },
    );
    expect(opened.readings).toEqual(vector.inputs.readings);
    expect(opened.header.seq).toBe(vector.inputs.seq);
    expect(opened.header.ts).toBe(vector.inputs.ts);
    expect(toHex(opened.header.sessionId)).toBe(vector.inputs.sessionId);
  });

  it('the outer map is the documented one, in the documented key order', () => {
    const outer = decodeCbor(fromHex(vector.expected.envelope)) as Record<string, unknown>;
    expect(Object.keys(outer)).toEqual(['v', 'alg', 'rk', 'sk', 'sid', 'seq', 'ts', 'n', 'ct']);
    expect(outer['v']).toBe(1);
    expect(outer['alg']).toBe(1);
    expect((outer['ct'] as Uint8Array).length).toBe(vector.expected.plaintext.length / 2 + 16);
  });
});

describe('parseEnvelope rejects with the right code', () => {
  const good = fromHex(vector.expected.envelope);
  const outer = () => decodeCbor(good) as Record<string, unknown>;
  const withField = (key: string, value: unknown) => encodeCbor({ ...outer(), [key]: value });

  it('unknown version and algorithm', () => {
    expectCode(() => parseEnvelope(withField('v', 2)), 'UNSUPPORTED_VERSION');
    expectCode(() => parseEnvelope(withField('v', 0)), 'UNSUPPORTED_VERSION');
    expectCode(() => parseEnvelope(withField('alg', 2)), 'UNKNOWN_ALGORITHM');
    expectCode(() => parseEnvelope(withField('alg', 0)), 'UNKNOWN_ALGORITHM');
    // A future version is refused as unsupported even when its field set differs.
    expectCode(() => parseEnvelope(encodeCbor({ v: 2, other: 1 })), 'UNSUPPORTED_VERSION');
  });

  it('size before anything else', () => {
    expectCode(() => parseEnvelope(new Uint8Array(ENVELOPE_LIMITS.maxEnvelopeBytes + 1)), 'OVERSIZED');
    expectCode(() => parseEnvelope(good, { maxEnvelopeBytes: good.length - 1 }), 'OVERSIZED');
  });

  it('wrong shapes are malformed', () => {
    expectCode(() => parseEnvelope(new Uint8Array(0)), 'MALFORMED');
    expectCode(() => parseEnvelope(encodeCbor([1, 2, 3])), 'MALFORMED');
    expectCode(() => parseEnvelope(withField('extra', 1)), 'MALFORMED');
    expectCode(() => parseEnvelope(withField('rk', new Uint8Array(7))), 'MALFORMED');
    expectCode(() => parseEnvelope(withField('n', new Uint8Array(23))), 'MALFORMED');
    expectCode(() => parseEnvelope(withField('seq', -1)), 'MALFORMED');
    expectCode(() => parseEnvelope(withField('ts', 1.5)), 'MALFORMED');
    expectCode(() => parseEnvelope(withField('ct', { nested: true })), 'MALFORMED');
    expectCode(() => parseEnvelope(new Uint8Array(60_000).fill(0x81)), 'MALFORMED');
    const { v: _v, ...noVersion } = outer();
    expectCode(() => parseEnvelope(encodeCbor(noVersion)), 'MALFORMED');
  });

  it('opening with the wrong key or on the wrong topic fails', () => {
    const keys = { recipientSecretKey: collectorSecret, senderPublicKey: nacl.box.keyPair().publicKey };
    expectCode(() => openEnvelope(good, keys, { deviceId: 'thermo-1', stream: 'telemetry' }), 'AUTH_FAILED');
    const right = { recipientSecretKey: collectorSecret, senderPublicKey: fromHex(vector.keys.deviceBoxPublicKey) };
    expectCode(() => openEnvelope(good, right, { deviceId: 'thermo-2', stream: 'telemetry' }), 'HEADER_MISMATCH');
    expectCode(() => openEnvelope(good, right, { deviceId: 'thermo-1', stream: 'status' }), 'HEADER_MISMATCH');
  });
});

describe('Sealer, v1 (test/envelope-v2.test.ts has v2)', () => {
  const recipient = nacl.box.keyPair();
  const identity = { boxSecretKey: deviceSecret, boxKeyId: keyId(fromHex(vector.keys.deviceBoxPublicKey)) };
  const session = fromHex('0102030405060708');
  const make = (maxEnvelopeBytes?: number) =>
    new Sealer({ identity, deviceId: 'lock-1', recipientPublicKey: recipient.publicKey, sessionId: session, version: 1, ...(maxEnvelopeBytes ? { maxEnvelopeBytes } : {}) });
  const open = (bytes: Uint8Array) =>
    openEnvelope(bytes, { recipientSecretKey: recipient.secretKey, senderPublicKey: fromHex(vector.keys.deviceBoxPublicKey) }, { deviceId: 'lock-1', stream: 'telemetry' });

  it('numbers envelopes 0, 1, 2 and uses a fresh nonce each time', () => {
    const sealer = make();
    const envelopes = [0, 1, 2].map((q) => sealer.seal('telemetry', [reading(session, q)], T0));
    expect(envelopes.map((e) => open(e).header.seq)).toEqual([0, 1, 2]);
    const nonces = new Set(envelopes.map((e) => toHex(parseEnvelope(e).header.nonce)));
    expect(nonces.size).toBe(3);
  });

  it('a failed seal consumes no sequence number', () => {
    const sealer = make(512);
    expectCode(() => sealer.seal('telemetry', [reading(session, 0, { blob: 'x'.repeat(600) })], T0), 'OVERSIZED');
    expectCode(() => sealer.seal('telemetry', [], T0), 'INVALID_ARGUMENT');
    expectCode(() => sealer.seal('telemetry', [{ ...reading(session, 0), at: -1 }], T0), 'INVALID_READING');
    expectCode(() => sealer.seal('telemetry', [{ ...reading(session, 0), category: '' }], T0), 'INVALID_READING');
    const tooMany = Array.from({ length: ENVELOPE_LIMITS.maxReadings + 1 }, (_, q) => reading(session, q));
    expectCode(() => make().seal('telemetry', tooMany, T0), 'OVERSIZED');
    expect(sealer.nextSeq).toBe(0);
    expect(open(sealer.seal('telemetry', [reading(session, 0)], T0)).header.seq).toBe(0);
  });

  it('sealFitting takes the longest prefix that fits and every envelope opens', () => {
    const sealer = make(2048);
    const all = Array.from({ length: 100 }, (_, q) => reading(session, q, { c: q }));
    const got: EnvelopeReading[] = [];
    while (got.length < all.length) {
      const { envelope, count } = sealer.sealFitting('telemetry', all.slice(got.length), T0);
      expect(envelope.length).toBeLessThanOrEqual(2048);
      expect(count).toBeGreaterThan(0);
      got.push(...open(envelope).readings);
    }
    expect(got).toEqual(all);
    expectCode(() => sealer.sealFitting('telemetry', [reading(session, 0, { blob: 'x'.repeat(4000) })], T0), 'OVERSIZED');
  });

  it('setRecipient switches the key the envelope is sealed to', () => {
    const sealer = make();
    const next = nacl.box.keyPair();
    sealer.setRecipient(next.publicKey);
    const sealed = sealer.seal('telemetry', [reading(session, 0)], T0);
    expect(toHex(parseEnvelope(sealed).header.recipientKeyId)).toBe(toHex(keyId(next.publicKey)));
    expectCode(() => open(sealed), 'AUTH_FAILED');
  });

  it('rejects bad construction without echoing key material', () => {
    expectCode(() => new Sealer({ identity, deviceId: 'x', recipientPublicKey: new Uint8Array(31), sessionId: session }), 'INVALID_ARGUMENT');
    expectCode(() => new Sealer({ identity, deviceId: 'x', recipientPublicKey: recipient.publicKey, sessionId: new Uint8Array(4) }), 'INVALID_ARGUMENT');
    expectCode(() => new Sealer({ identity, deviceId: 'x', recipientPublicKey: recipient.publicKey, sessionId: session, alg: 9 }), 'UNKNOWN_ALGORITHM');
  });
});

describe('suite registry', () => {
  it('knows suite 1 and nothing else by default', () => {
    expect(DEFAULT_SUITES.ids).toEqual([1]);
    expect(DEFAULT_SUITES.get(1).name).toBe('x25519-xsalsa20poly1305');
    expectCode(() => DEFAULT_SUITES.get(2), 'UNKNOWN_ALGORITHM');
  });

  it('a registered second suite seals and opens end to end (the agility path)', () => {
    // A stand-in suite for the test: NaCl box with the key agreement hashed, so keys differ from suite 1.
    const hashed: CryptoSuite = {
      ...x25519XSalsa20Poly1305,
      id: 2,
      name: 'test-hashed-box',
      precompute: (pub, sec) => nacl.hash(nacl.box.before(pub, sec)).subarray(0, 32),
    };
    const suites = createSuiteRegistry([x25519XSalsa20Poly1305, hashed]);
    const recipient = nacl.box.keyPair();
    const device = nacl.box.keyPair();
    const sealer = new Sealer({
      identity: { boxSecretKey: device.secretKey, boxKeyId: keyId(device.publicKey) },
      deviceId: 'fit-1', recipientPublicKey: recipient.publicKey, sessionId: new Uint8Array(8), alg: 2, suites, version: 1,
    });
    const sealed = sealer.seal('telemetry', [reading('00', 1)], T0);
    const keys = { recipientSecretKey: recipient.secretKey, senderPublicKey: device.publicKey };
    const where = { deviceId: 'fit-1', stream: 'telemetry' };
    expect(openEnvelope(sealed, keys, where, { suites }).header.alg).toBe(2);
    expectCode(() => openEnvelope(sealed, keys, where), 'UNKNOWN_ALGORITHM');
    expectCode(() => createSuiteRegistry([hashed, hashed]), 'INVALID_ARGUMENT');
  });

  it('SharedKeyCache agrees once per pair and stays bounded', () => {
    let agreements = 0;
    const counting: CryptoSuite = { ...x25519XSalsa20Poly1305, precompute: (p, s) => (agreements++, x25519XSalsa20Poly1305.precompute(p, s)) };
    const cache = new SharedKeyCache(2);
    const mine = nacl.box.keyPair().secretKey;
    const peers = [nacl.box.keyPair(), nacl.box.keyPair(), nacl.box.keyPair()].map((k) => k.publicKey);
    const first = cache.get(counting, peers[0]!, mine, 'me');
    expect(cache.get(counting, peers[0]!, mine, 'me')).toBe(first);
    expect(agreements).toBe(1);
    cache.get(counting, peers[1]!, mine, 'me');
    cache.get(counting, peers[2]!, mine, 'me');
    expect(cache.size).toBe(2);
    expect(agreements).toBe(3);
  });
});
