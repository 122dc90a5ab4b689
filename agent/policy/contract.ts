/**
 * What the agent's composition root needs from the policy engine. The policy module may add to this, not break it.
 */
export type Sensitivity = 'health' | 'location' | 'presence' | 'identity' | 'technical';
export type Setting = 'off' | 'local' | 'minimised' | 'full';

/** One minimised output of the collection gate, ready to persist. Plain CBOR-able data only. */
export interface GateOutput {
  category: string;
  /** Wall-clock ms the data describes (after timestamp truncation, or the end of an aggregation window). */
  at: number;
  data: Record<string, unknown>;
  /** Hard deadline (wall-clock ms): min(registry maximum, owner's choice) after `at`. */
  expiresAt: number;
  /** false for 'local' (kept on the device, never transmitted). */
  transmit: boolean;
  essential: boolean;
  /** Recipients the owner allows for this output (present when `transmit` is true). Added by the policy module. */
  recipients?: string[];
}

/** A purge the store must carry out because a preference change no longer allows what it holds. */
export interface PurgeOrder {
  category: string;
  /** 'all': stored and queued; 'queued': only data waiting to be sent (category became local-only). */
  scope: 'all' | 'queued';
  /** Retention shortened: delete what is older than this many ms, and cap the rest. */
  maxAgeMs?: number;
  reason: 'withdrawn' | 'narrowed' | 'retention' | 'erase';
  /**
   * Only records stored before this id (the store's `nextId()` when the purge was ordered): those of its session with
   * a lower seq, and those of any other session except the store's current one. Unset: every record of the category.
   */
  before?: { session: string; seq: number };
}
