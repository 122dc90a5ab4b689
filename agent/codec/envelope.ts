import { asRecord, decodeCbor, encodeCbor } from './cbor.js';
import { EnvelopeTemplate } from './envelope-wire.js';
import { DEFAULT_SUITES, type CryptoSuite, type SuiteRegistry } from '../crypto/suites.js';
import { equalBytes } from '../crypto/keys.js';
import { TrustError } from '../errors.js';
import type { RecordId } from '../store/contract.js';

/**
 * Telemetry envelope v1 (docs/protocol.md is the normative text).
 *
 * Outer CBOR map, in this key order: { v, alg, rk, sk, sid, seq, ts, n, ct }.
 * Inner plaintext (inside ct): { dev, st, rk, sk, sid, seq, ts, r: [{ s, q, c, t, x, d }] }.
 *
 * The box authenticates only what is inside it, so every outer header field is repeated inside and must match
 * on open; device id and stream are only inside and must match the topic. A broker can then neither swap
 * headers between envelopes nor move an envelope to another device or stream.
 */
export const ENVELOPE_VERSION = 1;
export const KEY_ID_BYTES = 8;
export const SESSION_ID_BYTES = 8;

export const ENVELOPE_LIMITS = {
  /** Largest envelope accepted or produced. Checked before any decoding. */
  maxEnvelopeBytes: 64 * 1024,
  maxReadings: 256,
  /** Nesting of the inner plaintext: inner map > r > reading > d > 4 more levels of data. */
  maxInnerDepth: 8,
  maxNameLength: 64,
} as const;

/** Worst-case outer map minus the ciphertext bytes (see docs/protocol.md); used to size batches before sealing. */
export const OUTER_OVERHEAD_MAX = 128;

/** One reading as it travels. `StoredRecord` (agent/store/contract.ts) is assignable to it. */
export interface EnvelopeReading {
  id: RecordId;
  category: string;
  at: number;
  expiresAt: number;
  data: Record<string, unknown>;
}

export interface EnvelopeHeader {
  version: number;
  alg: number;
  recipientKeyId: Uint8Array;
  senderKeyId: Uint8Array;
  sessionId: Uint8Array;
  seq: number;
  ts: number;
  nonce: Uint8Array;
}

export interface SealInput {
  suite: CryptoSuite;
  sharedKey: Uint8Array;
  recipientKeyId: Uint8Array;
  senderKeyId: Uint8Array;
  sessionId: Uint8Array;
  seq: number;
  ts: number;
  nonce: Uint8Array;
  deviceId: string;
  stream: string;
  readings: readonly EnvelopeReading[];
  maxEnvelopeBytes?: number;
}

/** The constant bytes of a sender's envelopes; build once per (suite, keys, session, device, stream). */
export function envelopeTemplate(input: Omit<SealInput, 'sharedKey' | 'seq' | 'ts' | 'nonce' | 'readings' | 'maxEnvelopeBytes'>): EnvelopeTemplate {
  checkHeaderInput(input);
  return new EnvelopeTemplate({ ...input, alg: input.suite.id });
}

/** Readings in wire form ({ s, q, c, t, x, d }), validated so the collector will accept what the sealer sends. */
export function toWireReadings(readings: readonly EnvelopeReading[]): unknown[] {
  if (readings.length === 0) throw new TrustError('INVALID_ARGUMENT', 'an envelope carries at least one reading');
  if (readings.length > ENVELOPE_LIMITS.maxReadings) {
    throw new TrustError('OVERSIZED', `${readings.length} readings exceed ${ENVELOPE_LIMITS.maxReadings} per envelope`);
  }
  const r = new Array<unknown>(readings.length);
  for (let i = 0; i < readings.length; i++) r[i] = wireReading(readings[i] as EnvelopeReading);
  return r;
}

/** The authenticated plaintext. Separate from sealing so a caller can size a batch before paying for the box. */
export function encodeInner(input: Omit<SealInput, 'suite' | 'sharedKey' | 'nonce' | 'maxEnvelopeBytes'>): Uint8Array {
  checkHeaderInput(input);
  checkCounters(input.seq, input.ts);
  // The inner map does not name the suite; the template's outer half is unused here.
  return new EnvelopeTemplate({ ...input, alg: 0 }).inner(input.seq, input.ts, encodeCbor(toWireReadings(input.readings)));
}

