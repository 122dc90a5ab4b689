import { equalBytes, keyId as keyIdOf, toHex } from '../crypto/keys.js';
import { assertBytes, TrustError } from '../errors.js';
import type { ClockPort } from '../ports/clock.js';
import type { StoragePort } from '../ports/storage.js';
import { assertAuditDetails, type AuditDetails, type AuditEventType } from './events.js';
import { concatBytes } from '../codec/bytes.js';
import {
  encodeFrame, GENESIS_PREV, hashEntry, signCheckpoint,
  type AuditCheckpoint, type AuditEntry, type Frame, type TrailBase,
} from './format.js';
import { openLog, serialize, type CorruptTrail, type State } from './trail-log.js';
export type { CorruptTrail } from './trail-log.js';

/**
 * The device's audit trail: append-only, hash-chained, with signed checkpoints. Each entry is appended and synced
 * before `record` resolves. Signing is slow on small devices (about 86 ms in QuickJS), so only every
 * `checkpointEvery`-th entry, a trim, `close()` and an export sign the head; the chain covers everything between.
 */
export interface AuditTrailOptions {
  storage: StoragePort;
  clock: ClockPort;
  signSecretKey: Uint8Array;
  signPublicKey: Uint8Array;
  limits?: { maxEntries?: number; maxAgeMs?: number };
  checkpointEvery?: number;
  /** Storage name of the log. */
  fileName?: string;
  /**
   * A log that does not chain (tampered with, or damaged mid-file): false (default) throws TrustError('CORRUPT');
   * true keeps the damaged bytes under `<fileName>.corrupt-<ms>`, starts a new chain and records a failed selfcheck,
   * so the device keeps enforcing privacy and reports the damage instead of refusing to start.
   */
  recoverCorrupt?: boolean;
}

export interface AuditHead {
  index: number;
  hash: Uint8Array;
  at: number;
  /** Whether a checkpoint already signs this head. */
  signed: boolean;
}

export interface AuditTrail {
  record(type: AuditEventType, details: AuditDetails): Promise<AuditEntry>;
  checkpoint(): Promise<void>;
  entries(): readonly AuditEntry[];
  checkpoints(): readonly AuditCheckpoint[];
  head(): AuditHead | undefined;
  /**
   * Switch to a new device signing key (key rotation, ownership transfer): records 'key.rotated', then rewrites the
   * log under the new key, with the base and the head re-signed. The chain is untouched, so the head checkpoint still
   * covers every entry, and the trail verifies with the new public key alone.
   */
  rotateKey(signSecretKey: Uint8Array, signPublicKey: Uint8Array): Promise<void>;
  /** The whole trail as verifiable bytes; signs the head first when no checkpoint covers it yet. */
  exportTrail(): Uint8Array;
  /** The retention bound in force (for the self-assessment's evidence). */
  readonly limits: { maxEntries: number; maxAgeMs?: number };
  /** Set when this open found a corrupt log and started a new one (only with `recoverCorrupt`). */
  readonly recoveredCorrupt: CorruptTrail | undefined;
  /** True when the last open found and cut a torn final frame (a crash between append and sync). */
  readonly recoveredTornTail: boolean;
  close(): Promise<void>;
}

export const AUDIT_FILE = 'audit/trail.log';
export const DEFAULT_MAX_ENTRIES = 2000;
export const DEFAULT_CHECKPOINT_EVERY = 32;
/** Age-based trimming never goes below this many entries: a clock jumping years ahead must not wipe the evidence. */
export const MIN_KEPT_BY_AGE = 32;


