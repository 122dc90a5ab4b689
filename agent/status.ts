import type { AuditTrail, ComplianceReport, SecurityState } from './audit/index.js';
import { assessCompliance, assessmentCategories, securityState, summarizeTrail, type AssessmentInput } from './audit/index.js';
import type { ResolvedConfig } from './config.js';
import { safeModeReasons } from './safe-mode.js';
import { keyId, toHex, type DeviceIdentity } from './crypto/keys.js';
import type { OwnerChannel } from './owner/index.js';
import type { PolicyEngine, Setting } from './policy/index.js';
import type { Transport } from './ports/index.js';
import type { Store, StoreStats } from './store/index.js';
import type { PublisherStats } from './telemetry/publisher.js';

/** What the device enforces now, per category: the companion shows this after every accepted change. */
export interface EnforcedState {
  registryVersion: number;
  preferencesVersion: number;
  manifestHash: string;
  manifestReviewed: boolean;
  categories: Record<string, { setting: Setting; sentFields: string[]; retentionMs: number; pendingConsent: boolean }>;
}

export function enforcedState(policy: PolicyEngine): EnforcedState {
  const manifest = policy.manifest();
  const categories: EnforcedState['categories'] = {};
  for (const c of manifest.categories) {
    categories[c.name] = { setting: c.effectiveSetting, sentFields: c.sentFields, retentionMs: c.retentionMs, pendingConsent: c.pendingConsent };
  }
  return {
    registryVersion: manifest.registryVersion, preferencesVersion: manifest.preferencesVersion,
    manifestHash: manifest.contentHash, manifestReviewed: manifest.manifestReviewed, categories,
  };
}

export interface StatusSources {
  cfg: ResolvedConfig;
  identity: DeviceIdentity;
  policy: PolicyEngine;
  store: Store;
  audit: AuditTrail;
  transport: Transport;
  owner: OwnerChannel | undefined;
  publisher: PublisherStats;
  started: boolean;
  rights: { receipts: number; changes: number };
  now: number;
  /** The broker acknowledged the current manifest (retained). */
  manifestPublished: boolean;
  /** Non-essential readings dropped by safe mode (R14). */
  safeModeDropped: number;
  /** The collector key sealed to now (rotated or configured) and whether a trust root can rotate it (R7). */
  recipient?: { publicKey: Uint8Array; serial: number };
  trustRoot?: boolean;
}

export interface AgentStatus {
  deviceId: string;
  deviceType: string;
  started: boolean;
  connected: boolean;
  /** R14: `mode` is 'degraded' when the set-up is not secure; `security.reasons` says why. */
  mode: 'normal' | 'degraded';
  security: SecurityState;
  /** R14 safe mode: only essential data is collected while these reasons hold (empty when off). */
  safeMode: { active: boolean; reasons: string[]; dropped: number };
  paired: boolean;
  enforced: EnforcedState;
  store: StoreStats;
  published: PublisherStats;
  policy: ReturnType<PolicyEngine['counters']>;
  /** Owner requests by outcome; `pairingDropped`: pairing requests dropped unopened or unreadable. */
  commands: { received: number; accepted: number; rejected: number; dropped: number; rateLimited: number; pairingDropped: number };
  audit: { entries: number; headIndex: number | undefined };
}

export function buildStatus(s: StatusSources): AgentStatus {
  const security = securityState(assessmentInput(s));
  const counters = s.owner?.counters;
  return {
    deviceId: s.cfg.deviceId, deviceType: s.cfg.deviceType, started: s.started, connected: s.transport.connected,
    mode: security.secure ? 'normal' : 'degraded', security, paired: s.owner?.isPaired() ?? false,
    safeMode: { active: safeModeReasons(security).length > 0, reasons: safeModeReasons(security), dropped: s.safeModeDropped },
    enforced: enforcedState(s.policy), store: s.store.stats(), published: { ...s.publisher }, policy: s.policy.counters(),
    commands: {
      received: counters?.received ?? 0, accepted: counters?.accepted ?? 0, rejected: counters?.rejected ?? 0,
      dropped: counters?.dropped ?? 0, rateLimited: counters?.rateLimited ?? 0, pairingDropped: s.owner?.pairingDropped ?? 0,
    },
    audit: { entries: s.audit.entries().length, headIndex: s.audit.head()?.index },
  };
}

