import type { EpochKey } from './sealed-files.js';
import type { RecordBody } from './frames.js';
import type { RecordId, StoredRecord } from './contract.js';

/**
 * The in-memory index rebuilt from the segments at open. It holds metadata only; record data stays sealed
 * on disk and is read back when a batch, a query or an export needs it.
 */
export interface Entry {
  readonly ord: number;
  readonly session: string;
  readonly seq: number;
  readonly category: string;
  readonly at: number;
  expiresAt: number;
  readonly transmit: boolean;
  readonly essential: boolean;
  acked: boolean;
  /** Physically gone (epoch dropped, part evicted, category purged). */
  dead: boolean;
  part: Part;
  offset: number;
  length: number;
}

export interface Part {
  readonly name: string;
  readonly number: number;
  readonly epoch: EpochState;
  bytes: number;
  /** Entries die only with their whole part, so a part's entries are all live or all dead. */
  readonly entries: Entry[];
  hasEssential: boolean;
  gone: boolean;
}

export interface EpochState extends EpochKey {
  readonly tag: string;
  readonly parts: Part[];
}

export function epochKeyOf(category: string, epoch: number): string {
  return `${category}\u0000${epoch}`;
}

export class StoreIndex {
  readonly epochs = new Map<string, EpochState>();
  private readonly bySession = new Map<string, Map<number, Entry>>();
  /** Transmit entries in ord order; the head moves past entries that left the queue. */
  private queue: Entry[] = [];
  private queueHead = 0;
  /** Appends touching several parts admit entries part by part; the queue is re-sorted lazily. */
  private queueUnsorted = false;
  records = 0;
  bytes = 0;
  queuedCount = 0;
  ackedLive = 0;

  addEntry(entry: Entry): void {
    entry.part.entries.push(entry);
    if (entry.essential) entry.part.hasEssential = true;
    let seqs = this.bySession.get(entry.session);
    if (seqs === undefined) this.bySession.set(entry.session, (seqs = new Map()));
    seqs.set(entry.seq, entry);
    this.records++;
    if (entry.acked) this.ackedLive++;
    if (entry.transmit) {
      const last = this.queue[this.queue.length - 1];
      if (last !== undefined && last.ord > entry.ord) this.queueUnsorted = true;
      this.queue.push(entry);
      if (!entry.acked) this.queuedCount++;
    }
  }

  /** After open: entries arrive segment by segment; the queue must be in ord order. */
  sortQueue(): void {
    this.queue = this.queue.slice(this.queueHead).sort((a, b) => a.ord - b.ord);
    this.queueHead = 0;
    this.queueUnsorted = false;
  }

  find(id: RecordId): Entry | undefined {
    return this.bySession.get(id.session)?.get(id.seq);
  }

  markAcked(entry: Entry): void {
    if (entry.acked || entry.dead) return;
    entry.acked = true;
    this.ackedLive++;
    if (entry.transmit) this.queuedCount--;
  }

  /** Mark a part's entries dead; returns how many were live and how many of those were still queued. */
  killPart(part: Part): { live: number; unsent: number } {
    let live = 0;
    let unsent = 0;
    for (const entry of part.entries) {
      if (entry.dead) continue;
      live++;
      if (entry.acked) this.ackedLive--;
      if (entry.transmit && !entry.acked) {
        unsent++;
        this.queuedCount--;
      }
      entry.dead = true;
      this.bySession.get(entry.session)?.delete(entry.seq);
    }
    this.records -= live;
    this.bytes -= part.bytes;
    part.gone = true;
    return { live, unsent };
  }

  /** Oldest-first queued entries, skipping those expired at `now`. */
  queued(limit: number, now: number): Entry[] {
    if (this.queueUnsorted) this.sortQueue();
    this.trimQueueHead();
    const out: Entry[] = [];
    for (let i = this.queueHead; i < this.queue.length && out.length < limit; i++) {
      const entry = this.queue[i];
      if (entry !== undefined && !entry.dead && !entry.acked && entry.expiresAt > now) out.push(entry);
    }
    return out;
  }

  private trimQueueHead(): void {
    while (this.queueHead < this.queue.length) {
      const head = this.queue[this.queueHead];
      if (head !== undefined && !head.dead && !head.acked) break;
      this.queueHead++;
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /** Ords of acknowledged live records (for rewriting the ack log). */
  ackedOrds(): number[] {
    const ords: number[] = [];
    for (const epoch of this.epochs.values()) {
      for (const part of epoch.parts) for (const entry of part.entries) if (entry.acked && !entry.dead) ords.push(entry.ord);
    }
    return ords;
  }

  /** Live entries, optionally of one category, in ord order. */
  liveEntries(category?: string): Entry[] {
    const out: Entry[] = [];
    for (const epoch of this.epochs.values()) {
      if (category !== undefined && epoch.category !== category) continue;
      for (const part of epoch.parts) for (const entry of part.entries) if (!entry.dead) out.push(entry);
    }
    return out.sort((a, b) => a.ord - b.ord);
  }

  clearAll(): void {
    this.epochs.clear();
    this.bySession.clear();
    this.queue = [];
    this.queueHead = 0;
    this.queueUnsorted = false;
    this.records = 0;
    this.bytes = 0;
    this.queuedCount = 0;
    this.ackedLive = 0;
  }
}

export function toStoredRecord(body: RecordBody, expiresAt: number): StoredRecord {
  return {
    id: { session: body.session, seq: body.seq },
    category: body.category,
    at: body.at,
    data: body.data,
    expiresAt,
    transmit: body.transmit,
    essential: body.essential,
  };
}
