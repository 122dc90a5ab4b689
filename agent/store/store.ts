import { hostRandom, type RandomSource } from '../crypto/random.js';
import { TrustError, assertBytes, assertString } from '../errors.js';
import type { ClockPort } from '../ports/clock.js';
import type { LoggerPort } from '../ports/logger.js';
import type { SchedulerPort, TimerHandle } from '../ports/scheduler.js';
import type { StoragePort } from '../ports/storage.js';
import type { GateOutput, PurgeOrder } from '../policy/contract.js';
import { GroupCommit, Mutex } from './commit.js';
import { storeNames, type StoreContext } from './context.js';
import type { DurabilityOptions, PurgeReport, RecordFacts, RecordId, Store, StoreLimits, StoreStats, StoredRecord } from './contract.js';
import { encodeAcks } from './ack-log.js';
import { compactAcks, evictOverflow, readRecords, removeUnkeyed, shredEpochs, sweepExpired, sweepQuarantine, type Limits } from './maintenance.js';
import { recover } from './recovery.js';
import { rewriteCategory } from './rewrite.js';
import { deriveSecrets, loadHighWater, saveHighWater } from './sealed-files.js';
import { StoreIndex } from './store-index.js';
import { TrustedClock, type ClockFault, type TrustedClockOptions } from './trusted-clock.js';
import { appendMakingRoom } from './append.js';
import { Outbox } from './outbox.js';
import { NoncePool } from './frames.js';
import type { RollbackReport } from './rollback.js';
import type { MonotonicCounterPort } from '../ports/counter.js';

export interface StoreOptions {
  storage: StoragePort;
  clock: ClockPort;
  logger: LoggerPort;
  /** 32 bytes, derived by the agent from the device secret key. */
  masterKey: Uint8Array;
  /** Hex boot-session id: record ids are `{ session, seq }`. */
  sessionId: string;
  durability?: DurabilityOptions;
  limits?: StoreLimits;
  /** Needed for group-commit delays and scheduled sweeps. */
  scheduler?: SchedulerPort;
  /** Scheduled sweep interval (needs `scheduler`). Default: min(epochMs, 15 min). 0 disables. */
  sweepEveryMs?: number;
  /** Width of a key epoch: records expire at most this long before their epoch is shredded. Default 1 h. */
  epochMs?: number;
  /** Part (segment file) size at which a new part is started; the overflow unit. Default 32 KiB. */
  segmentBytes?: number;
  /** Name prefix of every file of this store. Default 'store'. */
  prefix?: string;
  trustedTime?: TrustedClockOptions;
  /** How long quarantined copies without an epoch are kept. Default 7 days. */
  quarantineKeepMs?: number;
  /** Rollback protection: a host counter that every key-file rewrite advances (docs/storage.md). Optional. */
  counter?: MonotonicCounterPort;
  /** Called when the key file on flash is older than the counter: it and the segments were deleted. */
  onRollback?: (report: RollbackReport) => void;
  /** Called (after the log line) for each clock fault the trusted clock detects: the agent writes it to its trail. */
  onClockFault?: (fault: ClockFault) => void;
  /** Where data keys and nonces come from. The agent passes its own (checked) port; default: the host source. */
  random?: RandomSource;
}

const HOUR = 3_600_000;
/** The high-water mark is persisted when it moved this much (and at close): the bound on rollback across a reboot. */
const HIGH_WATER_PERSIST_MS = 60_000;

