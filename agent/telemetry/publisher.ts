import type { LoggerPort, SchedulerPort, TimerHandle, Transport } from '../ports/index.js';
import { TrustError } from '../errors.js';
import type { PurgeOrder } from '../policy/contract.js';
import type { RecordId, StoredRecord } from '../store/contract.js';

/** A queued record the policy in force at seal time forbids sending, and why. */
export interface Withheld {
  record: StoredRecord;
  reason: PurgeOrder['reason'];
}

/** The queue side of the store, as the publisher sees it. */
export interface OutgoingQueue {
  nextBatch(limit: number): Promise<StoredRecord[]>;
  acknowledge(ids: RecordId[]): Promise<void>;
  /** `queued`: records waiting to be sent (may still count some that expire before the next read). */
  stats(): { queued: number };
}

export interface PublisherOptions {
  topic: string;
  queue: OutgoingQueue;
  /** Seals as many leading records as fit one envelope; the rest wait for the next one. */
  seal: (records: StoredRecord[]) => { envelope: Uint8Array; count: number };
  transport: Transport;
  scheduler: SchedulerPort;
  logger: LoggerPort;
  maxBatch: number;
  batchDelayMs: number;
  drainPerSecond: number;
  /**
   * The send-time gate: why the preferences in force now forbid sending this record (undefined: allowed). Asked for
   * every record right before it is sealed, whatever put it in the queue.
   */
  forbids?: (record: StoredRecord) => PurgeOrder['reason'] | undefined;
  /** Purge (and audit) what the gate withheld; until it resolves those records are not sent, nor anything after. */
  withhold?: (withheld: Withheld[]) => Promise<void>;
}

export interface PublisherStats {
  envelopes: number;
  readings: number;
  failures: number;
  /** Readings dropped because no envelope could hold them. */
  unsendable: number;
  /** Readings the send-time gate refused (the preferences in force forbid them) and purged instead of sending. */
  withheld: number;
}

/**
 * Moves sealed batches from the durable queue to the broker. A reading leaves the queue only after the broker's
 * PUBACK for the envelope that carried it, so a crash or a dropped link at any point means "sent again", never
 * "lost". One drain runs at a time; after a reconnect the backlog drains in order at `drainPerSecond`.
 */
export class Publisher {
  private readonly options: PublisherOptions;
  private timer: TimerHandle | undefined;
  private draining: Promise<void> | undefined;
  /** New data arrived while a drain ran: that drain may already have seen an empty queue, so kick again after it. */
  private kickPending = false;
  /** Bumped when a purge starts: a batch read before it may hold withdrawn or erased records and is read again. */
  private generation = 0;
  private stopped = false;
  /** Ids the send-time gate withheld in the running drain: one that comes back was not purged, and stops the drain. */
  private readonly withheldThisDrain = new Set<string>();
  readonly stats: PublisherStats = { envelopes: 0, readings: 0, failures: 0, unsendable: 0, withheld: 0 };

  constructor(options: PublisherOptions) {
    this.options = options;
  }

  /** New data is queued: seal it after the batch delay (so companions can share the envelope). */
  kick(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.kickPending = true;
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = this.options.scheduler.setTimeout(() => {
      this.timer = undefined;
      void this.drain(false);
    }, this.options.batchDelayMs);
  }

  /**
   * Drain now (reconnect, stop, tests). Resolves when the queue is empty or the link is down. A call during a running
   * drain waits for it and drains once more, so everything queued before the call is covered. Never rejects: a
   * failure leaves the data queued and is counted (callers often fire and forget).
   */
  drain(untilEmpty = true): Promise<void> {
    if (this.draining) return this.draining.then(() => this.drain(untilEmpty));
    const running = this.drainLoop(untilEmpty).catch((error: unknown) => {
      this.stats.failures++;
      this.options.logger.warn('drain failed; data stays queued', { code: codeOf(error) });
    }).finally(() => {
      this.draining = undefined;
      if (this.kickPending) {
        this.kickPending = false;
        this.kick();
      }
    });
    this.draining = running;
    return running;
  }

  /**
   * A purge (withdrawal, erase) is starting. A batch already read from the queue but not yet handed to the transport
   * is dropped and read again, so nothing the owner withdrew is sent after the withdrawal took effect.
   */
  invalidate(): void {
    this.generation++;
  }

