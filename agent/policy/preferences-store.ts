import { decodeCbor, encodeCbor } from '../codec/cbor.js';
import { isTrustError } from '../errors.js';
import type { StoragePort } from '../ports/storage.js';
import type { CategoryPreference, ConsentedTerms, PreferenceState } from './preferences.js';
import { SETTINGS } from './registry.js';
import { Reader } from './validate.js';

export const PREFERENCES_FILE = 'policy/preferences.cbor';
const FILE_FORMAT = 1;

export async function savePreferences(storage: StoragePort, state: PreferenceState): Promise<void> {
  await storage.writeAtomic(PREFERENCES_FILE, encodePreferences(state));
}

/** The preference file's bytes (also what an owner-request intent carries as its target). */
export function encodePreferences(state: PreferenceState): Uint8Array {
  return encodeCbor({ format: FILE_FORMAT, ...state });
}

/** Read preference bytes back as untrusted input; throws TrustError('CORRUPT') naming the field. */
export function decodePreferences(bytes: Uint8Array): PreferenceState {
  return parseState(decodeCbor(bytes, { maxBytes: 256 * 1024, maxDepth: 8 }));
}

/** undefined: no file yet. 'corrupt': unreadable (the caller decides how to recover). */
export async function loadPreferences(storage: StoragePort): Promise<PreferenceState | undefined | 'corrupt'> {
  const bytes = await storage.read(PREFERENCES_FILE);
  if (bytes === undefined) return undefined;
  try {
    return decodePreferences(bytes);
  } catch (error) {
    if (isTrustError(error)) return 'corrupt';
    throw error;
  }
}

/** The file is our own, but storage can rot: it is read as untrusted input all the same. */
function parseState(raw: unknown): PreferenceState {
  const r: Reader = new Reader('CORRUPT');
  const top = r.record(raw, 'preferences');
  if (top.format !== FILE_FORMAT) r.fail('format', 'unknown preferences format');
  const categories: Record<string, CategoryPreference> = {};
  for (const [name, value] of Object.entries(r.record(top.categories, 'categories'))) {
    categories[name] = parseCategory(r, value, `categories.${name}`);
  }
  return {
    version: r.positiveInt(top.version, 'version'),
    deviceType: r.name(top.deviceType, 'deviceType'),
    registryVersion: r.positiveInt(top.registryVersion, 'registryVersion'),
    manifestReviewed: r.boolean(top.manifestReviewed, 'manifestReviewed'),
    categories,
  };
}

function parseCategory(r: Reader, raw: unknown, path: string): CategoryPreference {
  const c = r.record(raw, path);
  const pref: CategoryPreference = {
    setting: r.oneOf(c.setting, `${path}.setting`, SETTINGS),
    recipients: r.strings(c.recipients, `${path}.recipients`),
    pending: r.boolean(c.pending, `${path}.pending`),
    pendingChanges: r.array(c.pendingChanges, `${path}.pendingChanges`).map((s, i) => r.string(s, `${path}.pendingChanges[${i}]`)),
    unaccepted: r.boolean(c.unaccepted, `${path}.unaccepted`),
    terms: parseTerms(r, c.terms, `${path}.terms`),
  };
  if (c.level !== undefined) pref.level = r.string(c.level, `${path}.level`, 64);
  if (c.retentionMs !== undefined) pref.retentionMs = r.positiveInt(c.retentionMs, `${path}.retentionMs`);
  return pref;
}

function parseTerms(r: Reader, raw: unknown, path: string): ConsentedTerms {
  const t = r.record(raw, path);
  return {
    fields: r.strings(t.fields, `${path}.fields`),
    purposes: r.strings(t.purposes, `${path}.purposes`),
    recipients: r.strings(t.recipients, `${path}.recipients`),
    retentionMaxMs: r.nonNegativeInt(t.retentionMaxMs, `${path}.retentionMaxMs`),
    // Files written before this field existed: assume the narrowest default, so any wider one waits for consent.
    defaultSetting: t.defaultSetting === undefined ? 'off' : r.oneOf(t.defaultSetting, `${path}.defaultSetting`, ['off', 'local', 'minimised', 'full'] as const),
  };
}
