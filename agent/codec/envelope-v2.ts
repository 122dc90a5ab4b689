import nacl from 'tweetnacl';
import { decodeCbor } from './cbor.js';
import { CompactWriter, encodeCompact } from './cbor-compact.js';
import { ENVELOPE_LIMITS, KEY_ID_BYTES, SESSION_ID_BYTES, type EnvelopeReading } from './envelope.js';
import { fromHex, toHex } from '../crypto/keys.js';
import { DEFAULT_SUITES, type CryptoSuite, type SuiteRegistry } from '../crypto/suites.js';
import { TrustError } from '../errors.js';

/**
 * Telemetry envelope v2 (docs/protocol.md is the normative text): the v1 guarantees in a fraction of the bytes.
 *
 * Outer CBOR array: [2, alg, sid, seq, ct]. No nonce and no key ids travel: the nonce is derived from the header,
 * the keys and the topic (`deriveNonce`: a per-session prefix, then seq), so a changed header field, another key pair, device or stream gives
 * another nonce and the box does not open. That is how every header field stays authenticated without a copy.
 * Plaintext: [T, g, rs, r1 ... rn] with T = sealing time in seconds, g = category table id (0: none), rs = the
 * readings' session (empty when it is the envelope's), each r = [dq, c, dt, dx, d] (see encodeInnerV2).
 */
export const ENVELOPE_V2 = 2;
const NONCE_LABEL = 'ta-envelope-v2';
const UNITS = [1, 1000, 60_000, 3_600_000] as const;
const HEX_SESSION = /^[0-9a-f]{16}$/;

export interface V2Keys {
  recipientKeyId: Uint8Array;
  senderKeyId: Uint8Array;
}

export interface V2Header {
  version: 2;
  alg: number;
  sessionId: Uint8Array;
  seq: number;
}

/** A registry's category names in registry order, and the id both sides compute from them (`categoryTableId`). */
export interface CategoryTable {
  id: number;
  names: readonly string[];
}

/**
 * The id of a category table: the first two bytes of SHA-512 over the CBOR array of the names, as a big-endian
 * uint16 (0 becomes 1: 0 means "no table"). Equal names give equal ids, so a policy update that only widens or
 * narrows a category keeps the id; a receiver holding tables whose ids collide refuses the configuration.
 */
export function categoryTableId(names: readonly string[]): number {
  const digest = nacl.hash(encodeCompact(names));
  return (((digest[0] as number) << 8) | (digest[1] as number)) || 1;
}

export function categoryTable(names: readonly string[]): CategoryTable {
  return { id: categoryTableId(names), names: [...names] };
}

/**
 * The nonce prefix of one (suite, key pair, session, device, stream): the first `length - 8` bytes of SHA-512 over the
 * CBOR array ["ta-envelope-v2", 2, alg, rk, sk, sid, device, stream]. Computed once per session and stream (a hash
 * costs more than sealing a reading), not per envelope.
 */
export function noncePrefix(alg: number, keys: V2Keys, sessionId: Uint8Array, place: { deviceId: string; stream: string }, length: number): Uint8Array {
  if (length < 24) throw new TrustError('UNKNOWN_ALGORITHM', 'envelope v2 derives nonces for suites with nonces of 24 bytes or more');
  const ad = encodeCompact([NONCE_LABEL, ENVELOPE_V2, alg, keys.recipientKeyId, keys.senderKeyId, sessionId, place.deviceId, place.stream]);
  return nacl.hash(ad).slice(0, length - 8);
}

