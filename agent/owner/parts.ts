import { asRecord, decodeCbor, encodeCbor, fieldBytes, fieldUint } from '../codec/cbor.js';
import { concatBytes } from '../codec/bytes.js';
import { equalBytes } from '../crypto/keys.js';
import { TrustError } from '../errors.js';
import { digest } from './replies.js';

/**
 * Results too large for one reply (an export of a month of heart rate, a long audit trail) travel as parts on
 * `cmd/res/{clientToken}/part`, published before the accepted reply. The parts are not signed one by one: the signed
 * reply names their count, total size and SHA-512/256 digest, so the companion checks the reassembled bytes against
 * the device's signature. A blob that would need more than MAX_PARTS is refused as OVERSIZED.
 */
export const PART_BYTES = 64 * 1024;
export const MAX_PARTS = 256;

export interface PartsInfo {
  field: 'export' | 'audit';
  count: number;
  bytes: number;
  digest: Uint8Array;
}

export function splitIntoParts(blob: Uint8Array, field: PartsInfo['field']): { info: PartsInfo; parts: Uint8Array[] } {
  const count = Math.max(1, Math.ceil(blob.length / PART_BYTES));
  if (count > MAX_PARTS) throw new TrustError('OVERSIZED', `the result needs more than ${MAX_PARTS} parts of ${PART_BYTES} bytes`);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) parts.push(encodeCbor({ i, n: count, b: blob.subarray(i * PART_BYTES, (i + 1) * PART_BYTES) }));
  return { info: { field, count, bytes: blob.length, digest: digest(blob) }, parts };
}

export function decodePart(bytes: Uint8Array): { index: number; count: number; body: Uint8Array } {
  const record = asRecord(decodeCbor(bytes, { maxBytes: PART_BYTES + 64, maxDepth: 2 }), 'part');
  const index = fieldUint(record, 'i');
  const count = fieldUint(record, 'n');
  if (count < 1 || count > MAX_PARTS || index >= count) throw new TrustError('MALFORMED', 'part index out of range');
  return { index, count, body: fieldBytes(record, 'b', undefined, PART_BYTES) };
}

/** Reassembles when every part is there; throws AUTH_FAILED when the bytes do not match the signed digest. */
export function joinParts(info: PartsInfo, received: ReadonlyMap<number, Uint8Array>): Uint8Array | undefined {
  const ordered: Uint8Array[] = [];
  for (let i = 0; i < info.count; i++) {
    const part = received.get(i);
    if (part === undefined) return undefined;
    ordered.push(part);
  }
  const blob = concatBytes(ordered);
  if (blob.length !== info.bytes || !equalBytes(digest(blob), info.digest)) {
    throw new TrustError('AUTH_FAILED', 'reassembled result does not match the digest the device signed');
  }
  return blob;
}
