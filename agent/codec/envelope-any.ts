import { decodeCbor } from './cbor.js';
import { ENVELOPE_LIMITS, parseOuterV1, type EnvelopeReading, type ParsedEnvelope } from './envelope.js';
import {
  ENVELOPE_V2,
  encodeInnerV2,
  noncePrefix,
  nonceWithSeq,
  outerV2,
  parseInnerV2,
  parseOuterV2,
  type CategoryTable,
  type OpenedV2,
  type ParsedV2,
  type V2Keys,
} from './envelope-v2.js';
import { DEFAULT_SUITES, type CryptoSuite, type SuiteRegistry } from '../crypto/suites.js';
import { TrustError } from '../errors.js';

/**
 * Both telemetry envelope versions behind one parser (R7: the version and the suite id are how the format and the
 * crypto evolve). v1 is a CBOR map with `v: 1`; v2 is a CBOR array whose first item is 2.
 */
export type AnyParsedEnvelope = { version: 1; v1: ParsedEnvelope } | { version: 2; v2: ParsedV2 };

export interface ParseOptions {
  maxEnvelopeBytes?: number;
  suites?: SuiteRegistry;
}

/**
 * Size (OVERSIZED), CBOR (MALFORMED), version (UNSUPPORTED_VERSION; a map without `v` or an empty array is
 * MALFORMED), algorithm (UNKNOWN_ALGORITHM), then the version's field set (MALFORMED).
 */
export function parseAnyEnvelope(bytes: Uint8Array, options: ParseOptions = {}): AnyParsedEnvelope {
  const max = options.maxEnvelopeBytes ?? ENVELOPE_LIMITS.maxEnvelopeBytes;
  if (!(bytes instanceof Uint8Array)) throw new TrustError('MALFORMED', 'envelope must be bytes');
  if (bytes.length > max) throw new TrustError('OVERSIZED', `envelope of ${bytes.length} bytes exceeds ${max}`);
  const outer = decodeCbor(bytes, { maxBytes: max, maxDepth: 1 });
  if (Array.isArray(outer)) {
    const version = outer[0];
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) throw new TrustError('MALFORMED', 'envelope array must start with its version');
    if (version !== ENVELOPE_V2) throw new TrustError('UNSUPPORTED_VERSION', `envelope version ${version} is not supported`);
    return { version: 2, v2: parseOuterV2(outer, options.suites ?? DEFAULT_SUITES) };
  }
  if (outer === null || typeof outer !== 'object' || outer instanceof Uint8Array) throw new TrustError('MALFORMED', 'envelope must be a map or an array');
  return { version: 1, v1: parseOuterV1(outer as Record<string, unknown>, options.suites) };
}

export interface SealV2Input {
  suite: CryptoSuite;
  sharedKey: Uint8Array;
  keys: V2Keys;
  sessionId: Uint8Array;
  seq: number;
  ts: number;
  deviceId: string;
  stream: string;
  readings: readonly EnvelopeReading[];
  categories?: CategoryTable;
  maxEnvelopeBytes?: number;
  /** `noncePrefix` of this (suite, keys, session, device, stream), when the caller keeps it; computed otherwise. */
  noncePrefix?: Uint8Array;
}

/** Seal one v2 envelope. OVERSIZED before encryption when it would exceed the limit. */
export function sealEnvelopeV2(input: SealV2Input): Uint8Array {
  const { suite, seq, ts } = input;
  if (!Number.isSafeInteger(seq) || seq < 0 || !Number.isSafeInteger(ts) || ts < 0) {
    throw new TrustError('INVALID_ARGUMENT', 'seq and ts must be unsigned integers');
  }
  const plaintext = encodeInnerV2(input.sessionId, ts, input.readings, input.categories);
  const max = input.maxEnvelopeBytes ?? ENVELOPE_LIMITS.maxEnvelopeBytes;
  const ciphertextLength = plaintext.length + suite.overhead;
  const total = 2 + uintLength(suite.id) + 1 + input.sessionId.length + uintLength(seq) + uintLength(ciphertextLength) + ciphertextLength;
  if (total > max) throw new TrustError('OVERSIZED', `envelope of ${total} bytes exceeds ${max}`);
  const prefix = input.noncePrefix ?? noncePrefix(suite.id, input.keys, input.sessionId, input, suite.nonceLength);
  const nonce = nonceWithSeq(prefix, seq);
  return outerV2(suite.id, input.sessionId, seq, suite.seal(input.sharedKey, nonce, plaintext));
}

/**
 * Open a parsed v2 envelope with one candidate key pair, for the device and stream of its topic. AUTH_FAILED when
 * the box does not open: a changed header field, another key pair, device or stream all derive another nonce.
 */
export function openEnvelopeV2(
  parsed: ParsedV2, sharedKey: Uint8Array, keys: V2Keys, place: { deviceId: string; stream: string }, prefix?: Uint8Array,
): OpenedV2 {
  const { header, suite } = parsed;
  const nonce = nonceWithSeq(prefix ?? noncePrefix(header.alg, keys, header.sessionId, place, suite.nonceLength), header.seq);
  const plaintext = parsed.suite.open(sharedKey, nonce, parsed.ciphertext);
  if (plaintext === null) throw new TrustError('AUTH_FAILED', 'envelope does not authenticate');
  return parseInnerV2(plaintext, parsed.header.sessionId);
}

/** Bytes of a v2 integer: shortest head below 2^32, float64 (9 bytes) above. */
function uintLength(value: number): number {
  return value < 24 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : value < 0x100000000 ? 5 : 9;
}