/** Prefix followed by seq as an 8-byte big-endian unsigned integer. */
export function nonceWithSeq(prefix: Uint8Array, seq: number): Uint8Array {
  const nonce = new Uint8Array(prefix.length + 8);
  nonce.set(prefix);
  let rest = seq;
  for (let i = nonce.length - 1; i >= prefix.length; i--) {
    nonce[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return nonce;
}

/**
 * The nonce of envelope (sid, seq) under a key pair, for one device and stream: `noncePrefix` then seq. Unique as
 * long as (key pair, sid, seq) is (docs/protocol.md, "Why derived nonces are unique").
 */
export function deriveNonce(header: V2Header, keys: V2Keys, place: { deviceId: string; stream: string }, length: number): Uint8Array {
  return nonceWithSeq(noncePrefix(header.alg, keys, header.sessionId, place, length), header.seq);
}

/** A time delta in ms as one signed integer: magnitude in the largest of ms, s, min, h that divides it, times 4, plus the unit's code. */
export function encodeDelta(ms: number): number {
  if (ms === 0) return 0;
  let code = UNITS.length - 1;
  while (ms % (UNITS[code] as number) !== 0) code--;
  const m = (Math.abs(ms) / (UNITS[code] as number)) * 4 + code;
  return ms < 0 ? -m : m;
}

export function decodeDelta(value: number): number {
  const m = Math.abs(value);
  const ms = Math.floor(m / 4) * (UNITS[m % 4] as number);
  return value < 0 ? -ms : ms;
}

/** The plaintext: readings must share one session (the sealer cuts batches there). */
export function encodeInnerV2(sessionId: Uint8Array, ts: number, readings: readonly EnvelopeReading[], table?: CategoryTable): Uint8Array {
  if (readings.length === 0) throw new TrustError('INVALID_ARGUMENT', 'an envelope carries at least one reading');
  if (readings.length > ENVELOPE_LIMITS.maxReadings) {
    throw new TrustError('OVERSIZED', `${readings.length} readings exceed ${ENVELOPE_LIMITS.maxReadings} per envelope`);
  }
  const seconds = Math.floor(ts / 1000);
  const first = readings[0] as EnvelopeReading;
  const session = readingSession(first);
  const w = innerWriter.reset();
  w.head(4, 3 + readings.length);
  w.number(seconds);
  w.number(table?.id ?? 0);
  w.byteString(session === toHex(sessionId) ? new Uint8Array(0) : fromHex(session));
  let prevSeq = -1;
  let prevTime = seconds * 1000;
  let prevLife = 0;
  for (const reading of readings) {
    checkReading(reading, session);
    const index = table === undefined ? -1 : table.names.indexOf(reading.category);
    const life = reading.expiresAt - reading.at;
    w.head(4, 5);
    w.number(prevSeq < 0 ? reading.id.seq : reading.id.seq - prevSeq - 1);
    if (index >= 0) w.number(index);
    else w.text(reading.category);
    w.number(encodeDelta(reading.at - prevTime));
    w.number(encodeDelta(life - prevLife));
    w.value(reading.data);
    prevSeq = reading.id.seq;
    prevTime = reading.at;
    prevLife = life;
  }
  return w.bytes();
}

/** How many leading readings one v2 envelope can carry: those of the first reading's session. */
export function v2Run(readings: readonly EnvelopeReading[]): number {
  let n = 1;
  while (n < readings.length && n < ENVELOPE_LIMITS.maxReadings && readings[n]?.id?.session === readings[0]?.id?.session) n++;
  return n;
}

export function outerV2(alg: number, sessionId: Uint8Array, seq: number, ciphertext: Uint8Array): Uint8Array {
  const w = outerWriter.reset();
  w.head(4, 5);
  w.number(ENVELOPE_V2);
  w.number(alg);
  w.byteString(sessionId);
  w.number(seq);
  w.head(2, ciphertext.length);
  // One copy of the ciphertext, straight into the result.
  const out = new Uint8Array(w.length + ciphertext.length);
  out.set(w.bytes());
  out.set(ciphertext, w.length);
  return out;
}

/** Shared writers: sealing is synchronous and not reentrant, so one buffer each serves every envelope. */
const innerWriter = new CompactWriter();
const outerWriter = new CompactWriter();

export interface ParsedV2 {
  header: V2Header;
  suite: CryptoSuite;
  ciphertext: Uint8Array;
}

/** The outer array after the version was read: alg (UNKNOWN_ALGORITHM) first, then the field set (MALFORMED). */
export function parseOuterV2(outer: unknown[], suites: SuiteRegistry = DEFAULT_SUITES): ParsedV2 {
  const suite = suites.get(uint(outer[1], 'alg'));
  if (outer.length !== 5) throw new TrustError('MALFORMED', 'envelope v2 must be [v, alg, sid, seq, ct]');
  const sessionId = bytes(outer[2], 'sid', SESSION_ID_BYTES);
  const ciphertext = bytes(outer[4], 'ct');
  if (ciphertext.length < suite.overhead) throw new TrustError('MALFORMED', 'field ct is shorter than the tag');
  return { header: { version: ENVELOPE_V2, alg: suite.id, sessionId, seq: uint(outer[3], 'seq') }, suite, ciphertext };
}

export interface OpenedV2 {
  ts: number;
  /** Category table id (0: every category is sent by name). */
  tableId: number;
  readings: Array<EnvelopeReading & { categoryIndex?: number }>;
}

/** Parse an authenticated plaintext. Category indexes are left for the caller to resolve (`categoryIndex`). */
export function parseInnerV2(plaintext: Uint8Array, sessionId: Uint8Array): OpenedV2 {
  const inner = decodeCbor(plaintext, { maxBytes: plaintext.length, maxDepth: ENVELOPE_LIMITS.maxInnerDepth });
  if (!Array.isArray(inner) || inner.length < 4 || inner.length > 3 + ENVELOPE_LIMITS.maxReadings) {
    throw new TrustError('MALFORMED', `plaintext must be [T, g, rs, 1 to ${ENVELOPE_LIMITS.maxReadings} readings]`);
  }
  const ts = uint(inner[0], 'T') * 1000;
  const tableId = uint(inner[1], 'g');
  const rs = bytes(inner[2], 'rs');
  if (rs.length !== 0 && rs.length !== SESSION_ID_BYTES) throw new TrustError('MALFORMED', `field rs must be 0 or ${SESSION_ID_BYTES} bytes`);
  const session = toHex(rs.length === 0 ? sessionId : rs);
  let prevSeq = -1;
  let prevTime = ts;
  let prevLife = 0;
  const readings: OpenedV2['readings'] = [];
  for (const item of inner.slice(3)) {
    if (!Array.isArray(item) || item.length !== 5) throw new TrustError('MALFORMED', 'a reading must be [dq, c, dt, dx, d]');
    const [dq, c, dt, dx, d] = item as [unknown, unknown, unknown, unknown, unknown];
    const seq = prevSeq < 0 ? uint(dq, 'dq') : prevSeq + 1 + int(dq, 'dq');
    const at = prevTime + decodeDelta(int(dt, 'dt'));
    const life = prevLife + decodeDelta(int(dx, 'dx'));
    const expiresAt = at + life;
    if (!isUint(seq) || !isUint(at) || !isUint(expiresAt)) throw new TrustError('MALFORMED', 'a reading decodes to an invalid seq or time');
    if (d === null || typeof d !== 'object' || Array.isArray(d) || d instanceof Uint8Array) throw new TrustError('MALFORMED', 'field d must be a map');
    const base = { id: { session, seq }, at, expiresAt, data: d as Record<string, unknown> };
    if (typeof c === 'string' && c.length > 0 && c.length <= ENVELOPE_LIMITS.maxNameLength) readings.push({ ...base, category: c });
    else readings.push({ ...base, category: '', categoryIndex: uint(c, 'c') });
    prevSeq = seq;
    prevTime = at;
    prevLife = life;
  }
  return { ts, tableId, readings };
}

function readingSession(reading: EnvelopeReading): string {
  const session = reading.id?.session;
  if (typeof session !== 'string' || !HEX_SESSION.test(session)) {
    throw new TrustError('INVALID_READING', 'a v2 reading session is 16 lowercase hex digits (8 bytes)');
  }
  return session;
}

function checkReading(reading: EnvelopeReading, session: string): void {
  const { id, category, at, expiresAt, data } = reading;
  if (
    id?.session !== session || !isUint(id.seq) || typeof category !== 'string' || category.length === 0 ||
    category.length > ENVELOPE_LIMITS.maxNameLength || !isUint(at) || !isUint(expiresAt) ||
    data === null || typeof data !== 'object' || Array.isArray(data)
  ) {
    throw new TrustError('INVALID_READING', 'reading does not fit the v2 envelope format (one session per envelope)');
  }
}

function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** 64-bit heads decode to bigint; a float64 holding an exact integer is accepted as that integer. */
function int(value: unknown, name: string): number {
  const n = typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new TrustError('MALFORMED', `field ${name} must be an integer`);
  return n;
}

function uint(value: unknown, name: string): number {
  const n = int(value, name);
  if (n < 0) throw new TrustError('MALFORMED', `field ${name} must be an unsigned integer`);
  return n;
}

function bytes(value: unknown, name: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array) || (length !== undefined && value.length !== length)) {
    throw new TrustError('MALFORMED', `field ${name} must be a byte string${length === undefined ? '' : ` of ${length} bytes`}`);
  }
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export { KEY_ID_BYTES };