export async function createAuditTrail(options: AuditTrailOptions): Promise<AuditTrail> {
  assertBytes(options.signSecretKey, 'signSecretKey', 64);
  assertBytes(options.signPublicKey, 'signPublicKey', 32);
  const maxEntries = options.limits?.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const maxAgeMs = options.limits?.maxAgeMs;
  const checkpointEvery = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 2) throw new TrustError('INVALID_CONFIG', 'limits.maxEntries must be an integer of at least 2');
  if (maxAgeMs !== undefined && (!Number.isSafeInteger(maxAgeMs) || maxAgeMs <= 0)) throw new TrustError('INVALID_CONFIG', 'limits.maxAgeMs must be a positive integer');
  if (!Number.isSafeInteger(checkpointEvery) || checkpointEvery < 1) throw new TrustError('INVALID_CONFIG', 'checkpointEvery must be a positive integer');
  const { storage, clock } = options;
  let signSecretKey = options.signSecretKey;
  const fileName = options.fileName ?? AUDIT_FILE;
  const recover = options.recoverCorrupt === true ? { now: clock.now() } : undefined;
  const { state, torn, headerPublicKey, corrupt } = await openLog(storage, fileName, options.signPublicKey, recover);
  // The key in force is the one the log names until a rotation is recorded (see the hand-over at the end).
  let signPublicKey = headerPublicKey;
  let signKeyId = keyIdOf(signPublicKey);
  /** The key the log's header names: changes only when a trim rewrites the log. */
  let headerKey = headerPublicKey;

  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  };

  async function appendFrames(frames: Frame[]): Promise<void> {
    const bytes = concatBytes(frames.map(encodeFrame));
    try {
      await storage.append(fileName, bytes);
      await storage.sync(fileName);
    } catch (cause) {
      // Cut whatever part of the frames reached the file so the log stays a clean sequence of frames.
      await storage.truncate(fileName, state.fileLength).catch(() => undefined);
      throw new TrustError('STORAGE', 'audit trail append failed', { cause });
    }
    state.fileLength += bytes.length;
  }

  function headOf(): AuditHead | undefined {
    const last = state.entries[state.entries.length - 1];
    if (last === undefined) return undefined;
    const signed = state.checkpoints.some((c) => c.index === last.index) || state.unpersisted?.index === last.index;
    return { index: last.index, hash: last.hash.slice(), at: last.at, signed };
  }

  async function persistPending(): Promise<void> {
    const pending = state.unpersisted;
    if (pending === undefined) return;
    await appendFrames([{ kind: 'checkpoint', checkpoint: pending }]);
    state.checkpoints.push(pending);
    state.unpersisted = undefined;
  }

  async function signHead(): Promise<void> {
    await persistPending();
    const head = headOf();
    if (head === undefined || head.signed) return;
    const cp = signCheckpoint(head.index, head.hash, clock.now(), signSecretKey, signKeyId);
    await appendFrames([{ kind: 'checkpoint', checkpoint: cp }]);
    state.checkpoints.push(cp);
  }

  async function appendEntry(type: AuditEventType, details: AuditDetails): Promise<AuditEntry> {
    await persistPending();
    const last = state.entries[state.entries.length - 1];
    const index = last !== undefined ? last.index + 1 : state.base !== undefined ? state.base.index + 1 : 0;
    const prev = last?.hash ?? state.base?.hash ?? GENESIS_PREV;
    const draft = { index, prev: prev.slice(), at: clock.now(), type, details: { ...details } };
    const entry: AuditEntry = { ...draft, hash: hashEntry(draft) };
    await appendFrames([{ kind: 'entry', entry }]);
    state.entries.push(entry);
    return entry;
  }

  function sinceLastCheckpoint(): number {
    const last = state.entries[state.entries.length - 1];
    if (last === undefined) return 0;
    const signedIndex = state.checkpoints.reduce((max, c) => Math.max(max, c.index), state.base?.index ?? -1);
    return last.index - signedIndex;
  }

  async function trimIfNeeded(): Promise<void> {
    const drop = trimCount(state.entries, maxEntries, maxAgeMs, clock.now());
    if (drop === 0) return;
    const dropped = state.entries[drop - 1] as AuditEntry;
    const base: TrailBase = { index: dropped.index, hash: dropped.hash.slice() };
    const baseCheckpoint = signCheckpoint(base.index, base.hash, clock.now(), signSecretKey, signKeyId);
    const entries = state.entries.slice(drop);
    const checkpoints = [baseCheckpoint, ...state.checkpoints.filter((c) => c.index > base.index)];
    const bytes = serialize(signPublicKey, base, entries, checkpoints);
    await storage.writeAtomic(fileName, bytes);
    headerKey = signPublicKey;
    Object.assign(state, { base, entries, checkpoints, fileLength: bytes.length, unpersisted: undefined });
    const reason = state.entries.length + drop > maxEntries ? 'size' : 'age';
    await appendEntry('trail.trimmed', { removed: drop, baseIndex: base.index, maxEntries, reason });
    await signHead();
  }

  const trail: AuditTrail = {
    limits: { maxEntries, ...(maxAgeMs === undefined ? {} : { maxAgeMs }) },
    recoveredCorrupt: corrupt,
    get recoveredTornTail() {
      return torn;
    },
    record(type, details) {
      try {
        assertAuditDetails(type, details);
      } catch (error) {
        return Promise.reject(error);
      }
      return serial(async () => {
        if (closed) throw new TrustError('CLOSED', 'audit trail is closed');
        const entry = await appendEntry(type, details);
        if (sinceLastCheckpoint() >= checkpointEvery) await signHead();
        await trimIfNeeded();
        return entry;
      });
    },
    checkpoint() {
      return serial(async () => {
        if (closed) throw new TrustError('CLOSED', 'audit trail is closed');
        await signHead();
      });
    },
    rotateKey(nextSecretKey, nextPublicKey) {
      try {
        assertBytes(nextSecretKey, 'signSecretKey', 64);
        assertBytes(nextPublicKey, 'signPublicKey', 32);
      } catch (error) {
        return Promise.reject(error);
      }
      return serial(async () => {
        if (closed) throw new TrustError('CLOSED', 'audit trail is closed');
        const nextKeyId = keyIdOf(nextPublicKey);
        if (equalBytes(nextKeyId, signKeyId)) return;
        // The entry carries the previous public key, so a verifier that trusts the new key can check older checkpoints.
        const details = { purpose: 'sign', keyId: toHex(nextKeyId), previousKeyId: toHex(signKeyId), previousPublicKey: toHex(signPublicKey) };
        await appendEntry('key.rotated', details);
        signSecretKey = nextSecretKey;
        signPublicKey = nextPublicKey.slice();
        signKeyId = nextKeyId;
        await signHead();
        await trimIfNeeded();
      });
    },
    entries: () => state.entries.slice(),
    checkpoints: () => state.checkpoints.slice(),
    head: headOf,
    exportTrail() {
      const head = headOf();
      if (head !== undefined && !head.signed) {
        state.unpersisted = signCheckpoint(head.index, head.hash, clock.now(), signSecretKey, signKeyId);
      }
      const pending = state.unpersisted === undefined ? [] : [state.unpersisted];
      return serialize(headerKey, state.base, state.entries, [...state.checkpoints, ...pending]);
    },
    close() {
      return serial(async () => {
        if (closed) return;
        await signHead();
        closed = true;
      });
    },
  };
  if (corrupt !== undefined) await trail.record('selfcheck', { ok: false, reason: 'audit-trail-corrupt', failed: 1 });
  // Opened with a different device key (rotated while the agent was down): hand the trail over to it.
  if (!equalBytes(headerPublicKey, options.signPublicKey)) await trail.rotateKey(options.signSecretKey, options.signPublicKey);
  return trail;
}

/** How many of the oldest entries to drop: past the size bound with 10 % slack (so trims are rare), or too old. */
export function trimCount(entries: readonly AuditEntry[], maxEntries: number, maxAgeMs: number | undefined, now: number): number {
  let drop = 0;
  if (entries.length > maxEntries) drop = entries.length - maxEntries + Math.floor(maxEntries / 10);
  if (maxAgeMs !== undefined) {
    const cutoff = now - maxAgeMs;
    let old = 0;
    while (old < entries.length - MIN_KEPT_BY_AGE && (entries[old]?.at ?? Infinity) < cutoff) old++;
    drop = Math.max(drop, old);
  }
  return Math.min(drop, entries.length - 1);
}