/** Seal one envelope. Pure: the caller supplies the precomputed shared key and the nonce. */
export function sealEnvelope(input: SealInput): Uint8Array {
  const template = envelopeTemplate(input);
  checkCounters(input.seq, input.ts);
  return sealEncoded(template, input, encodeCbor(toWireReadings(input.readings)));
}

/**
 * Seal readings already in wire form and CBOR-encoded (`encodeCbor(toWireReadings(...))`) with a template.
 * OVERSIZED before any encryption when the envelope would exceed the limit.
 */
export function sealEncoded(
  template: EnvelopeTemplate,
  input: Pick<SealInput, 'suite' | 'sharedKey' | 'seq' | 'ts' | 'nonce' | 'maxEnvelopeBytes'>,
  readings: Uint8Array,
): Uint8Array {
  const { suite, seq, ts, nonce, sharedKey } = input;
  if (nonce.length !== suite.nonceLength) throw new TrustError('INVALID_ARGUMENT', `nonce must be ${suite.nonceLength} bytes`);
  const max = input.maxEnvelopeBytes ?? ENVELOPE_LIMITS.maxEnvelopeBytes;
  const plaintextLength = template.innerLength(seq, ts, readings);
  const ciphertextLength = plaintextLength + suite.overhead;
  const head = template.outerHeadLength(seq, ts, nonce.length, ciphertextLength);
  if (head + ciphertextLength > max) throw new TrustError('OVERSIZED', `envelope of ${head + ciphertextLength} bytes exceeds ${max}`);
  const padding = suite.inPlacePadding;
  if (suite.sealInPlace === undefined || padding === undefined || head < padding - suite.overhead) {
    return template.outer(seq, ts, nonce, suite.seal(sharedKey, nonce, template.inner(seq, ts, readings)));
  }
  // One buffer for the whole envelope: the plaintext is written where the suite wants it, sealed in place so
  // the ciphertext lands exactly after the outer head, and the head is written last (over the zero padding).
  const out = new Uint8Array(head + ciphertextLength);
  const box = out.subarray(head + suite.overhead - padding);
  template.writeInner(box, padding, seq, ts, readings);
  suite.sealInPlace(sharedKey, nonce, box);
  template.writeOuterHead(out, seq, ts, nonce, ciphertextLength);
  return out;
}

export interface ParsedEnvelope {
  header: EnvelopeHeader;
  suite: CryptoSuite;
  ciphertext: Uint8Array;
}

const OUTER_KEYS = ['v', 'alg', 'rk', 'sk', 'sid', 'seq', 'ts', 'n', 'ct'] as const;
const INNER_KEYS = ['dev', 'st', 'rk', 'sk', 'sid', 'seq', 'ts', 'r'] as const;
const READING_KEYS = ['s', 'q', 'c', 't', 'x', 'd'] as const;

/**
 * Parse the outer map of untrusted bytes without opening it. Size first (OVERSIZED), then CBOR (MALFORMED),
 * then version (UNSUPPORTED_VERSION) and algorithm (UNKNOWN_ALGORITHM) before the field set, because a later
 * version or suite may legitimately have other fields.
 */
export function parseEnvelope(bytes: Uint8Array, options: { maxEnvelopeBytes?: number; suites?: SuiteRegistry } = {}): ParsedEnvelope {
  const max = options.maxEnvelopeBytes ?? ENVELOPE_LIMITS.maxEnvelopeBytes;
  if (!(bytes instanceof Uint8Array)) throw new TrustError('MALFORMED', 'envelope must be bytes');
  if (bytes.length > max) throw new TrustError('OVERSIZED', `envelope of ${bytes.length} bytes exceeds ${max}`);
  // Depth 1: the outer map holds only integers and byte strings.
  return parseOuterV1(asRecord(decodeCbor(bytes, { maxBytes: max, maxDepth: 1 }), 'envelope'), options.suites);
}

