import type { Setting } from './contract.js';
import type { CategoryDef, Registry } from './registry-types.js';
import { settingRank } from './registry.js';
import { Reader } from './validate.js';

/** The terms of a category the owner (or the first-run review) agreed to; a later registry may not exceed them silently. */
export interface ConsentedTerms {
  fields: string[];
  purposes: string[];
  recipients: string[];
  retentionMaxMs: number;
  /** The registry default the owner's defaults were agreed under: an update may not raise it silently (a reset uses it). */
  defaultSetting: Setting;
}

export interface CategoryPreference {
  setting: Setting;
  /** Minimisation level; absent = the registry's first level. */
  level?: string;
  /** Recipients the owner lets this category go to (subset of the registry's). */
  recipients: string[];
  /** Owner's retention, shorter than the registry maximum; absent = the maximum. */
  retentionMs?: number;
  /** A registry update widened this category and the owner has not accepted yet. */
  pending: boolean;
  /** Plain list of what is pending (e.g. 'new field: hrv'). */
  pendingChanges: string[];
  /** A category the owner has never accepted at all (added by an update): collected not at all until accepted. */
  unaccepted: boolean;
  terms: ConsentedTerms;
}

export interface PreferenceState {
  version: number;
  deviceType: string;
  registryVersion: number;
  manifestReviewed: boolean;
  categories: Record<string, CategoryPreference>;
}

export function termsOf(def: CategoryDef): ConsentedTerms {
  return {
    fields: Object.keys(def.fields), purposes: [...def.purposes], recipients: [...def.recipients], retentionMaxMs: def.retentionMaxMs,
    defaultSetting: def.default,
  };
}

/** Privacy-protective defaults: the registry's default setting, the first (primary) recipient only, maximum retention. */
export function defaultPreference(def: CategoryDef): CategoryPreference {
  return { setting: def.default, recipients: def.recipients.slice(0, 1), pending: false, pendingChanges: [], unaccepted: false, terms: termsOf(def) };
}

export function initialState(registry: Registry): PreferenceState {
  const categories: Record<string, CategoryPreference> = {};
  for (const def of registry.categories) categories[def.name] = defaultPreference(def);
  return { version: 1, deviceType: registry.deviceType, registryVersion: registry.version, manifestReviewed: false, categories };
}

export function cloneState(state: PreferenceState): PreferenceState {
  const categories: Record<string, CategoryPreference> = {};
  for (const [name, pref] of Object.entries(state.categories)) {
    categories[name] = { ...pref, recipients: [...pref.recipients], pendingChanges: [...pref.pendingChanges], terms: { ...pref.terms } };
  }
  return { ...state, categories };
}

const PATCH_KEYS = ['categories', 'manifestReviewed'] as const;
const CATEGORY_PATCH_KEYS = ['setting', 'level', 'recipients', 'retentionMs'] as const;

/**
 * Apply an owner's patch to a copy of the state, validating every part against the registry first. Throws
 * TrustError('INVALID_PREFERENCE') naming the field (e.g. `categories.safety-alert.setting: ...`); the input
 * state is never touched. Returns the new state (version not yet bumped).
 *
 * Patch: { categories?: { [name]: { setting?, level?, recipients?, retentionMs?: number | null } }, manifestReviewed?: true }
 */
export function applyPreferencePatch(state: PreferenceState, registry: Registry, patch: unknown): PreferenceState {
  const r: Reader = new Reader('INVALID_PREFERENCE');
  const top = r.record(patch, 'patch', PATCH_KEYS);
  const next = cloneState(state);
  if (top.manifestReviewed !== undefined) {
    if (top.manifestReviewed !== true) r.fail('manifestReviewed', 'can only be set to true');
    next.manifestReviewed = true;
  }
  if (top.categories === undefined) return next;
  const entries = Object.entries(r.record(top.categories, 'categories'));
  if (entries.length > 64) r.fail('categories', 'too many entries');
  for (const [name, raw] of entries) {
    const path = `categories.${name}`;
    const def = registry.categories.find((c) => c.name === name);
    const current = next.categories[name];
    if (def === undefined || current === undefined) r.fail(path, 'unknown category');
    next.categories[name] = patchCategory(r, def, current, r.record(raw, path, CATEGORY_PATCH_KEYS), path);
  }
  return next;
}

function patchCategory(r: Reader, def: CategoryDef, current: CategoryPreference, p: Record<string, unknown>, path: string): CategoryPreference {
  const next: CategoryPreference = { ...current, recipients: [...current.recipients] };
  if (p.setting !== undefined) {
    const setting = r.oneOf(p.setting, `${path}.setting`, ['off', 'local', 'minimised', 'full'] as const);
    if (!def.settings.includes(setting)) {
      r.fail(`${path}.setting`, def.safety ? 'safety data cannot be turned off or kept local' : `'${setting}' is not offered for this category`);
    }
    // An update the owner has not accepted may not be widened into by the back door. A wider default alone is not a
    // change of what the category collects: the owner choosing a setting explicitly is the consent it needs.
    if ((current.unaccepted || (current.pending && !onlyDefaultWidened(current))) && settingRank(setting) > settingRank(current.setting)) {
      r.fail(`${path}.setting`, 'pending consent: accept the updated terms first');
    }
    next.setting = setting;
  }
  if (p.level !== undefined) {
    const level = r.string(p.level, `${path}.level`, 64);
    if (!def.minimise.some((l) => l.name === level)) r.fail(`${path}.level`, 'unknown minimisation level');
    next.level = level;
  }
  if (p.recipients !== undefined) {
    const recipients = r.strings(p.recipients, `${path}.recipients`, 16);
    recipients.forEach((id, i) => {
      if (!def.recipients.includes(id)) r.fail(`${path}.recipients[${i}]`, 'recipient not allowed for this category');
      if (current.pending && !current.terms.recipients.includes(id)) r.fail(`${path}.recipients[${i}]`, 'pending consent: accept the updated terms first');
    });
    next.recipients = recipients;
  }
  if (p.retentionMs === null) delete next.retentionMs;
  else if (p.retentionMs !== undefined) next.retentionMs = r.positiveInt(p.retentionMs, `${path}.retentionMs`, def.retentionMaxMs);
  const sends = next.setting === 'minimised' || next.setting === 'full';
  if (sends && next.recipients.length === 0) r.fail(`${path}.recipients`, 'a category that is sent needs at least one recipient');
  return next;
}

function onlyDefaultWidened(pref: CategoryPreference): boolean {
  return pref.pendingChanges.length > 0 && pref.pendingChanges.every((change) => change.startsWith('wider default'));
}

/** Defaults again for every category; consent status (pending, terms) is kept: a reset is not an acceptance. */
export function resetState(state: PreferenceState, registry: Registry, forgetReview: boolean): PreferenceState {
  const next = cloneState(state);
  for (const def of registry.categories) {
    const current = next.categories[def.name];
    if (current === undefined) continue;
    const fresh = defaultPreference(def);
    // Under pending consent a reset may narrow but never widen: the new default is part of the unaccepted terms.
    const setting = current.pending && settingRank(fresh.setting) > settingRank(current.setting) ? current.setting : fresh.setting;
    next.categories[def.name] = current.unaccepted
      ? { ...current, setting: 'off', recipients: fresh.recipients }
      : { ...fresh, setting, pending: current.pending, pendingChanges: current.pendingChanges, terms: current.terms };
  }
  if (forgetReview) next.manifestReviewed = false;
  return next;
}
