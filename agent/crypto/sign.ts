import { asRecord, decodeCbor, encodeCbor, fieldBytes, type DecodeLimits, DEFAULT_DECODE_LIMITS } from '../codec/cbor.js';
import { TrustError } from '../errors.js';
import { equalBytes, keyId } from './keys.js';
import { primitives } from './primitives.js';

/**
 * A signed CBOR document: `{ b: <CBOR bytes of the body>, k: <signer key id>, s: <Ed25519 signature over b> }`.
 * The signature covers the exact bytes, so no canonical re-encoding is needed on any runtime.
 */
export interface SignedDocument<T> {
  body: T;
  signerKeyId: Uint8Array;
}

export function signDocument(body: unknown, signSecretKey: Uint8Array): Uint8Array {
  const b = encodeCbor(body);
  const publicKey = signSecretKey.subarray(32);
  return encodeCbor({ b, k: keyId(publicKey), s: primitives().sign(b, signSecretKey) });
}

/** Parse without verifying: for routing to the right key. */
export function parseSignedDocument(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): { b: Uint8Array; k: Uint8Array; s: Uint8Array } {
  const outer = asRecord(decodeCbor(bytes, limits), 'signed document');
  return { b: fieldBytes(outer, 'b', undefined, limits.maxBytes), k: fieldBytes(outer, 'k', 8), s: fieldBytes(outer, 's', 64) };
}

export function verifyDocument<T = unknown>(bytes: Uint8Array, signPublicKey: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): SignedDocument<T> {
  const { b, k, s } = parseSignedDocument(bytes, limits);
  if (!equalBytes(k, keyId(signPublicKey))) throw new TrustError('UNKNOWN_KEY', 'document is signed by another key');
  if (!primitives().verify(b, s, signPublicKey)) throw new TrustError('BAD_SIGNATURE', 'signature does not verify');
  return { body: decodeCbor(b, limits) as T, signerKeyId: k };
}