/** The R14 self-check as an audit entry; `key` changes exactly when the outcome does. */
export function selfcheckEntry(status: AgentStatus): { key: string; details: { secure: boolean; failed: number; tls: boolean; keys: boolean; paired: boolean } } {
  const { security, paired } = status;
  return {
    key: `${security.secure}:${security.codes.join(',')}`,
    details: { secure: security.secure, failed: security.codes.length, tls: !security.codes.includes('tls-off'), keys: !security.codes.includes('keys-missing'), paired },
  };
}

export function selfAssessment(s: StatusSources): ComplianceReport {
  return assessCompliance(assessmentInput(s, true));
}

/** Facts only: the assessment turns them into one row per requirement. */
export function assessmentInput(s: StatusSources, verifyTrail = false): AssessmentInput {
  const manifest = s.policy.manifest();
  const stats = s.store.stats();
  const owner = s.owner?.owner();
  const security = s.transport.security;
  const counters = s.owner?.counters;
  const trailOptions = verifyTrail ? { verifyWith: s.identity.signPublicKey } : {};
  return {
    generatedAt: s.now,
    device: { id: s.cfg.deviceId, type: s.cfg.deviceType },
    transport: { tls: security?.encrypted ?? !s.cfg.insecureTransport, insecureAllowed: security?.insecureReason !== undefined || s.cfg.insecureTransport, connected: s.transport.connected },
    keys: {
      identityPresent: true, boxKeyId: toHex(s.identity.boxKeyId), signKeyId: toHex(s.identity.signKeyId),
      recipientKeyId: toHex(keyId(s.recipient?.publicKey ?? s.cfg.recipientPublicKey)), defaultSecret: false,
      recipientRotation: { trustRoot: s.trustRoot ?? false, serial: s.recipient?.serial ?? 0 },
    },
    owner: { paired: owner !== undefined, ...(owner === undefined ? {} : { ownerKeyId: toHex(owner.keyId) }), pairingWindowOpen: s.owner?.pairingWindowOpen() ?? false },
    policy: {
      registryVersion: manifest.registryVersion, preferencesVersion: manifest.preferencesVersion, manifestHash: manifest.contentHash,
      manifestPublished: s.manifestPublished, firstRunReviewed: manifest.manifestReviewed, categories: assessmentCategories(manifest),
      counters: policyCounters(s.policy),
    },
    store: {
      records: stats.records, queued: stats.queued, bytes: stats.bytes, maxBytes: s.cfg.maxBytes, maxRecords: s.cfg.maxRecords,
      dropped: stats.dropped, lastSweepAt: stats.lastSweepAt, sweepIntervalMs: s.cfg.sweepIntervalMs, epochsLive: stats.epochsLive,
      encryptedAtRest: true, durability: s.cfg.durability, overflowRule: 'drop oldest non-essential first, essential last',
    },
    telemetry: {
      algorithm: 'x25519-xsalsa20poly1305', supportedAlgorithms: ['x25519-xsalsa20poly1305'], endToEnd: true, published: s.publisher.envelopes,
    },
    commands: {
      accepted: counters?.accepted ?? 0, rejected: { ...(counters?.byCode ?? {}) } as Record<string, number>,
      rateLimited: counters?.rateLimited ?? 0, signedOnly: true, listeningSockets: 0,
    },
    rights: { erase: true, eraseCategory: true, export: true, transfer: true, receiptsIssued: s.rights.receipts, signedReceipts: true },
    audit: summarizeTrail(s.audit, trailOptions),
  };
}

function policyCounters(policy: PolicyEngine): AssessmentInput['policy']['counters'] {
  const counters = policy.counters();
  const dropped: Record<string, Record<string, number>> = {};
  for (const [category, reasons] of Object.entries(counters.dropped)) {
    dropped[category] = Object.fromEntries(Object.entries(reasons).filter((entry): entry is [string, number] => entry[1] !== undefined));
  }
  return { accepted: { ...counters.accepted }, dropped, invalid: { ...counters.invalid } };
}
