import { fromHex, keyId, toHex } from '../crypto/keys.js';
import { assertBytes } from '../errors.js';
import {
  checkpointSignatureValid, GENESIS_PREV, hashEntry, readFrame, sameHash,
  type AuditCheckpoint, type AuditEntry, type TrailBase,
} from './format.js';

/**
 * The trail verifier. It never repairs and never truncates: it reads every frame, checks the hash chain and the
 * checkpoint signatures, and reports the first break. Everything from the first break on is untrusted.
 */
export type BreakKind = 'changed' | 'removed' | 'inserted' | 'reordered' | 'forged-checkpoint' | 'corrupt';

export interface TrailBreak {
  /** Entry index from which the trail can no longer be trusted. */
  index: number;
  kind: BreakKind;
  detail: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Entries and checkpoints read (up to a corrupt frame). */
  entries: number;
  checkpoints: number;
  /** Entries before the first break that a valid checkpoint covers. */
  verifiedEntries: number;
  /** The newest valid checkpoint before the first break: compare it with a head seen earlier to catch a cut tail. */
  head?: { index: number; hash: string; at: number };
  base?: { index: number; hash: string };
  firstBreak?: TrailBreak;
  /** The entries that verified, in order. */
  trusted: AuditEntry[];
}

export interface VerifyOptions {
  /** Earlier device signing keys (after a key rotation), trusted like the current one. */
  previousKeys?: Uint8Array[];
}

export function verifyTrail(bytes: Uint8Array, signPublicKey: Uint8Array, options: VerifyOptions = {}): VerifyResult {
  assertBytes(bytes, 'bytes');
  assertBytes(signPublicKey, 'signPublicKey', 32);
  const keys = [signPublicKey, ...(options.previousKeys ?? [])];
  return checkTrail(bytes, { keys, requireSignedHead: true, allowTornTail: false }).result;
}

export interface CheckOptions {
  /** undefined: skip signature checks (the device re-reading its own log at start). */
  keys: Uint8Array[] | undefined;
  requireSignedHead: boolean;
  /** On the device a torn final frame is a crash artefact; to a verifier it is corruption. */
  allowTornTail: boolean;
}

export interface CheckedTrail {
  result: VerifyResult;
  headerPublicKey: Uint8Array | undefined;
  base: TrailBase | undefined;
  entries: AuditEntry[];
  checkpoints: AuditCheckpoint[];
  /** Byte offset of a torn final frame (only with allowTornTail). */
  tornAt: number | undefined;
}

interface Parsed {
  headerPublicKey: Uint8Array | undefined;
  base: TrailBase | undefined;
  entries: AuditEntry[];
  checkpoints: AuditCheckpoint[];
  tornAt: number | undefined;
  corrupt: string | undefined;
}

function parseFrames(bytes: Uint8Array, allowTornTail: boolean): Parsed {
  const parsed: Parsed = { headerPublicKey: undefined, base: undefined, entries: [], checkpoints: [], tornAt: undefined, corrupt: undefined };
  let offset = 0;
  for (let position = 0; ; position++) {
    const read = readFrame(bytes, offset);
    if (read.status === 'end') return parsed;
    if (read.status === 'torn' && allowTornTail) return { ...parsed, tornAt: read.offset };
    if (read.status !== 'frame') return { ...parsed, corrupt: `${read.detail} at byte ${read.offset}` };
    const frame = read.frame;
    offset = read.next;
    if (position === 0) {
      if (frame.kind !== 'header') return { ...parsed, corrupt: 'trail does not start with a header' };
      parsed.headerPublicKey = frame.publicKey;
    } else if (frame.kind === 'base' && position === 1) parsed.base = frame.base;
    else if (frame.kind === 'entry') parsed.entries.push(frame.entry);
    else if (frame.kind === 'checkpoint') parsed.checkpoints.push(frame.checkpoint);
    else return { ...parsed, corrupt: `unexpected ${frame.kind} frame at byte ${read.offset}` };
  }
}