/** The v1 checks on an already decoded outer map (version, algorithm, then the exact field set). */
export function parseOuterV1(outer: Record<string, unknown>, suites?: SuiteRegistry): ParsedEnvelope {
  const version = uintField(outer, 'v');
  if (version !== ENVELOPE_VERSION) throw new TrustError('UNSUPPORTED_VERSION', `envelope version ${version} is not supported`);
  const suite = (suites ?? DEFAULT_SUITES).get(uintField(outer, 'alg'));
  exactKeys(outer, OUTER_KEYS, 'envelope');
  const header: EnvelopeHeader = {
    version,
    alg: suite.id,
    recipientKeyId: bytesField(outer, 'rk', KEY_ID_BYTES),
    senderKeyId: bytesField(outer, 'sk', KEY_ID_BYTES),
    sessionId: bytesField(outer, 'sid', SESSION_ID_BYTES),
    seq: uintField(outer, 'seq'),
    ts: uintField(outer, 'ts'),
    nonce: bytesField(outer, 'n', suite.nonceLength),
  };
  return { header, suite, ciphertext: bytesField(outer, 'ct') };
}

export interface OpenedEnvelope {
  header: EnvelopeHeader;
  deviceId: string;
  stream: string;
  readings: EnvelopeReading[];
}

/**
 * Open a parsed envelope with the precomputed shared key and check it belongs where it arrived.
 * AUTH_FAILED: the box does not open. MALFORMED: authenticated but not a v1 plaintext (a sender bug).
 * HEADER_MISMATCH: an outer field differs from its authenticated copy, or device/stream differ from the topic.
 */
export function openParsedEnvelope(parsed: ParsedEnvelope, sharedKey: Uint8Array, expected: { deviceId: string; stream: string }): OpenedEnvelope {
  const { header, suite, ciphertext } = parsed;
  const plaintext = suite.open(sharedKey, header.nonce, ciphertext);
  if (plaintext === null) throw new TrustError('AUTH_FAILED', 'envelope does not authenticate');
  const inner = asRecord(decodeCbor(plaintext, { maxBytes: plaintext.length, maxDepth: ENVELOPE_LIMITS.maxInnerDepth }), 'plaintext');
  exactKeys(inner, INNER_KEYS, 'plaintext');
  checkInnerHeader(inner, header);
  const deviceId = stringField(inner, 'dev');
  const stream = stringField(inner, 'st');
  if (deviceId !== expected.deviceId || stream !== expected.stream) {
    throw new TrustError('HEADER_MISMATCH', 'envelope belongs to another device or stream than its topic');
  }
  const list = inner['r'];
  if (!Array.isArray(list) || list.length === 0 || list.length > ENVELOPE_LIMITS.maxReadings) {
    throw new TrustError('MALFORMED', `field r must hold 1 to ${ENVELOPE_LIMITS.maxReadings} readings`);
  }
  return { header, deviceId, stream, readings: list.map(parseReading) };
}

/** Convenience for one-off use (tests, other runtimes): parse, agree on the key, open. */
export function openEnvelope(
  bytes: Uint8Array,
  keys: { recipientSecretKey: Uint8Array; senderPublicKey: Uint8Array },
  expected: { deviceId: string; stream: string },
  options: { maxEnvelopeBytes?: number; suites?: SuiteRegistry } = {},
): OpenedEnvelope {
  const parsed = parseEnvelope(bytes, options);
  return openParsedEnvelope(parsed, parsed.suite.precompute(keys.senderPublicKey, keys.recipientSecretKey), expected);
}

function checkInnerHeader(inner: Record<string, unknown>, header: EnvelopeHeader): void {
  const same =
    bytesMatch(inner['rk'], header.recipientKeyId) &&
    bytesMatch(inner['sk'], header.senderKeyId) &&
    bytesMatch(inner['sid'], header.sessionId) &&
    uintField(inner, 'seq') === header.seq &&
    uintField(inner, 'ts') === header.ts;
  if (!same) throw new TrustError('HEADER_MISMATCH', 'envelope header differs from its authenticated copy');
}

