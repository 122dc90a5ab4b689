import type { AuditTrail, ComplianceReport } from './audit/index.js';
import type { DeviceIdentity } from './crypto/keys.js';
import type { RandomSource } from './crypto/random.js';
import type { PolicyEngine } from './policy/index.js';
import type { AgentRights } from './rights.js';
import type { AuditView, PolicyView, StoreView } from './agent-views.js';
import type { AgentStatus } from './status.js';
import type { Store, StoredRecord } from './store/index.js';

export interface RecordResult {
  /** Outputs the gate produced (0 when dropped or folded into an open aggregation window). */
  stored: number;
  /** Of those, how many wait in the outgoing queue. */
  queued: number;
}

/** The public face of the agent: what a firmware team calls. */
export interface Agent {
  readonly deviceId: string;
  readonly publicKeys: { box: Uint8Array; sign: Uint8Array };
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The collection gate: every reading enters here. Resolves once the result is durable in the store. */
  record(category: string, data: Record<string, unknown>, at?: number): Promise<RecordResult>;
  status(): AgentStatus;
  /** The R1-R14 self-assessment from the live configuration, policy, store, owner channel and verified trail. */
  assess(): ComplianceReport;
  /** Called with every batch of records made durable (readings and closed aggregation windows): for QA evidence. */
  onStored(listener: (records: readonly StoredRecord[]) => void): () => void;
  /** Local pairing trigger (the device's button): opens the window, returns the QR payload string. */
  openPairingWindow(): { payload: string; setupCode: string; expiresInMs: number };
  /** Publish everything queued now, without waiting for the batch delay. */
  flush(): Promise<void>;
  /** The local owner API (same actions the companion triggers remotely): the only way to change anything. */
  readonly rights: AgentRights;
  /** Read-only views (agent-views.ts): a change made around `rights` would skip its purges and trail entries. */
  readonly policy: PolicyView;
  readonly store: StoreView;
  readonly audit: AuditView;
}

/** What the agent is made of; replaced as a whole by an ownership transfer (new identity, store and session). */
export interface AgentParts {
  identity: DeviceIdentity;
  /** Boot session: record ids and envelopes of this identity carry it. */
  sessionId: Uint8Array;
  audit: AuditTrail;
  policy: PolicyEngine;
  store: Store;
  /** This agent's own random source (its port, health-checked): every key, nonce and id it draws comes from here. */
  random: RandomSource;
}
