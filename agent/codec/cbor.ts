import { Encoder } from 'cbor-x';
import { TrustError } from '../errors.js';
import { decodeStrict, type DecodeLimits, type DecodeProbe } from './cbor-decode.js';

/**
 * One CBOR encoder configuration for every runtime. Records and the Uint8Array tag are off because they change
 * the bytes between cbor-x builds and engines.
 */
const OPTIONS = { useRecords: false, mapsAsObjects: true, tagUint8Array: false, structuredClone: false } as const;
const encoder = new Encoder(OPTIONS);

export function encodeCbor(value: unknown): Uint8Array {
  const bytes = encoder.encode(value);
  // cbor-x hands out a Buffer on Node; the public surface only speaks Uint8Array.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).slice();
}

/**
 * The encoding as a view of the encoder's own output, not copied: valid only until the next encode. For hot paths
 * that copy it at once (the store's sealFrame), so each record does not pay for a copy it throws away.
 */
export function encodeCborTransient(value: unknown): Uint8Array {
  const bytes = encoder.encode(value);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export type { DecodeLimits, DecodeProbe } from './cbor-decode.js';

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxBytes: 64 * 1024, maxDepth: 8 };

/**
 * Decode untrusted bytes: network input and files read back from flash alike. cbor-x is for encoding only: its
 * decoder honours shared-reference and record tags whatever the options, which turns a few hundred bytes into
 * an exponential graph or into code compiled with `new Function`. Everything goes through the strict profile
 * of cbor-decode.ts instead; anything odd is `MALFORMED` or `OVERSIZED`, never a crash, never superlinear.
 */
export function decodeCbor(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS, probe?: DecodeProbe): unknown {
  return decodeStrict(bytes, limits, probe);
}

/** Narrowing helpers for decoded, untrusted CBOR. Each names the field it rejects. */
export function asRecord(value: unknown, name: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new TrustError('MALFORMED', `${name} must be a map`);
  }
  return value as Record<string, unknown>;
}

export function fieldBytes(record: Record<string, unknown>, key: string, length?: number, maxLength = 65536): Uint8Array {
  const value = record[key];
  if (!(value instanceof Uint8Array)) throw new TrustError('MALFORMED', `field ${key} must be a byte string`);
  if (length !== undefined && value.length !== length) {
    throw new TrustError('MALFORMED', `field ${key} must be ${length} bytes`);
  }
  if (value.length > maxLength) throw new TrustError('OVERSIZED', `field ${key} exceeds ${maxLength} bytes`);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export function fieldUint(record: Record<string, unknown>, key: string): number {
  const value = record[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TrustError('MALFORMED', `field ${key} must be an unsigned integer`);
  }
  return value;
}

export function fieldString(record: Record<string, unknown>, key: string, maxLength = 256): string {
  const value = record[key];
  if (typeof value !== 'string' || value.length > maxLength) {
    throw new TrustError('MALFORMED', `field ${key} must be a string of at most ${maxLength} characters`);
  }
  return value;
}
