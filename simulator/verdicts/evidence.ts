import type { GeoPoint, HouseholdMember } from '../models/types.js';
import type { HostileKind, Scenario } from '../scenario/types.js';

/**
 * Everything the independent checker looks at. The run loop fills it from outside the agents: the collector's
 * output, a raw subscriber on the broker, the device stores, and the replies to the companion's requests.
 * Record ids are strings `session:seq` (see recordKey).
 */
export interface Evidence {
  scenario: Scenario;
  /** Virtual time when collection stopped (after the final drain). */
  runEndMs: number;
  /** What the collector delivered after opening envelopes and deduplicating. */
  delivered: DeliveredRecord[];
  /** Every reading a device persisted for transmission (from the agents' accept hook): the completeness baseline. */
  accepted: AcceptedRecord[];
  /** Raw subscriber on `#`: topic and payload bytes exactly as the broker relayed them. */
  wire: WireMessage[];
  /** Device store contents sampled over time (and at the end). */
  stores: StoreSnapshot[];
  hostile: HostileResult[];
  acks: PreferenceAck[];
  rights: RightsResult[];
  /** Each device's audit trail, exported at the end of the run and verified off the device. */
  auditTrails?: AuditTrailResult[];
  /** The household the models used (default: the models' default household). */
  household?: readonly HouseholdMember[];
  home?: GeoPoint;
}

export interface DeliveredRecord {
  deviceId: string;
  id: string;
  category: string;
  at: number;
  expiresAt: number;
  data: Record<string, unknown>;
  /** Collector's virtual time of receipt. */
  receivedAt: number;
  /**
   * `session:seq` of the envelope that carried it (hex session id). A sharded run times each delivery by the
   * envelope's appearance on the broker as the owning shard saw it (simulator/shard/merge.ts).
   */
  envelope?: string;
}

export interface AcceptedRecord {
  deviceId: string;
  id: string;
  category: string;
  at: number;
  expiresAt: number;
  transmit: boolean;
}

export interface WireMessage {
  topic: string;
  payload: Uint8Array;
  at: number;
}

export interface StoreSnapshot {
  deviceId: string;
  takenAt: number;
  records: Array<{ id?: string; category: string; at: number; expiresAt: number; queued?: boolean }>;
}

export interface HostileResult {
  deviceId: string;
  /** Index of the scenario event that sent it. */
  eventIndex: number;
  kind: HostileKind;
  at: number;
  rejected: boolean;
  reason?: string;
  /** A digest of the device's enforced state (preferences version, owner, keys) before and after. */
  stateBefore: string;
  stateAfter: string;
}

export interface PreferenceAck {
  deviceId: string;
  eventIndex: number;
  requestedAt: number;
  ackedAt?: number;
  accepted: boolean;
  reason?: string;
}

export interface RightsResult {
  deviceId: string;
  eventIndex: number;
  kind: 'erase' | 'export' | 'transfer';
  requestedAt: number;
  completedAt?: number;
  ok: boolean;
  /** The signed receipt verified against the device key. */
  receiptVerified: boolean;
  /** Why it did not complete (error code and message). */
  error?: string;
}

export interface AuditTrailResult {
  deviceId: string;
  /** verifyTrail's result: chain intact and signed head valid. */
  ok: boolean;
  entries: number;
  /** Where and how the chain broke, when it did. */
  firstBreak?: string;
}

export interface Verdict {
  id: string;
  title: string;
  pass: boolean;
  /** How many records/messages/events were examined (0 never passes: a verdict must not be vacuous). */
  checked: number;
  violations: number;
  summary: string;
  firstOffending?: unknown;
  details?: Record<string, number | string>;
}

export function recordKey(id: { session: string; seq: number }): string {
  return `${id.session}:${id.seq}`;
}
