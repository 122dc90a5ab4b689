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

export interface PurgeReport {
  category: string;
  removed: number;
  reason: PurgeOrder['reason'] | 'expired' | 'overflow';
}
