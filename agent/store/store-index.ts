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
  /** The part holding the frame. An entry is gone exactly when its part is (see `isGone`). */
  part: Part;
  offset: number;
  length: number;
}

export interface Part {
  readonly name: string;
  readonly number: number;
  readonly epoch: EpochState;
  bytes: number;
  /** Entries die only with their whole part, so a part's entries are all live or all gone. */
  readonly entries: Entry[];
  hasEssential: boolean;
  /** Physically removed (epoch shredded, part evicted, category rewritten). */
  gone: boolean;
  /** Entries still queued (transmit, unacknowledged) and acknowledged: killing a part is O(1). */
  unsent: number;
  acked: number;
}

export interface EpochState extends EpochKey {
  readonly tag: string;
  readonly parts: Part[];
}

export function isGone(entry: Entry): boolean {
  return entry.part.gone;
}

export function newPart(name: string, number: number, epoch: EpochState): Part {
  return { name, number, epoch, bytes: 0, entries: [], hasEssential: false, gone: false, unsent: 0, acked: 0 };
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
  /** Gone entries still referenced by the id maps; the maps are rebuilt once these dominate. */
  private goneInMaps = 0;

  addEntry(entry: Entry): void {
    entry.part.entries.push(entry);
    if (entry.essential) entry.part.hasEssential = true;
    if (entry.acked) entry.part.acked++;
    else if (entry.transmit) entry.part.unsent++;
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
    const entry = this.bySession.get(id.session)?.get(id.seq);
    return entry === undefined || isGone(entry) ? undefined : entry;
  }

  markAcked(entry: Entry): void {
    if (entry.acked || isGone(entry)) return;
    entry.acked = true;
    entry.part.acked++;
    this.ackedLive++;
    if (entry.transmit) {
      entry.part.unsent--;
      this.queuedCount--;
    }
  }

  /**
   * Forget a removed part in O(1): its entries become gone through `part.gone`, so a sweep costs what it
   * removes in files, not in records. Returns how many records went and how many of those were still queued.
   */
  killPart(part: Part): { live: number; unsent: number } {
    if (part.gone) return { live: 0, unsent: 0 };
    const live = part.entries.length;
    const unsent = part.unsent;
    part.gone = true;
    this.records -= live;
    this.queuedCount -= unsent;
    this.ackedLive -= part.acked;
    this.bytes -= part.bytes;
    this.goneInMaps += live;
    if (this.goneInMaps > 4096 && this.goneInMaps > this.records) this.rebuildIdMaps();
    return { live, unsent };
  }

  /** Amortised: runs when gone entries outnumber live ones, and costs the live ones. */
  private rebuildIdMaps(): void {
    this.bySession.clear();
    for (const epoch of this.epochs.values()) {
      for (const part of epoch.parts) {
        if (part.gone) continue;
        for (const entry of part.entries) {
          let seqs = this.bySession.get(entry.session);
          if (seqs === undefined) this.bySession.set(entry.session, (seqs = new Map()));
          seqs.set(entry.seq, entry);
        }
      }
    }
    this.goneInMaps = 0;
  }

  /** Oldest-first queued entries, skipping those expired at `now`. */
  queued(limit: number, now: number): Entry[] {
    if (this.queueUnsorted) this.sortQueue();
    this.trimQueueHead();
    const out: Entry[] = [];
    for (let i = this.queueHead; i < this.queue.length && out.length < limit; i++) {
      const entry = this.queue[i];
      if (entry !== undefined && !isGone(entry) && !entry.acked && entry.expiresAt > now) out.push(entry);
    }
    return out;
  }

  private trimQueueHead(): void {
    while (this.queueHead < this.queue.length) {
      const head = this.queue[this.queueHead];
      if (head !== undefined && !isGone(head) && !head.acked) break;
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
      for (const part of epoch.parts) if (!part.gone) for (const entry of part.entries) if (entry.acked) ords.push(entry.ord);
    }
    return ords;
  }

  /** Live entries, optionally of one category, in ord order. */
  liveEntries(category?: string): Entry[] {
    const out: Entry[] = [];
    for (const epoch of this.epochs.values()) {
      if (category !== undefined && epoch.category !== category) continue;
      for (const part of epoch.parts) if (!part.gone) out.push(...part.entries);
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
    this.goneInMaps = 0;
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