export async function createStore(options: StoreOptions): Promise<Store> {
  assertBytes(options.masterKey, 'masterKey', 32);
  assertString(options.sessionId, 'sessionId', 64);
  if (!/^[0-9a-f]+$/.test(options.sessionId)) throw new TrustError('INVALID_ARGUMENT', 'sessionId must be lowercase hex');
  const epochMs = positive(options.epochMs ?? HOUR, 'epochMs');
  const names = storeNames(options.prefix ?? 'store');
  const secrets = deriveSecrets(options.masterKey);
  const highWater = await loadHighWater(options.storage, names.timeFile, secrets);
  const durability = options.durability ?? { mode: 'group' };
  const mutex = new Mutex();
  const random = options.random ?? hostRandom;
  const ctx: StoreContext = {
    random, nonces: new NoncePool(random),
    counter: options.counter, keyVersion: 0, onRollback: options.onRollback,
    storage: options.storage, logger: options.logger, secrets, names, epochMs,
    segmentBytes: positive(options.segmentBytes ?? 32 * 1024, 'segmentBytes'),
    quarantineKeepMs: options.quarantineKeepMs ?? 7 * 24 * HOUR,
    sessionId: options.sessionId,
    clock: new TrustedClock(options.clock, highWater, options.trustedTime, (fault) => {
      options.logger.warn('store: clock fault, resolved toward deletion', { kind: fault.kind, deltaMs: Math.round(fault.deltaMs) });
      options.onClockFault?.(fault);
    }),
    index: new StoreIndex(),
    commit: new GroupCommit(options.storage, durability.mode, durability.groupCommitMs ?? 0, options.scheduler, () => mutex.idle()),
    counters: { overflow: 0, expired: 0, purged: 0, expiredUnsent: 0, quarantined: 0 },
    outbox: new Outbox(),
    nextOrd: 0, nextGen: 0, nextSeq: 0, ackEntries: 0, hasQuarantine: false,
  };
  await recover(ctx);
  const limits: Limits = {
    maxBytes: positive(options.limits?.maxBytes ?? 64 * 1024 * 1024, 'limits.maxBytes'),
    maxRecords: positive(options.limits?.maxRecords ?? 1_000_000, 'limits.maxRecords'),
  };
  const store = new DurableStore(ctx, limits, mutex);
  await store.sweep();
  store.schedule(options.scheduler, options.sweepEveryMs ?? Math.min(epochMs, 15 * 60_000));
  return store;
}

function positive(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TrustError('INVALID_CONFIG', `${name} must be a positive number`);
  }
  return value;
}

class DurableStore implements Store {
  private closed = false;
  private lastSweepAt: number | undefined;
  private persistedHighWater = Number.NEGATIVE_INFINITY;
  private timer: { scheduler: SchedulerPort; handle: TimerHandle | undefined } | undefined;

  constructor(
    private readonly ctx: StoreContext,
    private readonly limits: Limits,
    private readonly mutex: Mutex,
  ) {}

  async append(outputs: readonly GateOutput[]): Promise<StoredRecord[]> {
    this.open();
    const { stored, touched } = await this.mutex.run(async () => {
      const result = await appendMakingRoom(this.ctx, outputs);
      await evictOverflow(this.ctx, this.limits);
      return result;
    });
    await this.ctx.commit.commit(touched);
    return stored;
  }

  async nextBatch(limit: number): Promise<StoredRecord[]> {
    this.open();
    if (!Number.isSafeInteger(limit) || limit < 1) throw new TrustError('INVALID_ARGUMENT', 'limit must be a positive integer');
    await this.sweep();
    return this.mutex.run(() => readRecords(this.ctx, this.ctx.index.queued(limit, this.ctx.clock.now())));
  }

  async acknowledge(ids: readonly RecordId[]): Promise<void> {
    this.open();
    if (!Array.isArray(ids)) throw new TrustError('INVALID_ARGUMENT', 'ids must be an array');
    const wrote = await this.mutex.run(async () => {
      const ords: number[] = [];
      for (const id of ids) {
        const entry = id !== null && typeof id === 'object' ? this.ctx.index.find(id) : undefined;
        if (entry === undefined || entry.acked || !entry.transmit) continue;
        this.ctx.index.markAcked(entry);
        this.ctx.outbox.forget(entry.ord);
        ords.push(entry.ord);
      }
      if (ords.length === 0) return false;
      await this.ctx.storage.append(this.ctx.names.ackFile, encodeAcks(ords));
      this.ctx.ackEntries += ords.length;
      return true;
    });
    if (wrote) await this.ctx.commit.commit([this.ctx.names.ackFile]);
  }

  /**
   * `scheduled`: the periodic sweep, the only one that persists the high-water mark when a timer runs (docs/storage.md,
   * "Clock rule": once per sweep interval bounds the loss; the sweeps before every batch would write it once a minute).
   */
  async sweep(scheduled = this.timer === undefined): Promise<PurgeReport[]> {
    this.open();
    return this.mutex.run(async () => {
      const now = this.ctx.clock.now();
      const reports = await sweepExpired(this.ctx, now);
      await sweepQuarantine(this.ctx, now);
      await compactAcks(this.ctx);
      if (scheduled) await this.persistHighWater(false);
      this.lastSweepAt = now;
      return reports;
    });
  }

