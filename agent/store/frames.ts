import nacl from 'tweetnacl';
import type { RandomSource } from '../crypto/random.js';
import { decodeCbor, encodeCbor, encodeCborTransient } from '../codec/cbor.js';
import { TrustError } from '../errors.js';
import { crc32, readU32, writeU32 } from './crc32.js';

/**
 * Segment framing: `[u32 length][u32 crc32(sealed)][sealed]`, sealed = nonce(24) || secretbox(CBOR body).
 * The CRC finds torn and flipped bytes before any decryption is tried; the box proves the body is ours.
 */
export const FRAME_HEADER = 8;
const MIN_SEALED = nacl.secretbox.nonceLength + nacl.secretbox.overheadLength;
export const MAX_SEALED = 1024 * 1024;
const BODY_LIMITS = { maxBytes: MAX_SEALED, maxDepth: 8 };

/** What is inside a sealed frame (short keys: every record pays for them). */
export interface RecordBody {
  ord: number;
  session: string;
  seq: number;
  category: string;
  at: number;
  expiresAt: number;
  transmit: boolean;
  essential: boolean;
  data: Record<string, unknown>;
}

/**
 * Nonces are random (never counters: a counter could repeat after a crash). Drawing them 64 at a time from the
 * random port costs one host call instead of 64; a nonce is public, so holding a few spare ones is harmless.
 */
const NONCE_BATCH = 64;

/** One pool per store, drawn from that store's random source: two agents in a process never share nonces. */
export class NoncePool {
  private pool: Uint8Array = new Uint8Array(0);
  private at = 0;

  constructor(private readonly random: RandomSource) {}

  next(): Uint8Array {
    const length = nacl.secretbox.nonceLength;
    if (this.at + length > this.pool.length) {
      this.pool = this.random.bytes(length * NONCE_BATCH);
      this.at = 0;
    }
    const nonce = this.pool.subarray(this.at, this.at + length);
    this.at += length;
    return nonce;
  }
}

/** tweetnacl's documented low-level API (missing from its .d.ts). */
const lowlevel = (nacl as unknown as {
  lowlevel: { crypto_secretbox(c: Uint8Array, m: Uint8Array, d: number, n: Uint8Array, k: Uint8Array): number };
}).lowlevel;
/** secretbox's input starts with 32 zero bytes; its output starts with 16, then the tag and the ciphertext. */
const ZERO_BYTES = 32;

/**
 * The frame is the only allocation (issue 12 item 5: `nacl.secretbox` would allocate two arrays of the body's size
 * per record, and the frame a third copy). The body is encoded straight into the frame and sealed in place:
 * crypto_secretbox works position by position, so input and output may alias (as in agent/crypto/suites.ts). The
 * box region starts 16 bytes before the tag, inside the nonce's place, so the nonce is written after sealing.
 */
export function sealFrame(body: RecordBody, key: Uint8Array, nonces: NoncePool): Uint8Array {
  const plain = encodeCborTransient({
    o: body.ord, s: body.session, q: body.seq, c: body.category, a: body.at, x: body.expiresAt,
    t: body.transmit, e: body.essential, d: body.data,
  });
  const nonce = nonces.next();
  const length = MIN_SEALED + plain.length;
  if (length > MAX_SEALED) throw new TrustError('OVERSIZED', `record of ${length} bytes exceeds ${MAX_SEALED}`);
  const frame = new Uint8Array(FRAME_HEADER + length);
  const boxStart = frame.length - plain.length - ZERO_BYTES;
  frame.set(plain, boxStart + ZERO_BYTES);
  const box = frame.subarray(boxStart);
  if (lowlevel.crypto_secretbox(box, box, box.length, nonce, key) !== 0) throw new TrustError('INVALID_ARGUMENT', 'secretbox refused its input');
  frame.set(nonce, FRAME_HEADER);
  writeU32(frame, 0, length);
  writeU32(frame, 4, crc32(frame, FRAME_HEADER));
  return frame;
}

export interface FrameSpan {
  offset: number;
  length: number;
}

export interface SegmentScan {
  frames: FrameSpan[];
  /** Bytes that hold whole, checksummed frames. */
  goodLength: number;
  /** 'torn': only the tail is bad (a write cut short): cut it. 'corrupt': bad bytes with data after them. */
  status: 'ok' | 'torn' | 'corrupt';
}

export function scanSegment(bytes: Uint8Array): SegmentScan {
  const frames: FrameSpan[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const verdict = checkFrameAt(bytes, pos);
    if (verdict !== 'ok') return { frames, goodLength: pos, status: verdict };
    const length = FRAME_HEADER + readU32(bytes, pos);
    frames.push({ offset: pos, length });
    pos += length;
  }
  return { frames, goodLength: pos, status: 'ok' };
}

function checkFrameAt(bytes: Uint8Array, pos: number): 'ok' | 'torn' | 'corrupt' {
  const remaining = bytes.length - pos;
  if (remaining < FRAME_HEADER) return 'torn';
  const length = readU32(bytes, pos);
  if (length < MIN_SEALED || length > MAX_SEALED) return allZero(bytes, pos) ? 'torn' : 'corrupt';
  const end = pos + FRAME_HEADER + length;
  if (end > bytes.length) return 'torn';
  if (crc32(bytes, pos + FRAME_HEADER, end) === readU32(bytes, pos + 4)) return 'ok';
  // A bad last frame is a write the crash cut short; bad bytes with more data after them are damage.
  return end === bytes.length ? 'torn' : 'corrupt';
}

function allZero(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Undefined when the frame does not open under `key` or its body is not a record. */
export function openFrame(bytes: Uint8Array, span: FrameSpan, key: Uint8Array): RecordBody | undefined {
  const sealed = bytes.subarray(span.offset + FRAME_HEADER, span.offset + span.length);
  const nonce = sealed.subarray(0, nacl.secretbox.nonceLength);
  const plain = nacl.secretbox.open(sealed.subarray(nacl.secretbox.nonceLength), nonce, key);
  if (plain === null) return undefined;
  try {
    return toBody(decodeCbor(plain, BODY_LIMITS));
  } catch {
    return undefined;
  }
}

function toBody(value: unknown): RecordBody | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const { o, s, q, c, a, x, t, e, d } = v;
  if (!Number.isSafeInteger(o) || !Number.isSafeInteger(q) || typeof s !== 'string' || typeof c !== 'string') return undefined;
  if (typeof a !== 'number' || typeof x !== 'number' || typeof t !== 'boolean' || typeof e !== 'boolean') return undefined;
  if (d === null || typeof d !== 'object' || Array.isArray(d)) return undefined;
  return {
    ord: o as number, session: s, seq: q as number, category: c, at: a, expiresAt: x,
    transmit: t, essential: e, data: d as Record<string, unknown>,
  };
}
