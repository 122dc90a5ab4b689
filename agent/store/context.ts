import type { RandomSource } from '../crypto/random.js';
import type { MonotonicCounterPort } from '../ports/counter.js';
import type { LoggerPort } from '../ports/logger.js';
import type { RollbackReport } from './rollback.js';
import type { NoncePool } from './frames.js';
import type { StoragePort } from '../ports/storage.js';
import type { GroupCommit } from './commit.js';
import type { StoreSecrets } from './sealed-files.js';
import type { StoreIndex } from './store-index.js';
import type { TrustedClock } from './trusted-clock.js';
import type { Outbox } from './outbox.js';

/** File names of one store, all under `prefix/` (see docs/storage.md for the layout). */
export interface StoreNames {
  keyFile: string;
  timeFile: string;
  ackFile: string;
  segPrefix: string;
  quarantinePrefix: string;
}

export function storeNames(prefix: string): StoreNames {
  return {
    keyFile: `${prefix}/keys`,
    timeFile: `${prefix}/time`,
    ackFile: `${prefix}/acks`,
    segPrefix: `${prefix}/seg/`,
    quarantinePrefix: `${prefix}/q/`,
  };
}

export interface Counters {
  overflow: number;
  expired: number;
  purged: number;
  expiredUnsent: number;
  quarantined: number;
}

/** Everything the store's parts share. One object, passed around, so each module stays small. */
export interface StoreContext {
  readonly counter: MonotonicCounterPort | undefined;
  /** Version of the key file on flash (the rollback counter value it was written under). */
  keyVersion: number;
  readonly onRollback: ((report: RollbackReport) => void) | undefined;
  readonly random: RandomSource;
  readonly nonces: NoncePool;
  readonly storage: StoragePort;
  readonly logger: LoggerPort;
  readonly secrets: StoreSecrets;
  readonly names: StoreNames;
  readonly epochMs: number;
  readonly segmentBytes: number;
  readonly quarantineKeepMs: number;
  readonly sessionId: string;
  readonly clock: TrustedClock;
  readonly index: StoreIndex;
  readonly commit: GroupCommit;
  readonly counters: Counters;
  readonly outbox: Outbox;
  nextOrd: number;
  /** Every new epoch key gets a fresh generation, so a new segment name never meets an old file. */
  nextGen: number;
  nextSeq: number;
  ackEntries: number;
  hasQuarantine: boolean;
}

const SEGMENT_NAME = /^([0-9a-f]{16})\.(\d+)\.(\d+)\.(\d+)$/;

export interface SegmentName {
  tag: string;
  epoch: number;
  gen: number;
  part: number;
}

export function segmentName(names: StoreNames, tag: string, epoch: number, gen: number, part: number): string {
  return `${names.segPrefix}${tag}.${epoch}.${gen}.${part}`;
}

export function parseSegmentBase(base: string): SegmentName | undefined {
  const match = SEGMENT_NAME.exec(base);
  if (match === null) return undefined;
  return { tag: match[1] ?? '', epoch: Number(match[2]), gen: Number(match[3]), part: Number(match[4]) };
}

export function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}