  async purge(order: PurgeOrder): Promise<PurgeReport> {
    this.open();
    checkOrder(order);
    return this.mutex.run(async () => {
      const epochs = [...this.ctx.index.epochs.values()].filter((e) => e.category === order.category);
      const before = order.before;
      // Stored before the mark: earlier in its session, or in any other session but this boot's (docs/storage.md).
      const covered = (entry: { session: string; seq: number }): boolean => before === undefined
        || (entry.session === before.session ? entry.seq < before.seq : entry.session !== this.ctx.sessionId);
      if (order.scope === 'all' && order.maxAgeMs === undefined && this.ctx.index.liveEntries(order.category).every(covered)) {
        const reports = await shredEpochs(this.ctx, epochs, order.reason);
        return { category: order.category, removed: reports.reduce((n, r) => n + r.removed, 0), reason: order.reason };
      }
      const now = this.ctx.clock.now();
      const maxAge = order.maxAgeMs;
      return rewriteCategory(this.ctx, order.category, (entry) => {
        if (entry.expiresAt <= now) return undefined;
        if (!covered(entry)) return entry.expiresAt;
        if (order.scope === 'all' && order.maxAgeMs === undefined) return undefined; // everything before the mark goes
        if (order.scope === 'queued' && entry.transmit && !entry.acked) return undefined;
        if (maxAge === undefined) return entry.expiresAt;
        const capped = Math.min(entry.expiresAt, entry.at + maxAge);
        return capped <= now ? undefined : capped;
      }, order.reason);
    });
  }

  async eraseAll(): Promise<PurgeReport[]> {
    this.open();
    return this.mutex.run(async () => {
      const reports = await shredEpochs(this.ctx, [...this.ctx.index.epochs.values()], 'erase');
      // Leftovers no key opens any more (orphans, quarantine, the ack log) go too: erase leaves no user trace.
      // The shred above is the erase; what follows is unkeyed leftovers, so a failing delete does not undo it (logged,
      // and deleted again by the next erase).
      for (const prefix of [this.ctx.names.segPrefix, this.ctx.names.quarantinePrefix]) {
        for (const name of await this.ctx.storage.list(prefix)) await removeUnkeyed(this.ctx, name);
      }
      this.ctx.commit.forget(this.ctx.names.ackFile);
      await removeUnkeyed(this.ctx, this.ctx.names.ackFile);
      this.ctx.index.clearAll();
      this.ctx.ackEntries = 0;
      this.ctx.hasQuarantine = false;
      return reports;
    });
  }

  async exportRecords(): Promise<StoredRecord[]> {
    return this.query();
  }

  async query(category?: string): Promise<StoredRecord[]> {
    this.open();
    return this.mutex.run(() => {
      const now = this.ctx.clock.now();
      return readRecords(this.ctx, this.ctx.index.liveEntries(category).filter((e) => e.expiresAt > now));
    });
  }

  async eraseMatching(category: string, matches: (data: Record<string, unknown>) => boolean): Promise<PurgeReport> {
    this.open();
    return this.mutex.run(async () => {
      const records = await readRecords(this.ctx, this.ctx.index.liveEntries(category));
      const doomed = new Set(records.filter((r) => matches(r.data)).map((r) => `${r.id.session}:${r.id.seq}`));
      if (doomed.size === 0) return { category, removed: 0, reason: 'erase' as const };
      return rewriteCategory(this.ctx, category, (e) => (doomed.has(`${e.session}:${e.seq}`) ? undefined : e.expiresAt), 'erase');
    });
  }