function bytesMatch(value: unknown, expected: Uint8Array): boolean {
  return value instanceof Uint8Array && equalBytes(value, expected);
}

function wireReading(reading: EnvelopeReading): Record<string, unknown> {
  const { id, category, at, expiresAt, data } = reading;
  if (
    typeof id?.session !== 'string' || id.session.length === 0 || id.session.length > ENVELOPE_LIMITS.maxNameLength ||
    !isUint(id.seq) || typeof category !== 'string' || category.length === 0 ||
    category.length > ENVELOPE_LIMITS.maxNameLength || !isUint(at) || !isUint(expiresAt) || !isPlainMap(data)
  ) {
    throw new TrustError('INVALID_READING', 'reading does not fit the envelope format');
  }
  return { s: id.session, q: id.seq, c: category, t: at, x: expiresAt, d: data };
}

function parseReading(value: unknown): EnvelopeReading {
  const r = asRecord(value, 'reading');
  exactKeys(r, READING_KEYS, 'reading');
  const data = r['d'];
  if (!isPlainMap(data)) throw new TrustError('MALFORMED', 'field d must be a map');
  return {
    id: { session: stringField(r, 's'), seq: uintField(r, 'q') },
    category: stringField(r, 'c'),
    at: uintField(r, 't'),
    expiresAt: uintField(r, 'x'),
    data,
  };
}

function checkHeaderInput(input: Pick<SealInput, 'recipientKeyId' | 'senderKeyId' | 'sessionId' | 'deviceId' | 'stream'>): void {
  if (input.recipientKeyId.length !== KEY_ID_BYTES || input.senderKeyId.length !== KEY_ID_BYTES) {
    throw new TrustError('INVALID_ARGUMENT', `key ids must be ${KEY_ID_BYTES} bytes`);
  }
  if (input.sessionId.length !== SESSION_ID_BYTES) throw new TrustError('INVALID_ARGUMENT', `session id must be ${SESSION_ID_BYTES} bytes`);
  if (!TOPIC_LEVEL.test(input.deviceId) || !TOPIC_LEVEL.test(input.stream)) {
    throw new TrustError('INVALID_ARGUMENT', 'deviceId and stream must be 1-64 characters of A-Z a-z 0-9 _ -');
  }
}

function checkCounters(seq: number, ts: number): void {
  if (!isUint(seq) || !isUint(ts)) throw new TrustError('INVALID_ARGUMENT', 'seq and ts must be unsigned integers');
}

/** Device id and stream are topic levels (agent/topics.ts): no separators, no wildcards, ASCII. */
const TOPIC_LEVEL = /^[A-Za-z0-9_-]{1,64}$/;

function exactKeys(record: Record<string, unknown>, keys: readonly string[], name: string): void {
  const present = Object.keys(record);
  if (present.length !== keys.length || keys.some((key) => !Object.prototype.hasOwnProperty.call(record, key))) {
    throw new TrustError('MALFORMED', `${name} must have exactly the fields ${keys.join(', ')}`);
  }
}

/** Integers of 2^32 and above are float64 on the wire (cbor-x); a uint64 head (bigint) is accepted too. */
function uintField(record: Record<string, unknown>, key: string): number {
  let value = record[key];
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) value = Number(value);
  if (!isUint(value)) throw new TrustError('MALFORMED', `field ${key} must be an unsigned integer`);
  return value;
}

function bytesField(record: Record<string, unknown>, key: string, length?: number): Uint8Array {
  const value = record[key];
  if (!(value instanceof Uint8Array) || (length !== undefined && value.length !== length)) {
    throw new TrustError('MALFORMED', `field ${key} must be a byte string${length === undefined ? '' : ` of ${length} bytes`}`);
  }
  // The strict decoder already hands out plain copies; a caller passing a Buffer-like subclass still gets a plain view.
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function stringField(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  if (!isName(value)) throw new TrustError('MALFORMED', `field ${key} must be a short string`);
  return value;
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= ENVELOPE_LIMITS.maxNameLength;
}

function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);
}