export function checkTrail(bytes: Uint8Array, options: CheckOptions): CheckedTrail {
  const parsed = parseFrames(bytes, options.allowTornTail);
  const startIndex = parsed.base === undefined ? 0 : parsed.base.index + 1;
  const breaks: TrailBreak[] = [];
  const chained = walkChain(parsed.entries, parsed.base, breaks);
  if (parsed.corrupt !== undefined) {
    breaks.push({ index: startIndex + parsed.entries.length, kind: 'corrupt', detail: parsed.corrupt });
  }
  const keys = options.keys === undefined ? undefined : withHandovers(options.keys, chained);
  const headerKey = parsed.headerPublicKey;
  if (keys !== undefined && headerKey !== undefined && !keys.some((k) => sameHash(k.id, keyId(headerKey)))) {
    breaks.push({ index: startIndex, kind: 'forged-checkpoint', detail: 'the trail header names a signing key that is not trusted' });
  }
  const signedThrough = checkCheckpoints(parsed, chained, keys, breaks);
  if (parsed.base !== undefined && !signedThrough.baseSigned) {
    breaks.push({ index: parsed.base.index + 1, kind: 'removed', detail: 'the trail base is not signed: entries before it may have been removed' });
  }
  const lastIndex = startIndex + parsed.entries.length - 1;
  if (options.requireSignedHead && breaks.length === 0 && parsed.entries.length > 0 && signedThrough.index < lastIndex) {
    const from = Math.max(signedThrough.index + 1, startIndex);
    breaks.push({ index: from, kind: 'inserted', detail: `entries from ${from} on are not covered by a signed checkpoint` });
  }
  const firstBreak = earliest(breaks);
  const limit = firstBreak === undefined ? Infinity : firstBreak.index;
  const trusted = chained.filter((e) => e.index < limit && (options.keys === undefined || e.index <= signedThrough.index));
  const head = signedThrough.checkpoint;
  const result: VerifyResult = {
    ok: firstBreak === undefined,
    entries: parsed.entries.length,
    checkpoints: parsed.checkpoints.length,
    verifiedEntries: trusted.length,
    trusted,
    ...(head === undefined ? {} : { head: { index: head.index, hash: toHex(head.head), at: head.at } }),
    ...(parsed.base === undefined ? {} : { base: { index: parsed.base.index, hash: toHex(parsed.base.hash) } }),
    ...(firstBreak === undefined ? {} : { firstBreak }),
  };
  return { result, headerPublicKey: parsed.headerPublicKey, base: parsed.base, entries: parsed.entries, checkpoints: parsed.checkpoints, tornAt: parsed.tornAt };
}

function earliest(breaks: TrailBreak[]): TrailBreak | undefined {
  let first: TrailBreak | undefined;
  for (const candidate of breaks) if (first === undefined || candidate.index < first.index) first = candidate;
  return first;
}

/** Walks the entries in trail order; returns the ones that chain, pushes the first break it sees. */
function walkChain(entries: AuditEntry[], base: TrailBase | undefined, breaks: TrailBreak[]): AuditEntry[] {
  let expected = base === undefined ? 0 : base.index + 1;
  let prev = base === undefined ? GENESIS_PREV : base.hash;
  const chained: AuditEntry[] = [];
  for (let position = 0; position < entries.length; position++) {
    const entry = entries[position] as AuditEntry;
    const problem = chainProblem(entries, position, expected, prev);
    if (problem !== undefined) {
      breaks.push(problem);
      return chained;
    }
    chained.push(entry);
    prev = entry.hash;
    expected++;
  }
  return chained;
}

function chainProblem(entries: AuditEntry[], position: number, expected: number, prev: Uint8Array): TrailBreak | undefined {
  const entry = entries[position] as AuditEntry;
  if (!sameHash(hashEntry(entry), entry.hash)) {
    return { index: expected, kind: 'changed', detail: `entry ${entry.index} does not match its hash` };
  }
  if (entry.index !== expected) {
    // Every index below `expected` has been seen already: a lower one is a duplicate, so something was added.
    if (entry.index < expected) return { index: expected, kind: 'inserted', detail: `a second entry ${entry.index} appears after entry ${expected - 1}` };
    const later = entries.slice(position + 1).some((e) => e.index === expected);
    if (later) return { index: expected, kind: 'reordered', detail: `entry ${entry.index} appears where entry ${expected} belongs` };
    return { index: expected, kind: 'removed', detail: `entries ${expected} to ${entry.index - 1} are missing` };
  }
  if (!sameHash(entry.prev, prev)) {
    const skipped = position >= 2 && sameHash(entry.prev, (entries[position - 2] as AuditEntry).hash);
    if (skipped) return { index: expected - 1, kind: 'inserted', detail: `entry ${expected - 1} is not part of the chain` };
    return { index: Math.max(expected - 1, 0), kind: 'changed', detail: `entry ${expected} does not chain to the entry before it` };
  }
  return undefined;
}

interface Signed {
  /** Highest entry index covered by a valid checkpoint that matches the chain (-1: none). */
  index: number;
  checkpoint: AuditCheckpoint | undefined;
  baseSigned: boolean;
}

