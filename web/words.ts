import type { ManifestCategory } from '../agent/policy/manifest-types.js';
import { categoryTitle, humanDuration } from '../agent/audit/label-model.js';
import type { AuditEntry } from '../agent/audit/format.js';

/** Everything the app says about a choice or an answer, in plain words, in one place. */
export type Setting = 'off' | 'local' | 'minimised' | 'full';

export const SETTING_LABEL: Record<Setting, string> = {
  off: 'Off',
  local: 'On this device only',
  minimised: 'Minimised',
  full: 'Full',
};

/** What happens if the owner picks this setting for this category. */
export function consequence(c: ManifestCategory, setting: Setting, recipients: Record<string, string>, level?: string): string {
  const lost = c.stopsWorkingWhenOff.length > 0 ? c.stopsWorkingWhenOff.join('; ') : 'nothing else stops working';
  switch (setting) {
    case 'off': return `Not collected at all. Stops working: ${lost}.`;
    case 'local': return 'Collected and kept on the device only; nothing of it is sent anywhere.';
    case 'minimised': {
      const described = c.levels.find((l) => l.name === level)?.description;
      return `Sent in reduced detail${described === undefined ? '' : ` (${described})`} to ${recipientsOf(c, recipients)}.`;
    }
    case 'full': return `Sent as measured (${c.fields.map((f) => f.name).join(', ')}) to ${recipientsOf(c, recipients)}.`;
  }
}

function recipientsOf(c: ManifestCategory, words: Record<string, string>): string {
  return c.recipients.length === 0 ? 'no one' : c.recipients.map((r) => words[r] ?? r).join(', ');
}

/** "1 record", "3 records". */
export function count(n: unknown, noun: string, plural = `${noun}s`): string {
  const value = typeof n === 'number' ? n : Number(n ?? 0);
  return `${value} ${value === 1 ? noun : plural}`;
}

export const KIND_WORDS: Record<string, string> = {
  'erase-all': 'Erase all data', 'erase-category': 'Erase one kind of data', 'erase-user': 'Erase one person\'s data',
  export: 'Export', transfer: 'Transfer', reset: 'Reset to defaults', pairing: 'Pairing',
};

/** A receipt's details in words: how much was removed, from which kinds of data; other facts as they are. */
export function receiptWords(details: unknown): string {
  const d = (details ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof d['removed'] === 'number') parts.push(`${count(d['removed'], 'record')} removed`);
  if (typeof d['records'] === 'number') parts.push(`${count(d['records'], 'record')} exported`);
  if (typeof d['bytes'] === 'number') parts.push(`export of ${count(d['bytes'], 'byte')} sealed to your key`);
  if (typeof d['category'] === 'string') parts.push(`from ${title(d['category'])}`);
  if (Array.isArray(d['categories'])) {
    const per = (d['categories'] as Array<{ category?: unknown; removed?: unknown }>).filter((c) => Number(c.removed) > 0)
      .map((c) => `${title(String(c.category))}: ${String(c.removed)}`);
    if (per.length > 0) parts.push(`(${per.join(', ')})`);
  }
  if (typeof d['signPublicKey'] === 'string') parts.push('device keys replaced');
  return parts.length === 0 ? 'done' : parts.join(' ');
}

export function title(name: string): string {
  return categoryTitle(name);
}

export function duration(ms: number): string {
  return humanDuration(ms);
}

/** A rejected request's code, as the owner should read it. The device's own reason follows it. */
const REJECTION_WORDS: Record<string, string> = {
  VERSION_CONFLICT: 'another change reached the device first; the screen now shows its current settings, try again',
  INVALID_PREFERENCE: 'the device does not allow this setting',
  NOT_OWNER: 'the device no longer accepts this browser\'s key as its owner',
  NOT_PAIRED: 'the device has no owner: pair again',
  EXPIRED: 'the request expired before the device saw it',
  REPLAY: 'the device had already seen this request',
  RATE_LIMITED: 'too many requests: the device asks you to wait a moment',
  AUTH_FAILED: 'the device could not verify this request',
  BAD_SIGNATURE: 'the device could not verify the signature of this request',
  PAIRING_CLOSED: 'the device\'s pairing window is closed: open it on the device (button) and try again',
  ALREADY_PAIRED: 'the device already has an owner',
  WRONG_DEVICE: 'the pairing code is for another device',
};

export function rejectionWords(code: string, reason: string): string {
  const words = REJECTION_WORDS[code] ?? 'the device refused the request';
  return `${words.charAt(0).toUpperCase()}${words.slice(1)} (device said: ${reason}).`;
}

export const REFUSED_WORDS: Record<string, string> = {
  AUTH_FAILED: 'its signature is not the device\'s (forged or damaged)',
  BAD_SIGNATURE: 'its signature is not the device\'s (forged or damaged)',
  UNKNOWN_KEY: 'its signature is not the device\'s (signed by another key: forged)',
  WRONG_DEVICE: 'it names another device',
  STALE: 'it is older than a state already seen (stale or replayed)',
  MALFORMED: 'it is not a well-formed signed document',
};

/** One audit entry as a sentence. Details are identifiers and counts only (the trail never holds personal data). */
export function auditSentence(entry: AuditEntry): string {
  const d = entry.details;
  const cat = typeof d['category'] === 'string' ? title(d['category']) : undefined;
  switch (entry.type) {
    case 'consent.change': return `Settings changed${d['action'] === undefined ? '' : ` (${String(d['action']).replace(/-/g, ' ')})`}${d['version'] === undefined ? '' : `: now version ${String(d['version'])}`}.`;
    case 'policy.update': return `Policy updated to register v${String(d['registryVersion'] ?? '?')}: ${String(d['widened'] ?? 0)} widened (waiting for your consent: ${String(d['awaitingConsent'] ?? 0)}), ${String(d['narrowed'] ?? 0)} narrowed.`;
    case 'purge': return `${count(d['removed'], 'record')} deleted${cat === undefined ? '' : ` from ${cat}`} (${String(d['reason'] ?? d['scope'] ?? 'purge')}).`;
    case 'receipt': return `Receipt issued: ${KIND_WORDS[String(d['kind'])] ?? String(d['kind'] ?? 'a request')}${d['removed'] === undefined ? '' : ` (${count(d['removed'], 'record')} removed)`}.`;
    case 'command.rejected': return `A request was refused (${String(d['code'] ?? d['reason'] ?? 'unknown')}).`;
    case 'transport.insecure': return 'An insecure connection was used (explicit opt-in).';
    case 'key.generated': return `A new ${String(d['purpose'] ?? '')} key was made.`;
    case 'key.rotated': return `The ${String(d['purpose'] ?? '')} key was rotated.`;
    case 'pairing': return `Pairing: ${String(d['result'] ?? '')}${d['ownerKeyId'] === undefined ? '' : ` (owner key ${String(d['ownerKeyId'])})`}.`;
    case 'ownership.transfer': return `Ownership transferred: ${count(d['removed'], 'record')} erased, keys rotated.`;
    case 'agent.start': return 'The device started.';
    case 'agent.stop': return 'The device stopped.';
    case 'selfcheck': return `Self-check: ${d['secure'] === true ? 'secure' : 'NOT secure'}${d['failed'] ? ` (${count(d['failed'], 'check')} failed)` : ''}.`;
    case 'trail.trimmed': return `${count(d['removed'], 'old audit entry', 'old audit entries')} trimmed (still covered by a signed checkpoint).`;
    default: return String(entry.type);
  }
}
