import { openEnvelopeV2 } from '../agent/codec/envelope-any.js';
import { noncePrefix, type OpenedV2, type ParsedV2 } from '../agent/codec/envelope-v2.js';
import { toHex } from '../agent/crypto/keys.js';
import { TrustError, isTrustError } from '../agent/errors.js';

/**
 * The v2 open path of the collector. A v2 envelope names no key ids, so the candidates are every key this collector
 * holds times every key of the device the topic names (one each, outside a rotation); at most MAX_CANDIDATES are
 * tried. The derived nonce binds the full key ids, so only the right pair opens the box.
 */
export const MAX_CANDIDATES = 4;

export interface Candidate {
  recipientKeyId: Uint8Array;
  senderKeyId: Uint8Array;
  sharedKey: () => Uint8Array;
}

export interface V2Directory {
  /** Nonce prefixes already derived, per (alg, key pair, session, device, stream). */
  prefixes: PrefixCache;
  /** Replay key of (sender key, session): the same string v1 uses, so both versions share one sequence space. */
  seen(replayKey: string, seq: number): boolean;
  /** Fingerprint of the envelope accepted under (replayKey, seq), while it is remembered. */
  fingerprint(replayKey: string, seq: number): string | undefined;
}

export interface OpenedWith {
  opened: OpenedV2;
  replayKey: string;
  fingerprint: string;
}

/**
 * Replay checks before any decryption. An envelope whose (sender key, sid, seq) was accepted before is a REPLAY,
 * unless its ciphertext differs from the one accepted and it still authenticates: then the sender sealed two
 * envelopes under one derived nonce (NONCE_REUSE, a sender fault that leaks the XOR of two plaintexts).
 */
export function openV2Candidates(parsed: ParsedV2, place: { deviceId: string; stream: string }, candidates: readonly Candidate[], dir: V2Directory): OpenedWith {
  if (candidates.length === 0) throw new TrustError('UNKNOWN_KEY', 'no key of this collector and of the topic\'s device');
  const { sessionId, seq } = parsed.header;
  const fingerprint = fingerprintOf(parsed.ciphertext);
  let replayed = false;
  for (const candidate of candidates.slice(0, MAX_CANDIDATES)) {
    const replayKey = `${toHex(candidate.senderKeyId)}:${toHex(sessionId)}`;
    const keys = { recipientKeyId: candidate.recipientKeyId, senderKeyId: candidate.senderKeyId };
    if (dir.seen(replayKey, seq)) {
      const before = dir.fingerprint(replayKey, seq);
      if (before === undefined || before === fingerprint) {
        replayed = true;
        continue;
      }
      if (tryOpen(parsed, candidate, keys, place, dir.prefixes) !== undefined) throw new TrustError('NONCE_REUSE', 'a second envelope under an already used (session, seq): derived nonce reused');
      continue;
    }
    const opened = tryOpen(parsed, candidate, keys, place, dir.prefixes);
    if (opened !== undefined) return { opened, replayKey, fingerprint };
  }
  if (replayed) throw new TrustError('REPLAY', 'envelope already accepted');
  throw new TrustError('AUTH_FAILED', 'envelope does not authenticate');
}

function tryOpen(
  parsed: ParsedV2, candidate: Candidate, keys: { recipientKeyId: Uint8Array; senderKeyId: Uint8Array }, place: { deviceId: string; stream: string }, prefixes: PrefixCache,
): OpenedV2 | undefined {
  const { alg, sessionId } = parsed.header;
  const id = `${alg}:${toHex(keys.recipientKeyId)}:${toHex(keys.senderKeyId)}:${toHex(sessionId)}:${place.deviceId}/${place.stream}`;
  let prefix = prefixes.get(id);
  if (prefix === undefined) {
    prefix = noncePrefix(alg, keys, sessionId, place, parsed.suite.nonceLength);
    prefixes.set(id, prefix);
  }
  try {
    return openEnvelopeV2(parsed, candidate.sharedKey(), keys, place, prefix);
  } catch (error) {
    if (isTrustError(error) && error.code === 'AUTH_FAILED') return undefined;
    throw error;
  }
}

/** First and last 16 bytes of the ciphertext: the tag sits at one end for every AEAD of the registry. */
function fingerprintOf(ciphertext: Uint8Array): string {
  return toHex(ciphertext.subarray(0, 16)) + toHex(ciphertext.subarray(Math.max(16, ciphertext.length - 16)));
}

/** Fingerprints of recently accepted v2 envelopes, oldest forgotten first (then a second envelope reads as REPLAY). */
export class FingerprintMemory {
  private readonly entries = new Map<string, string>();

  constructor(private readonly max: number) {}

  get(deviceId: string, replayKey: string, seq: number): string | undefined {
    return this.entries.get(`${deviceId}\u0000${replayKey}\u0000${seq}`);
  }

  set(deviceId: string, replayKey: string, seq: number, fingerprint: string): void {
    this.entries.set(`${deviceId}\u0000${replayKey}\u0000${seq}`, fingerprint);
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}

/** Bounded map of derived nonce prefixes: one SHA-512 per session and stream instead of one per envelope. */
export class PrefixCache {
  private readonly entries = new Map<string, Uint8Array>();

  constructor(private readonly max: number) {}

  get(id: string): Uint8Array | undefined {
    return this.entries.get(id);
  }

  set(id: string, prefix: Uint8Array): void {
    this.entries.set(id, prefix);
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}
