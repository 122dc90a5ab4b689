import nacl from 'tweetnacl';
import { asRecord, decodeCbor, encodeCbor, fieldBytes, fieldString, fieldUint, type DecodeLimits } from '../codec/cbor.js';
import { equalBytes } from '../crypto/keys.js';
import { TrustError } from '../errors.js';
import { isAuditEventType, isScalarDetails, type AuditDetails, type AuditEventType } from './events.js';
import { primitives } from '../crypto/primitives.js';

/**
 * The audit trail's byte format, shared by the on-device log and the export (they are the same bytes).
 *
 * A trail is a sequence of frames: `u32 big-endian length` then one CBOR array.
 *   ['h', 'ta-audit', 1, signPublicKey]       header, always first: the key that signed the trail from its start
 *   ['b', index, hash]                         base: the last entry removed by trimming (absent until a trim)
 *   ['e', index, prev, at, type, details, hash] an entry
 *   ['c', index, head, at, keyId, signature]   a checkpoint: Ed25519 over the head hash and index
 * Framing keeps damage local: a bad frame is reported where it is, and everything before it still verifies.
 */
export const TRAIL_FORMAT = 'ta-audit';
export const TRAIL_VERSION = 1;
export const HASH_LENGTH = 32;
export const GENESIS_PREV = new Uint8Array(HASH_LENGTH);
export const MAX_FRAME_BYTES = 16 * 1024;
const FRAME_LIMITS: DecodeLimits = { maxBytes: MAX_FRAME_BYTES, maxDepth: 4 };
const CHECKPOINT_DOMAIN = 'ta-audit-checkpoint/1';

export interface AuditEntry {
  index: number;
  /** Hash of the previous entry (or of the trail base; zeros for the first entry ever). */
  prev: Uint8Array;
  /** Wall-clock ms when recorded. */
  at: number;
  type: AuditEventType;
  details: AuditDetails;
  /** SHA-512 truncated to 32 bytes over CBOR of {index, prev, at, type, details}. */
  hash: Uint8Array;
}

export interface AuditCheckpoint {
  /** Index of the last entry covered; the hash chain makes it cover every entry before it too. */
  index: number;
  head: Uint8Array;
  at: number;
  keyId: Uint8Array;
  signature: Uint8Array;
}

/** The last entry removed by trimming: the first kept entry chains to it, and a checkpoint signs it. */
export interface TrailBase {
  index: number;
  hash: Uint8Array;
}

export type Frame =
  | { kind: 'header'; publicKey: Uint8Array }
  | { kind: 'base'; base: TrailBase }
  | { kind: 'entry'; entry: AuditEntry }
  | { kind: 'checkpoint'; checkpoint: AuditCheckpoint };

export function hashEntry(entry: Omit<AuditEntry, 'hash'>): Uint8Array {
  const body = encodeCbor({ index: entry.index, prev: entry.prev, at: entry.at, type: entry.type, details: entry.details });
  return nacl.hash(body).slice(0, HASH_LENGTH);
}

function checkpointMessage(index: number, head: Uint8Array, at: number): Uint8Array {
  return encodeCbor({ t: CHECKPOINT_DOMAIN, i: index, h: head, at });
}

export function signCheckpoint(index: number, head: Uint8Array, at: number, signSecretKey: Uint8Array, keyId: Uint8Array): AuditCheckpoint {
  const signature = primitives().sign(checkpointMessage(index, head, at), signSecretKey);
  return { index, head: head.slice(), at, keyId: keyId.slice(), signature };
}

export function checkpointSignatureValid(checkpoint: AuditCheckpoint, signPublicKey: Uint8Array): boolean {
  return primitives().verify(checkpointMessage(checkpoint.index, checkpoint.head, checkpoint.at), checkpoint.signature, signPublicKey);
}

export function encodeFrame(frame: Frame): Uint8Array {
  const payload = encodeCbor(frameArray(frame));
  const out = new Uint8Array(4 + payload.length);
  const n = payload.length;
  out[0] = n >>> 24;
  out[1] = (n >>> 16) & 255;
  out[2] = (n >>> 8) & 255;
  out[3] = n & 255;
  out.set(payload, 4);
  return out;
}

