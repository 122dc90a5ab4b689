import fc from 'fast-check';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { encodeCbor } from '../agent/codec/cbor.js';
import { envelopeTemplate, sealEncoded, toWireReadings } from '../agent/codec/envelope.js';
import { toHex } from '../agent/crypto/keys.js';
import { x25519XSalsa20Poly1305, type CryptoSuite } from '../agent/crypto/suites.js';
import { reading } from './envelope-fixtures.js';

/** The hand-written envelope maps must be byte-identical to what cbor-x writes for the same objects. */
const bytes8 = fc.uint8Array({ minLength: 8, maxLength: 8 });
const level = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
// Every head size: tiny, 1-byte, 2-byte, 4-byte uints, and float64 above 2^32 (ms timestamps).
const counter = fc.oneof(fc.nat(30), fc.nat(300), fc.nat(70_000), fc.nat(0xffffffff), fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER }));
const header = fc.record({ rk: bytes8, sk: bytes8, sid: bytes8, seq: counter, ts: counter, deviceId: level, stream: level });
const data = fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.string(), fc.boolean()), { maxKeys: 4 });
// Lengths across every byte-string head size (1, 2, 3 and 5 bytes).
const ciphertextOfAnyHead = fc.oneof(fc.nat(10), fc.nat(300), fc.nat(70_000)).map((n) => new Uint8Array(n + 16).fill(0xa5));
const wireReadings = fc.array(fc.record({ seq: fc.nat(), data }), { minLength: 1, maxLength: 5 });

const withoutInPlace: CryptoSuite = {
  ...x25519XSalsa20Poly1305,
  inPlacePadding: undefined as never,
  sealInPlace: undefined as never,
};

function template(h: { rk: Uint8Array; sk: Uint8Array; sid: Uint8Array; deviceId: string; stream: string }, suite: CryptoSuite = x25519XSalsa20Poly1305) {
  return envelopeTemplate({ suite, recipientKeyId: h.rk, senderKeyId: h.sk, sessionId: h.sid, deviceId: h.deviceId, stream: h.stream });
}

describe('EnvelopeTemplate writes what cbor-x writes', () => {
  it('inner map', () => {
    fc.assert(
      fc.property(header, wireReadings, (h, rs) => {
        const wire = toWireReadings(rs.map((r) => reading('ab', r.seq, r.data)));
        const expected = encodeCbor({ dev: h.deviceId, st: h.stream, rk: h.rk, sk: h.sk, sid: h.sid, seq: h.seq, ts: h.ts, r: wire });
        expect(toHex(template(h).inner(h.seq, h.ts, encodeCbor(wire)))).toBe(toHex(expected));
      }),
      { numRuns: 300 },
    );
  });

  it('outer map', () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ minLength: 24, maxLength: 24 }), ciphertextOfAnyHead, (h, n, ct) => {
        const expected = encodeCbor({ v: 1, alg: 1, rk: h.rk, sk: h.sk, sid: h.sid, seq: h.seq, ts: h.ts, n, ct });
        expect(toHex(template(h).outer(h.seq, h.ts, n, ct))).toBe(toHex(expected));
      }),
      { numRuns: 100 },
    );
  });

  it('sealing in place gives the same envelope as seal-then-copy', () => {
    const sharedKey = nacl.randomBytes(32);
    fc.assert(
      fc.property(header, wireReadings, fc.uint8Array({ minLength: 24, maxLength: 24 }), (h, rs, nonce) => {
        const encoded = encodeCbor(toWireReadings(rs.map((r) => reading('ab', r.seq, r.data))));
        const input = { sharedKey, seq: h.seq, ts: h.ts, nonce };
        const fast = sealEncoded(template(h), { ...input, suite: x25519XSalsa20Poly1305 }, encoded);
        const plain = sealEncoded(template(h, withoutInPlace), { ...input, suite: withoutInPlace }, encoded);
        expect(toHex(fast)).toBe(toHex(plain));
      }),
      { numRuns: 200 },
    );
  });
});
