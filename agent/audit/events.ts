import { TrustError } from '../errors.js';

/**
 * What the audit trail may record, and the guard that keeps personal values out of it.
 * The trail is evidence of privacy decisions, so it must never become a second copy of the data those decisions
 * protect: every detail key is allow-listed per event type, and every value has a narrow kind (counts, versions,
 * key ids, hashes, short lower-case tokens). A reading, a name or free text does not fit any kind.
 */
export const AUDIT_EVENT_TYPES = [
  'consent.change',
  'policy.update',
  'purge',
  'receipt',
  'command.rejected',
  'transport.insecure',
  'key.generated',
  'key.rotated',
  'key.rejected',
  'pairing',
  'ownership.transfer',
  'agent.start',
  'agent.stop',
  'selfcheck',
  'trail.trimmed',
  'entropy.failed',
  'clock.fault',
  'store.rollback',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];
export type AuditDetailValue = string | number | boolean;
export type AuditDetails = Record<string, AuditDetailValue>;

/** The kind of a detail value. Strings are only ever identifiers, never prose. */
type DetailKind = 'token' | 'setting' | 'keyId' | 'hash' | 'count' | 'bool' | 'time' | 'id' | 'code';

const TOKEN = /^[a-z0-9][a-z0-9_.:-]{0,47}$/;
const ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const KEY_ID = /^[0-9a-f]{16}$/;
const HASH = /^[0-9a-f]{16,128}$/;
/** An error code of agent/errors.ts (e.g. BAD_SIGNATURE). */
const CODE = /^[A-Z][A-Z_]{1,31}$/;
const SETTINGS = new Set(['off', 'local', 'minimised', 'full']);

/** Keys any event may carry. */
const COMMON: Record<string, DetailKind> = {
  reason: 'token',
  category: 'token',
  requestId: 'id',
  count: 'count',
  ok: 'bool',
  code: 'code',
  source: 'token',
};

const ALLOWED: Record<AuditEventType, Record<string, DetailKind>> = {
  'consent.change': { setting: 'setting', previous: 'setting', version: 'count', previousVersion: 'count', ownerKeyId: 'keyId', retentionMs: 'count', action: 'token' },
  'policy.update': {
    registryVersion: 'count', previousVersion: 'count', widened: 'count', narrowed: 'count', awaitingConsent: 'count',
    waitedForConsent: 'bool', manifestHash: 'hash', source: 'token',
  },
  purge: { removed: 'count', queued: 'count', stored: 'count', scope: 'token', olderThan: 'time' },
  receipt: { kind: 'token', receiptHash: 'hash', removed: 'count', ownerKeyId: 'keyId', version: 'count' },
  'command.rejected': { command: 'token', keyId: 'keyId', version: 'count', failures: 'count', rateLimited: 'bool' },
  'transport.insecure': { tls: 'bool', allowed: 'bool', broker: 'token' },
  'key.generated': { keyId: 'keyId', purpose: 'token', epoch: 'count' },
  'key.rotated': { keyId: 'keyId', previousKeyId: 'keyId', previousPublicKey: 'hash', purpose: 'token', epoch: 'count', serial: 'count' },
  'key.rejected': { purpose: 'token', reason: 'token', serial: 'count' },
  pairing: { ownerKeyId: 'keyId', result: 'token', windowOpen: 'bool' },
  'ownership.transfer': { ownerKeyId: 'keyId', previousOwnerKeyId: 'keyId', removed: 'count', keysRotated: 'bool' },
  'agent.start': { version: 'id', session: 'hash', deviceType: 'token', secure: 'bool', tornTail: 'bool' },
  'agent.stop': { session: 'hash' },
  selfcheck: { secure: 'bool', failed: 'count', tls: 'bool', keys: 'bool', paired: 'bool' },
  'trail.trimmed': { removed: 'count', baseIndex: 'count', maxEntries: 'count', maxAgeMs: 'count' },
  'entropy.failed': {},
  'clock.fault': { deltaMs: 'count' },
  'store.rollback': { fileVersion: 'count', counter: 'count', removed: 'count' },
};

/** At most this many details per entry: entries stay small and cheap to hash on a device. */
export const MAX_DETAILS = 12;

export function isAuditEventType(value: unknown): value is AuditEventType {
  return typeof value === 'string' && (AUDIT_EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * Throws INVALID_ARGUMENT when a detail is not allowed for the type or its value does not fit its kind.
 * Messages name the key, never the value (which might be the very personal value we refuse).
 */
export function assertAuditDetails(type: AuditEventType, details: unknown): asserts details is AuditDetails {
  if (!isAuditEventType(type)) throw new TrustError('INVALID_ARGUMENT', 'unknown audit event type');
  if (details === null || typeof details !== 'object' || Array.isArray(details)) {
    throw new TrustError('INVALID_ARGUMENT', 'audit details must be a plain object');
  }
  const entries = Object.entries(details);
  if (entries.length > MAX_DETAILS) throw new TrustError('INVALID_ARGUMENT', `audit details exceed ${MAX_DETAILS} keys`);
  for (const [key, value] of entries) {
    const kind = ALLOWED[type][key] ?? COMMON[key];
    if (kind === undefined) throw new TrustError('INVALID_ARGUMENT', `audit detail ${key} is not allowed for ${type}`);
    if (!fitsKind(kind, value)) throw new TrustError('INVALID_ARGUMENT', `audit detail ${key} must be a ${kind}`);
  }
}

function fitsKind(kind: DetailKind, value: unknown): boolean {
  switch (kind) {
    case 'bool':
      return typeof value === 'boolean';
    case 'count':
    case 'time':
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
    case 'token':
      return typeof value === 'string' && TOKEN.test(value);
    case 'id':
      return typeof value === 'string' && ID.test(value);
    case 'code':
      return typeof value === 'string' && CODE.test(value);
    case 'setting':
      return typeof value === 'string' && SETTINGS.has(value);
    case 'keyId':
      return typeof value === 'string' && KEY_ID.test(value);
    case 'hash':
      return typeof value === 'string' && HASH.test(value);
  }
}

/** Scalars only, as the verifier sees them: it checks shape, not the per-type allow-list (newer agents may add keys). */
export function isScalarDetails(value: unknown): value is AuditDetails {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) return false;
  const entries = Object.entries(value);
  if (entries.length > MAX_DETAILS) return false;
  return entries.every(([, v]) => typeof v === 'boolean' || (typeof v === 'string' && v.length <= 128) || (typeof v === 'number' && Number.isFinite(v)));
}