  async discard(ids: readonly RecordId[], reason: PurgeOrder['reason']): Promise<PurgeReport[]> {
    this.open();
    return this.mutex.run(async () => {
      const doomed = new Map<string, Set<string>>();
      for (const id of ids) {
        const entry = this.ctx.index.find(id);
        if (entry === undefined) continue;
        const set = doomed.get(entry.category) ?? new Set<string>();
        set.add(`${entry.session}:${entry.seq}`);
        doomed.set(entry.category, set);
      }
      const reports: PurgeReport[] = [];
      for (const [category, set] of doomed) {
        reports.push(await rewriteCategory(this.ctx, category, (e) => (set.has(`${e.session}:${e.seq}`) ? undefined : e.expiresAt), reason));
      }
      return reports;
    });
  }

  nextId(): RecordId {
    return { session: this.ctx.sessionId, seq: this.ctx.nextSeq };
  }

  census(): RecordFacts[] {
    this.open();
    const now = this.ctx.clock.now();
    return this.ctx.index.liveEntries().filter((e) => e.expiresAt > now).map((e) => ({
      id: { session: e.session, seq: e.seq }, category: e.category, at: e.at, expiresAt: e.expiresAt,
      transmit: e.transmit, essential: e.essential, queued: e.transmit && !e.acked,
    }));
  }

  stats(): StoreStats {
    const { index, counters, clock } = this.ctx;
    return {
      records: index.records, queued: index.queuedCount, bytes: index.bytes,
      dropped: { overflow: counters.overflow, expired: counters.expired, purged: counters.purged, expiredUnsent: counters.expiredUnsent },
      lastSweepAt: this.lastSweepAt, epochsLive: index.epochs.size, quarantined: counters.quarantined,
      clockRejected: clock.rejectedReadings,
      clockFaults: Object.values(clock.faults).reduce((a, b) => a + b, 0),
    };
  }

  trustedNow(): number {
    return this.ctx.clock.now();
  }

  trustTime(wallMs: number): void {
    this.ctx.clock.trust(wallMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer?.handle !== undefined) this.timer.scheduler.clearTimeout(this.timer.handle);
    await this.mutex.run(() => this.persistHighWater(true));
  }

  schedule(scheduler: SchedulerPort | undefined, everyMs: number): void {
    if (scheduler === undefined || !(everyMs > 0)) return;
    const timer: { scheduler: SchedulerPort; handle: TimerHandle | undefined } = { scheduler, handle: undefined };
    this.timer = timer;
    const arm = (): void => {
      timer.handle = scheduler.setTimeout(() => {
        if (this.closed) return;
        arm(); // re-arm first: a slow sweep must not stretch the schedule
        this.sweep(true).catch((cause: unknown) => {
          this.ctx.logger.error('store: scheduled sweep failed', { code: (cause as { code?: string }).code });
        });
      }, everyMs);
    };
    arm();
  }

  private async persistHighWater(force: boolean): Promise<void> {
    this.ctx.clock.now(); // reading the clock is what moves the mark
    const highWater = this.ctx.clock.highWaterMark;
    if (!force && highWater - this.persistedHighWater < HIGH_WATER_PERSIST_MS) return;
    await saveHighWater(this.ctx.storage, this.ctx.names.timeFile, this.ctx.secrets, highWater, this.ctx.random);
    this.persistedHighWater = highWater;
  }

  private open(): void {
    if (this.closed) throw new TrustError('CLOSED', 'store is closed');
  }
}

function checkOrder(order: PurgeOrder): void {
  if (order === null || typeof order !== 'object') throw new TrustError('INVALID_ARGUMENT', 'purge order must be an object');
  assertString(order.category, 'order.category');
  if (order.scope !== 'all' && order.scope !== 'queued') throw new TrustError('INVALID_ARGUMENT', 'order.scope must be all or queued');
  if (order.maxAgeMs !== undefined && !(Number.isFinite(order.maxAgeMs) && order.maxAgeMs >= 0)) {
    throw new TrustError('INVALID_ARGUMENT', 'order.maxAgeMs must be a non-negative number');
  }
  if (!['withdrawn', 'narrowed', 'retention', 'erase'].includes(order.reason)) throw new TrustError('INVALID_ARGUMENT', 'order.reason is unknown');
  const before = order.before;
  if (before !== undefined && (typeof before !== 'object' || before === null || typeof before.session !== 'string' || !Number.isSafeInteger(before.seq))) {
    throw new TrustError('INVALID_ARGUMENT', 'order.before must be a record id');
  }
}
