import { decodeCbor, encodeCbor } from '../agent/codec/cbor.js';
import { concatBytes } from '../agent/codec/bytes.js';
import { TrustError } from '../agent/errors.js';
import type { StoragePort } from '../agent/ports/storage.js';
import { crc32, readU32, writeU32 } from '../agent/store/crc32.js';
import type { ReadingTracker, ReplayGuard, StateEvent } from './dedup.js';

export type { StateEvent } from './dedup.js';

/**
 * The collector's replay and dedup memory, kept across restarts (docs/protocol.md, "Collector state"). The
 * collector tells it every envelope it accepts and every reading it delivers; at start it rebuilds the replay guard
 * and the reading tracker from what it remembers. A vendor can back it with a shared database by implementing this
 * interface; `fileCollectorState` is the embedded default, an append-only log on any StoragePort.
 */
export interface CollectorState {
  /** What was remembered when the state was opened, oldest first. */
  loaded(): readonly StateEvent[];
  /** One new fact; persisted asynchronously (see `flush`). Must not throw. */
  record(event: StateEvent): void;
  /** Resolves when every fact recorded so far is durable. */
  flush(): Promise<void>;
  /** Compaction source: everything still worth remembering (the collector provides it when it binds the state). */
  snapshotWith(source: () => Iterable<StateEvent>): void;
  close(): Promise<void>;
}

/** Rebuilds the guard and tracker from `state`, then journals every new fact into it. Called by createCollector. */
export function bindState(state: CollectorState, replays: ReplayGuard, tracker: ReadingTracker, clock: () => number): void {
  const now = clock();
  for (const event of state.loaded()) {
    if (event.kind === 'envelope') replays.record(event.deviceId, event.replayKey, event.seq);
    else if (event.expiresAt > now) tracker.admit(event.deviceId, event.session, event.seq, event.expiresAt, now);
  }
  const journal = (event: StateEvent): void => state.record(event);
  replays.journal = journal;
  tracker.journal = journal;
  state.snapshotWith(() => concatIterables(replays.export(), tracker.export(clock())));
}

function* concatIterables<T>(...parts: Iterable<T>[]): Generator<T> {
  for (const part of parts) yield* part;
}

export interface FileStateOptions {
  /** File name on the storage port. Default `collector/state.log`. */
  name?: string;
  /** Rewrite the log as a snapshot once this many facts were appended since the last rewrite. Default 100,000. */
  compactAfter?: number;
}

const FRAME_HEADER = 8;
const MAX_FRAME = 4096;
const EVENT_LIMITS = { maxBytes: MAX_FRAME, maxDepth: 2 };

/**
 * Append-only log of CBOR facts in CRC-checked frames `[u32 length][u32 crc32(body)][body]`, written with
 * `append` + `sync` in batches (one batch per tick of ingest) and rewritten atomically as a snapshot every
 * `compactAfter` facts, so the file stays bounded by what the collector remembers plus one batch of history. A torn
 * tail (power loss during an append) is cut off at open; a frame whose CRC fails ends the scan the same way.
 */
export async function fileCollectorState(storage: StoragePort, options: FileStateOptions = {}): Promise<CollectorState> {
  const name = options.name ?? 'collector/state.log';
  const compactAfter = options.compactAfter ?? 100_000;
  const bytes = (await storage.read(name)) ?? new Uint8Array(0);
  const { events, goodLength } = scanLog(bytes);
  if (goodLength < bytes.length) await storage.truncate(name, goodLength);
  let pending: Uint8Array[] = [];
  let appended = events.length;
  let source: (() => Iterable<StateEvent>) | undefined;
  let writing: Promise<void> = Promise.resolve();
  let scheduled = false;
  let failure: unknown;

  const writeBatch = async (): Promise<void> => {
    scheduled = false;
    if (pending.length === 0) return;
    const batch = concatBytes(pending);
    const count = pending.length;
    pending = [];
    await storage.append(name, batch);
    await storage.sync(name);
    appended += count;
    if (appended >= compactAfter && source !== undefined) {
      const snapshot = [...source()].map(encodeFrame);
      await storage.writeAtomic(name, concatBytes(snapshot));
      appended = snapshot.length;
    }
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    writing = writing.then(writeBatch).catch((error: unknown) => {
      failure = error; // surfaced by flush(); ingest goes on from memory
    });
  };
  return {
    loaded: () => events,
    record(event) {
      pending.push(encodeFrame(event));
      schedule();
    },
    async flush() {
      schedule();
      await writing;
      if (failure !== undefined) {
        const cause = failure;
        failure = undefined;
        throw new TrustError('STORAGE', 'collector state could not be written', { cause });
      }
    },
    snapshotWith(next) {
      source = next;
    },
    async close() {
      schedule();
      await writing;
    },
  };
}

/** An in-memory state for tests and for collectors that need no persistence (same contract, nothing durable). */
export function memoryCollectorState(initial: readonly StateEvent[] = []): CollectorState & { events: StateEvent[] } {
  const events = [...initial];
  return {
    events,
    loaded: () => initial,
    record: (event) => void events.push(event),
    flush: async () => undefined,
    snapshotWith: () => undefined,
    close: async () => undefined,
  };
}

function encodeFrame(event: StateEvent): Uint8Array {
  const body = encodeCbor(event.kind === 'envelope'
    ? [0, event.deviceId, event.replayKey, event.seq]
    : [1, event.deviceId, event.session, event.seq, event.expiresAt]);
  const frame = new Uint8Array(FRAME_HEADER + body.length);
  writeU32(frame, 0, body.length);
  frame.set(body, FRAME_HEADER);
  writeU32(frame, 4, crc32(frame, FRAME_HEADER));
  return frame;
}

function scanLog(bytes: Uint8Array): { events: StateEvent[]; goodLength: number } {
  const events: StateEvent[] = [];
  let at = 0;
  while (at + FRAME_HEADER <= bytes.length) {
    const length = readU32(bytes, at);
    const end = at + FRAME_HEADER + length;
    if (length === 0 || length > MAX_FRAME || end > bytes.length) break;
    const body = bytes.subarray(at + FRAME_HEADER, end);
    if (crc32(body, 0) !== readU32(bytes, at + 4)) break;
    const event = decodeEvent(body);
    if (event !== undefined) events.push(event);
    at = end;
  }
  return { events, goodLength: at };
}

function decodeEvent(body: Uint8Array): StateEvent | undefined {
  let value: unknown;
  try {
    value = decodeCbor(body, EVENT_LIMITS);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  const [kind, deviceId, key, seq, expiresAt] = value as unknown[];
  if (typeof deviceId !== 'string' || typeof key !== 'string' || !Number.isSafeInteger(seq)) return undefined;
  if (kind === 0) return { kind: 'envelope', deviceId, replayKey: key, seq: seq as number };
  if (kind === 1 && typeof expiresAt === 'number') return { kind: 'reading', deviceId, session: key, seq: seq as number, expiresAt };
  return undefined;
}