  /** No new drains; resolves once the one in flight (if any) has finished with the queue. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.kickPending = false;
    if (this.timer !== undefined) this.options.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
    await this.draining;
  }

  /**
   * `untilEmpty` (flush, stop, reconnect): send everything. Otherwise (the batch timer): send full batches back to back
   * while there is a backlog, and leave a partial remainder to its own batch delay, so slow acknowledgements do not
   * shrink envelopes to whatever trickled in during the last round trip.
   */
  private async drainLoop(untilEmpty: boolean): Promise<void> {
    const { queue, transport, maxBatch } = this.options;
    this.withheldThisDrain.clear();
    let first = true;
    while (!this.stopped && transport.connected) {
      if (!first) {
        // Nothing left: done now, not after a pace (a flush under virtual time must not wait for a timer).
        const queued = queue.stats().queued;
        if (queued === 0) return;
        if (!untilEmpty && queued < maxBatch) {
          this.kickPending = true;
          return;
        }
        await this.pace();
      }
      first = false;
      const generation = this.generation;
      const batch = await queue.nextBatch(maxBatch);
      if (batch.length === 0) return;
      // Checked right before the synchronous seal-and-hand-over: no purge can slip in between.
      if (generation !== this.generation || this.stopped) continue;
      // The send-time gate, in the same tick as the seal: after a withhold the batch is read (and checked) again.
      const withheld = this.forbidden(batch);
      if (withheld.length > 0) {
        await this.withhold(withheld);
        continue;
      }
      const sent = await this.publishBatch(batch);
      if (!sent) return;
    }
  }

  /** The records of the batch the policy in force forbids sending, with the reason (synchronous: no await before the seal). */
  private forbidden(batch: StoredRecord[]): Withheld[] {
    const { forbids } = this.options;
    const withheld: Withheld[] = [];
    if (forbids === undefined) return withheld;
    for (const record of batch) {
      const reason = forbids(record);
      if (reason !== undefined) withheld.push({ record, reason });
    }
    return withheld;
  }

  /** Purge what the gate refused; a failure ends this drain (the records stay queued, unsent, and are checked again). */
  private async withhold(withheld: Withheld[]): Promise<void> {
    const again = withheld.some(({ record }) => this.withheldThisDrain.has(idKey(record.id)));
    if (this.options.withhold === undefined || again) throw new TrustError('STORAGE', 'withheld records are still queued; the drain stops');
    for (const { record } of withheld) this.withheldThisDrain.add(idKey(record.id));
    await this.options.withhold(withheld);
    this.stats.withheld += withheld.length;
    this.options.logger.warn('send-time gate withheld readings the preferences in force forbid', { readings: withheld.length });
  }

  private async publishBatch(batch: StoredRecord[]): Promise<boolean> {
    const { topic, seal, transport, queue, logger } = this.options;
    let sent: StoredRecord[];
    try {
      const { envelope, count } = seal(batch);
      sent = batch.slice(0, count);
      await transport.publish(topic, envelope, { qos: 1 });
    } catch (error) {
      if (codeOf(error) === 'OVERSIZED') return this.dropUnsendable(batch[0]);
      this.stats.failures++;
      logger.debug('publish failed; batch stays queued', { readings: batch.length, code: codeOf(error) });
      return false;
    }
    await queue.acknowledge(sent.map((record) => record.id));
    this.stats.envelopes++;
    this.stats.readings += sent.length;
    return true;
  }

  /** A single reading too large for any envelope would block the queue forever: it is dropped and counted. */
  private async dropUnsendable(record: StoredRecord | undefined): Promise<boolean> {
    if (record === undefined) return false;
    this.options.logger.warn('reading too large for an envelope; dropped', { category: record.category });
    await this.options.queue.acknowledge([record.id]);
    this.stats.unsendable++;
    return true;
  }

  private pace(): Promise<void> {
    const delay = Math.max(0, Math.floor(1000 / this.options.drainPerSecond));
    if (delay === 0) return Promise.resolve();
    return new Promise((resolve) => this.options.scheduler.setTimeout(resolve, delay));
  }
}

function idKey(id: RecordId): string {
  return `${id.session}:${id.seq}`;
}

function codeOf(error: unknown): string {
  return error !== null && typeof error === 'object' && 'code' in error ? String((error as { code: unknown }).code) : 'unknown';
}