function checkCheckpoints(parsed: Parsed, chained: AuditEntry[], keys: TrustedKey[] | undefined, breaks: TrailBreak[]): Signed {
  const signed: Signed = { index: -1, checkpoint: undefined, baseSigned: false };
  const startIndex = parsed.base === undefined ? 0 : parsed.base.index + 1;
  const chainEnd = startIndex + chained.length - 1;
  for (const cp of parsed.checkpoints) {
    if (parsed.base !== undefined && cp.index < parsed.base.index) continue; // speaks of trimmed entries only
    const covered = cp.index === parsed.base?.index ? parsed.base.hash : chained[cp.index - startIndex]?.hash;
    // Past a chain break nothing can be trusted anyway: skip the signature check (0.2 s each in QuickJS).
    if (covered === undefined && chained.length < parsed.entries.length) continue;
    const forged = keys === undefined ? undefined : signatureProblem(cp, keys);
    if (forged !== undefined) {
      breaks.push({ index: cp.index, kind: 'forged-checkpoint', detail: forged });
      return signed;
    }
    if (cp.index > chainEnd && chained.length === parsed.entries.length) {
      breaks.push({ index: chainEnd + 1, kind: 'removed', detail: `a checkpoint covers entry ${cp.index}, but the trail ends at ${chainEnd}` });
      return signed;
    }
    if (covered === undefined) continue; // before the base (trimmed) entries
    if (!sameHash(covered, cp.head)) {
      breaks.push(headMismatch(cp, parsed.entries, signed.index + 1));
      return signed;
    }
    if (cp.index === parsed.base?.index) signed.baseSigned = true;
    if (cp.index >= signed.index) {
      signed.index = cp.index;
      signed.checkpoint = cp;
    }
  }
  return signed;
}

function signatureProblem(cp: AuditCheckpoint, keys: TrustedKey[]): string | undefined {
  const key = keys.find((k) => sameHash(k.id, cp.keyId) && (k.validBelow === undefined || cp.index < k.validBelow));
  if (key === undefined) return `checkpoint at ${cp.index} is signed by an unknown key`;
  if (!checkpointSignatureValid(cp, key.publicKey)) return `checkpoint at ${cp.index} has an invalid signature`;
  return undefined;
}

interface TrustedKey {
  publicKey: Uint8Array;
  id: Uint8Array;
  /** A handed-over key signs only checkpoints before the rotation entry that retired it. */
  validBelow: number | undefined;
}

/**
 * Key rotation: a 'key.rotated' entry (purpose 'sign') names the new key id and carries the previous public key. When
 * the new key is trusted, the previous one becomes trusted for checkpoints before that entry. The entry itself is
 * authentic only if a checkpoint of a trusted key covers it, which the head check enforces.
 */
function withHandovers(publicKeys: Uint8Array[], chained: AuditEntry[]): TrustedKey[] {
  const keys: TrustedKey[] = publicKeys.map((publicKey) => ({ publicKey, id: keyId(publicKey), validBelow: undefined }));
  for (let i = chained.length - 1; i >= 0; i--) {
    const e = chained[i] as AuditEntry;
    const previous = e.details['previousPublicKey'];
    const next = e.details['keyId'];
    if (e.type !== 'key.rotated' || e.details['purpose'] !== 'sign' || typeof previous !== 'string' || typeof next !== 'string') continue;
    if (!/^[0-9a-f]{64}$/.test(previous) || !keys.some((k) => toHex(k.id) === next)) continue;
    const publicKey = fromHex(previous);
    keys.push({ publicKey, id: keyId(publicKey), validBelow: e.index });
  }
  return keys;
}

/** A validly signed head that the chain does not reach: say what most likely happened. */
function headMismatch(cp: AuditCheckpoint, entries: AuditEntry[], firstUnproven: number): TrailBreak {
  const holder = entries.find((e) => sameHash(e.hash, cp.head));
  const where = `the signed head of checkpoint ${cp.index}`;
  if (holder !== undefined && holder.index > cp.index) {
    return { index: firstUnproven, kind: 'inserted', detail: `${where} is now at entry ${holder.index}` };
  }
  if (holder !== undefined && holder.index < cp.index) {
    return { index: firstUnproven, kind: 'removed', detail: `${where} is now at entry ${holder.index}` };
  }
  return { index: firstUnproven, kind: 'changed', detail: `${where} matches no entry: entries ${firstUnproven} to ${cp.index} were altered` };
}
