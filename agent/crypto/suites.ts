import nacl from 'tweetnacl';
import { TrustError } from '../errors.js';
import { toHex } from './keys.js';
import { checkedBoxBefore } from './weak-keys.js';

/**
 * The crypto suite registry (R7, crypto agility). An envelope names its suite by a small integer `alg`; the
 * receiver looks the id up here and rejects anything it does not know with `UNKNOWN_ALGORITHM`. A suite is a
 * key agreement plus an AEAD, split so the expensive half (key agreement) runs once per key pair and only the
 * cheap half runs per message.
 *
 * Adding a suite: implement `CryptoSuite`, give it the next free id, add it to `DEFAULT_SUITES`, document it
 * in docs/protocol.md, and add a golden vector. Ids are never reused.
 */
export interface CryptoSuite {
  readonly id: number;
  readonly name: string;
  readonly publicKeyLength: number;
  readonly secretKeyLength: number;
  readonly nonceLength: number;
  /** Bytes the AEAD adds to the plaintext (the tag). */
  readonly overhead: number;
  /** Key agreement: the shared key for one (their public, my secret) pair. Slow; cache the result. */
  precompute(theirPublicKey: Uint8Array, mySecretKey: Uint8Array): Uint8Array;
  seal(sharedKey: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** null when the tag does not verify: wrong key, wrong nonce or any changed byte. */
  open(sharedKey: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array): Uint8Array | null;
  /**
   * Optional fast path, same bytes as `seal`: `box` holds `inPlacePadding` zero bytes then the plaintext; on
   * return its bytes from `inPlacePadding - overhead` on are the ciphertext. Lets the sealer encrypt straight
   * inside the envelope buffer instead of allocating and copying three times.
   */
  readonly inPlacePadding?: number;
  sealInPlace?(sharedKey: Uint8Array, nonce: Uint8Array, box: Uint8Array): void;
}

/** tweetnacl's documented low-level API (missing from its .d.ts): the raw secretbox over zero-padded input. */
const lowlevel = (nacl as unknown as { lowlevel: { crypto_secretbox(c: Uint8Array, m: Uint8Array, d: number, n: Uint8Array, k: Uint8Array): number } }).lowlevel;

export const ALG_X25519_XSALSA20_POLY1305 = 1;

/** Suite 1: NaCl box. X25519 key agreement + HSalsa20 (box.before), XSalsa20-Poly1305 per message (box.after). */
export const x25519XSalsa20Poly1305: CryptoSuite = {
  id: ALG_X25519_XSALSA20_POLY1305,
  name: 'x25519-xsalsa20poly1305',
  publicKeyLength: nacl.box.publicKeyLength,
  secretKeyLength: nacl.box.secretKeyLength,
  nonceLength: nacl.box.nonceLength,
  overhead: nacl.box.overheadLength,
  precompute(theirPublicKey, mySecretKey) {
    checkLength(theirPublicKey, nacl.box.publicKeyLength, 'public key');
    checkLength(mySecretKey, nacl.box.secretKeyLength, 'secret key');
    // box.before plus the contributory check: a low-order peer key is WEAK_KEY, never an all-zero-derived key.
    return checkedBoxBefore(theirPublicKey, mySecretKey);
  },
  seal(sharedKey, nonce, plaintext) {
    return nacl.box.after(plaintext, nonce, sharedKey);
  },
  open(sharedKey, nonce, ciphertext) {
    if (nonce.length !== nacl.box.nonceLength || ciphertext.length < nacl.box.overheadLength) return null;
    return nacl.box.open.after(ciphertext, nonce, sharedKey);
  },
  // crypto_secretbox wants 32 zero bytes before the message and leaves 16 zero bytes, the tag, then the
  // ciphertext; the stream XOR and the tag are computed position by position, so input and output may alias
  // (nacl.box.after itself passes the same array for both halves of the tag step).
  inPlacePadding: 32,
  sealInPlace(sharedKey, nonce, box) {
    if (nonce.length !== nacl.box.nonceLength || sharedKey.length !== nacl.box.sharedKeyLength || box.length < 32) {
      throw new TrustError('INVALID_ARGUMENT', 'bad in-place seal arguments');
    }
    if (lowlevel.crypto_secretbox(box, box, box.length, nonce, sharedKey) !== 0) {
      throw new TrustError('INVALID_ARGUMENT', 'secretbox refused its input');
    }
  },
};

export interface SuiteRegistry {
  /** The suite for `alg`; throws TrustError('UNKNOWN_ALGORITHM') for an id it does not hold. */
  get(alg: number): CryptoSuite;
  has(alg: number): boolean;
  readonly ids: readonly number[];
}

export function createSuiteRegistry(suites: readonly CryptoSuite[]): SuiteRegistry {
  const byId = new Map<number, CryptoSuite>();
  for (const suite of suites) {
    if (!Number.isSafeInteger(suite.id) || suite.id <= 0) throw new TrustError('INVALID_ARGUMENT', 'suite id must be a positive integer');
    if (byId.has(suite.id)) throw new TrustError('INVALID_ARGUMENT', `suite id ${suite.id} is registered twice`);
    byId.set(suite.id, suite);
  }
  return {
    get(alg) {
      const suite = byId.get(alg);
      if (suite === undefined) throw new TrustError('UNKNOWN_ALGORITHM', `unknown algorithm id ${String(alg)}`);
      return suite;
    },
    has: (alg) => byId.has(alg),
    ids: [...byId.keys()],
  };
}

export const DEFAULT_SUITES: SuiteRegistry = createSuiteRegistry([x25519XSalsa20Poly1305]);

/**
 * Shared keys cached per (suite, their public key, my secret key). A full `nacl.box` per message costs about
 * 100x a `box.after`; the cache makes key agreement a once-per-peer cost. Bounded, so a stream of envelopes
 * naming many peers cannot grow memory without limit (least recently used is evicted).
 */
export class SharedKeyCache {
  private readonly entries = new Map<string, Uint8Array>();
  private readonly maxEntries: number;

  constructor(maxEntries = 4096) {
    this.maxEntries = maxEntries;
  }

  get(suite: CryptoSuite, theirPublicKey: Uint8Array, mySecretKey: Uint8Array, mySecretId: string): Uint8Array {
    const key = `${suite.id}:${mySecretId}:${toHex(theirPublicKey)}`;
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Re-insert to mark as recently used (Map keeps insertion order).
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const shared = suite.precompute(theirPublicKey, mySecretKey);
    this.entries.set(key, shared);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return shared;
  }

  get size(): number {
    return this.entries.size;
  }
}

function checkLength(bytes: Uint8Array, length: number, name: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new TrustError('INVALID_ARGUMENT', `${name} must be ${length} bytes`);
  }
}
