import type { GateOutput, PurgeOrder } from '../policy/contract.js';

/** Every reading accepted by the agent gets an id that stays with it through store, queue and wire. */
export interface RecordId {
  /** Hex boot-session id of the agent that accepted the reading. */
  session: string;
  seq: number;
}

export interface StoredRecord extends GateOutput {
  id: RecordId;
}

/** A stored record without its data; `queued`: waiting to be sent (transmit and not yet acknowledged). */
export type RecordFacts = Pick<StoredRecord, 'id' | 'category' | 'at' | 'expiresAt' | 'transmit' | 'essential'> & { queued: boolean };

export interface PurgeReport {
  category: string;
  removed: number;
  reason: PurgeOrder['reason'] | 'expired' | 'overflow';
}

/** When an accepted reading is on disk. Both modes make `append` resolve only after the data is durable. */
export interface DurabilityOptions {
  /** 'each': every call syncs its own files. 'group': concurrent calls share one sync (group commit). */
  mode: 'each' | 'group';
  /** Group mode: wait this long (scheduler time) before syncing, to gather more writers. Default 0. */
  groupCommitMs?: number;
}

export interface StoreLimits {
  /** Bytes of segment data kept on disk. Default 64 MiB. */
  maxBytes?: number;
  /** Records kept. Default 1,000,000. */
  maxRecords?: number;
}

export interface StoreStats {
  /** Records physically present (individually expired ones may linger until their epoch ends). */
  records: number;
  /** Records waiting for transmission: transmit, unacknowledged, unexpired. */
  queued: number;
  /** Bytes of segment data on disk. */
  bytes: number;
  dropped: { overflow: number; expired: number; purged: number; expiredUnsent: number };
  lastSweepAt: number | undefined;
  epochsLive: number;
  /** Segments (or key files) moved to quarantine since this store was opened. */
  quarantined: number;
  /** Wall-clock readings ignored by the clock guard since open. */
  clockRejected: number;
  /** Clock faults detected since open (monotonic back or stalled, wall behind or ahead; docs/storage.md). */
  clockFaults: number;
}

export interface Store {
  /** Seal and persist; resolves when durable. Returns the stored records (outputs already expired are dropped and counted). */
  append(outputs: readonly GateOutput[]): Promise<StoredRecord[]>;
  /** Oldest-first queued records (transmit, unacknowledged, unexpired). Sweeps first. */
  nextBatch(limit: number): Promise<StoredRecord[]>;
  /** The broker acknowledged these: they leave the queue (and stay stored until expiry). Durable when resolved. */
  acknowledge(ids: readonly RecordId[]): Promise<void>;
  /** Remove expired epochs: keys first, segments after. */
  sweep(): Promise<PurgeReport[]>;
  purge(order: PurgeOrder): Promise<PurgeReport>;
  eraseAll(): Promise<PurgeReport[]>;
  /** Every stored, unexpired record in plain form (the agent seals the export to the owner). */
  exportRecords(): Promise<StoredRecord[]>;
  query(category?: string): Promise<StoredRecord[]>;
  /**
   * What the store holds, without its contents: the ids and facts of every unexpired record, from the index (no read,
   * no decryption). For QA evidence and status displays; `query` when the data itself is needed.
   */
  census(): RecordFacts[];
  /**
   * Erase the records of `category` whose data `matches` (one person's data on a shared device): the survivors are
   * re-sealed under fresh keys and the old keys destroyed, so nothing of the erased records can be recovered.
   */
  eraseMatching(category: string, matches: (data: Record<string, unknown>) => boolean): Promise<PurgeReport>;
  /**
   * Remove these records (the publisher's send-time gate found the policy in force forbids them): survivors of their
   * categories are re-sealed under fresh keys, as for `eraseMatching`. Unknown or already removed ids are ignored.
   */
  discard(ids: readonly RecordId[], reason: PurgeOrder['reason']): Promise<PurgeReport[]>;
  /**
   * The id the next stored record will carry: a purge with `before` set to it touches only what is stored now (an
   * interrupted owner request, completed later, must not purge readings taken since under the new preferences).
   */
  nextId(): RecordId;
  stats(): StoreStats;
  /** The guarded time retention is judged by (see docs/storage.md). */
  trustedNow(): number;
  /** Re-anchor the clock guard on an authenticated wall time (e.g. a verified owner command's issuedAt). */
  trustTime(wallMs: number): void;
  close(): Promise<void>;
}