function frameArray(frame: Frame): unknown[] {
  switch (frame.kind) {
    case 'header':
      return ['h', TRAIL_FORMAT, TRAIL_VERSION, frame.publicKey];
    case 'base':
      return ['b', frame.base.index, frame.base.hash];
    case 'entry': {
      const e = frame.entry;
      return ['e', e.index, e.prev, e.at, e.type, e.details, e.hash];
    }
    case 'checkpoint': {
      const c = frame.checkpoint;
      return ['c', c.index, c.head, c.at, c.keyId, c.signature];
    }
  }
}

/** One step of reading a trail: a frame, the end, or a bad frame at `offset` (torn or corrupt). */
export type FrameRead =
  | { status: 'frame'; frame: Frame; offset: number; next: number }
  | { status: 'end' }
  | { status: 'torn'; offset: number; detail: string }
  | { status: 'bad'; offset: number; detail: string };

export function readFrame(bytes: Uint8Array, offset: number): FrameRead {
  if (offset === bytes.length) return { status: 'end' };
  if (offset + 4 > bytes.length) return { status: 'torn', offset, detail: 'incomplete frame length' };
  const length = (((bytes[offset] ?? 0) << 24) >>> 0) + ((bytes[offset + 1] ?? 0) << 16) + ((bytes[offset + 2] ?? 0) << 8) + (bytes[offset + 3] ?? 0);
  if (length === 0 || length > MAX_FRAME_BYTES) return { status: 'bad', offset, detail: `frame length ${length} out of range` };
  const next = offset + 4 + length;
  if (next > bytes.length) return { status: 'torn', offset, detail: 'frame extends past the end of the trail' };
  try {
    return { status: 'frame', frame: parseFrame(decodeCbor(bytes.subarray(offset + 4, next), FRAME_LIMITS)), offset, next };
  } catch (cause) {
    const detail = cause instanceof TrustError ? cause.message : 'undecodable frame';
    return { status: 'bad', offset, detail };
  }
}

function parseFrame(value: unknown): Frame {
  if (!Array.isArray(value)) throw new TrustError('MALFORMED', 'frame must be an array');
  const fields = asRecord({ ...value }, 'frame');
  const tag = value[0];
  if (tag === 'h' && value.length === 4) {
    if (fieldString(fields, '1') !== TRAIL_FORMAT) throw new TrustError('MALFORMED', 'not an audit trail');
    if (fieldUint(fields, '2') !== TRAIL_VERSION) throw new TrustError('UNSUPPORTED_VERSION', 'unsupported audit trail version');
    return { kind: 'header', publicKey: fieldBytes(fields, '3', 32) };
  }
  if (tag === 'b' && value.length === 3) {
    return { kind: 'base', base: { index: fieldUint(fields, '1'), hash: fieldBytes(fields, '2', HASH_LENGTH) } };
  }
  if (tag === 'e' && value.length === 7) return { kind: 'entry', entry: parseEntry(fields) };
  if (tag === 'c' && value.length === 6) {
    return {
      kind: 'checkpoint',
      checkpoint: {
        index: fieldUint(fields, '1'),
        head: fieldBytes(fields, '2', HASH_LENGTH),
        at: fieldUint(fields, '3'),
        keyId: fieldBytes(fields, '4', 8),
        signature: fieldBytes(fields, '5', 64),
      },
    };
  }
  throw new TrustError('MALFORMED', 'unknown frame');
}

function parseEntry(fields: Record<string, unknown>): AuditEntry {
  const type = fields['4'];
  if (!isAuditEventType(type)) throw new TrustError('MALFORMED', 'unknown audit event type');
  const details = fields['5'];
  if (!isScalarDetails(details)) throw new TrustError('MALFORMED', 'audit details must be a map of scalars');
  return {
    index: fieldUint(fields, '1'),
    prev: fieldBytes(fields, '2', HASH_LENGTH),
    at: fieldUint(fields, '3'),
    type,
    details,
    hash: fieldBytes(fields, '6', HASH_LENGTH),
  };
}


export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return equalBytes(a, b);
}
