import { Decoder, Encoder } from 'cbor-x';
import { TrustError } from '../errors.js';

/**
 * One CBOR configuration for every runtime. Records and the Uint8Array tag are off because they change the
 * bytes between cbor-x builds and engines; maps decode to plain objects.
 */
const OPTIONS = { useRecords: false, mapsAsObjects: true, tagUint8Array: false, structuredClone: false } as const;
const encoder = new Encoder(OPTIONS);
const decoder = new Decoder(OPTIONS);

export function encodeCbor(value: unknown): Uint8Array {
  const bytes = encoder.encode(value);
  // cbor-x hands out a Buffer on Node; the public surface only speaks Uint8Array.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).slice();
}

export interface DecodeLimits {
  /** Largest accepted input, in bytes. */
  maxBytes: number;
  /** Deepest accepted nesting of maps and arrays. */
  maxDepth: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxBytes: 64 * 1024, maxDepth: 8 };

/**
 * Decode untrusted bytes. Size is checked before parsing, depth and types after; anything odd is
 * `MALFORMED` or `OVERSIZED`, never a crash.
 */
export function decodeCbor(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): unknown {
  if (!(bytes instanceof Uint8Array)) throw new TrustError('INVALID_ARGUMENT', 'bytes must be a Uint8Array');
  if (bytes.length > limits.maxBytes) {
    throw new TrustError('OVERSIZED', `CBOR input of ${bytes.length} bytes exceeds ${limits.maxBytes}`);
  }
  if (bytes.length === 0) throw new TrustError('MALFORMED', 'empty CBOR input');
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (cause) {
    throw new TrustError('MALFORMED', 'input is not valid CBOR', { cause });
  }
  checkDepth(value, limits.maxDepth, 0);
  return value;
}

function checkDepth(value: unknown, maxDepth: number, depth: number): void {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (depth >= maxDepth) throw new TrustError('MALFORMED', `CBOR nesting deeper than ${maxDepth}`);
  if (value instanceof Map || value instanceof Set || value instanceof Date || ArrayBuffer.isView(value)) {
    throw new TrustError('MALFORMED', 'CBOR contains an unsupported type');
  }
  const children = Array.isArray(value) ? value : Object.values(value);
  for (const child of children) checkDepth(child, maxDepth, depth + 1);
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
