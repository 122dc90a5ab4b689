import { randomFillSync } from 'node:crypto';
import nacl from 'tweetnacl';
import { beforeAll, describe, expect, it } from 'vitest';
import { signDocument, verifyDocument } from '../agent/crypto/sign.js';
import { wireRandom } from '../agent/crypto/random.js';

beforeAll(() => wireRandom({ bytes: (n) => randomFillSync(new Uint8Array(n)) }));

describe('signed documents', () => {
  it('honour the caller\'s size limit for the signed body, not a fixed one', () => {
    const keys = nacl.sign.keyPair();
    const body = { blob: new Uint8Array(100_000).fill(7) };
    const signed = signDocument(body, keys.secretKey);
    expect(verifyDocument<typeof body>(signed, keys.publicKey, { maxBytes: 256 * 1024, maxDepth: 8 }).body.blob.length).toBe(100_000);
    expect(() => verifyDocument(signed, keys.publicKey, { maxBytes: 64 * 1024, maxDepth: 8 })).toThrow(expect.objectContaining({ code: 'OVERSIZED' }));
  });

  it('reject another key, a flipped signature byte and a flipped body byte', () => {
    const keys = nacl.sign.keyPair();
    const signed = signDocument({ n: 1 }, keys.secretKey);
    expect(() => verifyDocument(signed, nacl.sign.keyPair().publicKey)).toThrow(expect.objectContaining({ code: 'UNKNOWN_KEY' }));
    const flipped = signed.slice();
    const last = flipped.length - 1;
    flipped[last] = (flipped[last] ?? 0) ^ 1;
    expect(() => verifyDocument(flipped, keys.publicKey)).toThrow(expect.objectContaining({ code: 'BAD_SIGNATURE' }));
  });
});
