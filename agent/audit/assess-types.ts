/**
 * The plain data the agent hands the self-assessment. Every field is a fact the agent can read from its live
 * configuration and state (no judgement here): the assessment turns facts into one row per requirement, and a
 * test can compare each row with the device it came from. Times are wall-clock ms; key ids and hashes are hex.
 */
export interface AssessmentInput {
  generatedAt: number;
  device: { id: string; type: string; agentVersion?: string };
  transport: {
    /** TLS to the broker in force now. */
    tls: boolean;
    /** The explicit plaintext opt-in is set. */
    insecureAllowed: boolean;
    connected?: boolean;
  };
  keys: {
    identityPresent: boolean;
    boxKeyId?: string;
    signKeyId?: string;
    /** The collector key telemetry is sealed to. */
    recipientKeyId?: string;
    /** A shipped default secret or setup code is still in use. */
    defaultSecret?: boolean;
    /** R7: a trust root is configured (the collector key can be rotated in the field) and the serial applied. */
    recipientRotation?: { trustRoot: boolean; serial: number };
  };
  owner: { paired: boolean; ownerKeyId?: string; pairingWindowOpen?: boolean };
  policy: AssessmentPolicy;
  store: AssessmentStore;
  telemetry: {
    /** Algorithm id written into every envelope. */
    algorithm: string;
    /** Algorithm ids this agent accepts; anything else is rejected by name. */
    supportedAlgorithms: string[];
    /** Sealed to the recipient key (NaCl box) inside TLS. */
    endToEnd: boolean;
    published?: number;
    /** Times the device keys were rotated (from the audit trail). */
    keyRotations?: number;
  };
  commands: {
    accepted: number;
    /** Rejections by reason (error code). */
    rejected: Record<string, number>;
    rateLimited?: number;
    /** Only signed owner commands are executed. */
    signedOnly: boolean;
    /** Listening sockets the agent opened: must be 0 (it only dials out to the broker). */
    listeningSockets: number;
  };
  rights: {
    erase: boolean;
    eraseCategory: boolean;
    export: boolean;
    transfer: boolean;
    receiptsIssued: number;
    /** Receipts are signed with the device key. */
    signedReceipts: boolean;
  };
  audit: AssessmentAudit;
}

export interface AssessmentCategory {
  name: string;
  sensitivity: string[];
  essential: boolean;
  safety: boolean;
  setting: string;
  effectiveSetting: string;
  defaultSetting: string;
  retentionMs: number;
  retentionMaxMs: number;
  /** Data of this category leaves the device at the effective setting. */
  transmitted: boolean;
  /** Minimisation level in force, when minimised. */
  level?: string;
  pendingConsent: boolean;
}

export interface AssessmentPolicy {
  registryVersion: number;
  preferencesVersion: number;
  manifestHash: string;
  /** The manifest is published (retained, signed) for the companion. */
  manifestPublished: boolean;
  firstRunReviewed: boolean;
  categories: AssessmentCategory[];
  counters: {
    accepted: Record<string, number>;
    dropped: Record<string, Record<string, number>>;
    invalid: Record<string, number>;
  };
  /** Owner settings survived the last registry update (version before and after). */
  settingsPreservedAcrossUpdate?: boolean;
}

export interface AssessmentStore {
  records: number;
  queued: number;
  bytes: number;
  maxBytes: number;
  maxRecords: number;
  dropped: { overflow: number; expired: number; purged: number; expiredUnsent: number };
  lastSweepAt: number | undefined;
  sweepIntervalMs: number;
  epochsLive: number;
  /** Records are sealed with per-category, per-epoch keys. */
  encryptedAtRest: boolean;
  durability: 'each' | 'group';
  /** What happens when the store is full, in a few words (e.g. 'drop oldest queued'). */
  overflowRule: string;
}

export interface AssessmentAudit {
  entries: number;
  checkpoints: number;
  head?: { index: number; hash: string; at: number; signed: boolean };
  /** The trail's chain (and, when checked, its signatures) verified. */
  verified: boolean;
  /** What `verified` covers: the hash chain as re-checked at open, or the full export against the device key. */
  checkedBy?: 'chain' | 'signatures';
  /** First break, when not verified. */
  firstBreak?: string;
  /** This boot found the previous trail corrupt, kept it aside and started a new one: what broke and where it is. */
  previousTrailCorrupt?: string;
  maxEntries: number;
  maxAgeMs?: number;
  /** Latest entry of each event type: index and hash, cited as evidence. */
  latest: Record<string, { index: number; hash: string; at: number }>;
  /** Entries per event type. */
  counts: Record<string, number>;
}

export type ComplianceStatus = 'met' | 'not-met' | 'not-applicable';

export interface ComplianceRow {
  id: string;
  title: string;
  status: ComplianceStatus;
  /** Facts, each 'what = value'. */
  evidence: string[];
  /** Why the status is what it is, when not met or not applicable. */
  note?: string;
}

export interface SecurityState {
  secure: boolean;
  /** Stable codes: tls-off, insecure-allowed, keys-missing, default-secret, owner-not-paired, audit-broken. */
  codes: string[];
  /** The same, in plain words. */
  reasons: string[];
}

export interface ComplianceReport {
  format: 1;
  generatedAt: number;
  device: { id: string; type: string; agentVersion?: string };
  /** R14: degraded when the set-up is not secure; `security.reasons` says why. */
  mode: 'normal' | 'degraded';
  security: SecurityState;
  summary: { met: number; notMet: number; notApplicable: number };
  rows: ComplianceRow[];
}
