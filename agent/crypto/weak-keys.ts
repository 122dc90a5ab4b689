import nacl from 'tweetnacl';
import { assertBytes, TrustError } from '../errors.js';
import { primitives } from './primitives.js';

/**
 * Low-order X25519 public keys (docs/protocol.md, "Weak keys"). A public key of small order (the all-zero key,
 * u = 1, u = p - 1, the two points of order 8, and their non-canonical encodings, e.g. p, p + 1 or any of them
 * with bit 255 set) makes every shared secret with it all zeros, whatever our secret is: anyone can then open
 * what was "sealed" to it. Rather than trusting a list, the test is the product itself: an X25519 secret is
 * clamped to a multiple of 8, so multiplying by a point whose order divides 8 gives the point at infinity, which
 * X25519 encodes as 32 zero bytes. test/vectors/x25519-small-order.json holds the known list the tests walk.
 */
const PROBE_SCALAR = (() => {
  // 2^254 + 8: a valid clamped scalar (bit 254 set, low three bits clear), not a multiple of the group order.
  const scalar = new Uint8Array(32);
  scalar[0] = 8;
  scalar[31] = 0x40;
  return scalar;
})();

export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const byte of bytes) acc |= byte;
  return acc === 0;
}

/** True for a public key whose product with any clamped secret is all zeros (low order, incl. the zero key). */
export function isWeakX25519PublicKey(publicKey: Uint8Array): boolean {
  return isAllZero(primitives().scalarMult(PROBE_SCALAR, publicKey));
}

/**
 * Throws INVALID_ARGUMENT (not 32 bytes) or WEAK_KEY naming `name` for a low-order key. Every place an X25519
 * public key comes in calls this before storing or using the key.
 */
export function assertStrongX25519(publicKey: unknown, name: string): asserts publicKey is Uint8Array {
  assertBytes(publicKey, name, nacl.box.publicKeyLength);
  if (isWeakX25519PublicKey(publicKey)) {
    throw new TrustError('WEAK_KEY', `${name} is a low-order X25519 public key: anything sealed to it could be opened by anyone`);
  }
}

/** tweetnacl's documented low-level API (missing from its .d.ts). */
const lowlevel = (nacl as unknown as {
  lowlevel: { crypto_core_hsalsa20(out: Uint8Array, input: Uint8Array, key: Uint8Array, constant: Uint8Array): number };
}).lowlevel;
const SIGMA = new Uint8Array([101, 120, 112, 97, 110, 100, 32, 51, 50, 45, 98, 121, 116, 101, 32, 107]); // "expand 32-byte k"

/**
 * `nacl.box.before` with the contributory check libsodium makes: the raw X25519 product is refused when it is
 * all zeros (WEAK_KEY), then hashed with HSalsa20 exactly as box.before does, so the result is byte-identical.
 */
export function checkedBoxBefore(theirPublicKey: Uint8Array, mySecretKey: Uint8Array, name = 'public key'): Uint8Array {
  const product = primitives().scalarMult(mySecretKey, theirPublicKey);
  if (isAllZero(product)) throw new TrustError('WEAK_KEY', `${name} is a low-order X25519 public key`);
  const shared = new Uint8Array(32);
  lowlevel.crypto_core_hsalsa20(shared, new Uint8Array(16), product, SIGMA);
  return shared;
}

/**
 * `nacl.box.before` exactly (no contributory check) over the installed X25519, for the ephemeral boxes whose keys
 * were already checked by `assertStrongX25519`: byte-identical to what `nacl.box` computes internally.
 */
export function boxBefore(theirPublicKey: Uint8Array, mySecretKey: Uint8Array): Uint8Array {
  const shared = new Uint8Array(32);
  lowlevel.crypto_core_hsalsa20(shared, new Uint8Array(16), primitives().scalarMult(mySecretKey, theirPublicKey), SIGMA);
  return shared;
}
