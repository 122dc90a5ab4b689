import type { Setting } from './contract.js';
import { cloneState, defaultPreference, termsOf, type CategoryPreference, type ConsentedTerms, type PreferenceState } from './preferences.js';
import { settingRank } from './registry.js';
import type { CategoryDef, Registry } from './registry-types.js';

export interface RegistryDiff {
  state: PreferenceState;
  /** Categories whose terms got wider; they stay at the consented terms until accepted. */
  widened: string[];
  /** Categories whose terms or allowed settings got narrower; applied at once. */
  narrowed: string[];
  /** Categories gone from the registry. */
  removed: string[];
}

/**
 * Carry the owner's preferences over to a new registry (firmware or policy update), by the rule "no silent change
 * of terms": wider terms (new category, field, purpose, recipient, longer retention) leave the category at its
 * consented terms and mark it pending consent; narrower terms apply at once; owner settings survive unless the new
 * registry no longer offers them, in which case the nearest narrower setting is used.
 */
export function carryOver(previous: PreferenceState, next: Registry): RegistryDiff {
  const state = cloneState(previous);
  const diff: RegistryDiff = { state, widened: [], narrowed: [], removed: [] };
  const categories: Record<string, CategoryPreference> = {};
  for (const def of next.categories) {
    const old = state.categories[def.name];
    categories[def.name] = old === undefined ? newCategory(def, diff) : carryCategory(def, old, diff);
  }
  for (const name of Object.keys(state.categories)) if (categories[name] === undefined) diff.removed.push(name);
  state.categories = categories;
  state.registryVersion = next.version;
  return diff;
}

function newCategory(def: CategoryDef, diff: RegistryDiff): CategoryPreference {
  diff.widened.push(def.name);
  // Safety data cannot wait for consent (and cannot be off); everything else starts unaccepted and off.
  if (def.safety) return defaultPreference(def);
  return {
    ...defaultPreference(def),
    setting: def.settings.includes('off') ? 'off' : def.default,
    pending: true,
    unaccepted: true,
    pendingChanges: ['new category'],
    terms: { fields: [], purposes: [], recipients: [], retentionMaxMs: 0, defaultSetting: 'off' },
  };
}

function carryCategory(def: CategoryDef, old: CategoryPreference, diff: RegistryDiff): CategoryPreference {
  const pref: CategoryPreference = { ...old, recipients: old.recipients.filter((id) => def.recipients.includes(id)) };
  let narrowed = pref.recipients.length < old.recipients.length;
  const setting = nearestAllowed(def, old.setting);
  if (setting !== old.setting) narrowed = true;
  pref.setting = setting;
  if (pref.level !== undefined && !def.minimise.some((l) => l.name === pref.level)) delete pref.level;
  if (pref.retentionMs !== undefined && pref.retentionMs > def.retentionMaxMs) delete pref.retentionMs;
  if ((pref.setting === 'minimised' || pref.setting === 'full') && pref.recipients.length === 0) {
    pref.setting = nearestAllowed(def, 'local');
    narrowed = true;
  }
  if (pref.unaccepted) {
    pref.pendingChanges = ['new category'];
    return pref;
  }
  const current = termsOf(def);
  const wider = widening(old.terms, current);
  const kept = intersect(old.terms, current);
  if (kept.fields.length < old.terms.fields.length || kept.purposes.length < old.terms.purposes.length) narrowed = true;
  if (kept.recipients.length < old.terms.recipients.length || kept.retentionMaxMs < old.terms.retentionMaxMs) narrowed = true;
  if (narrowed) diff.narrowed.push(def.name);
  if (wider.length > 0) {
    diff.widened.push(def.name);
    return { ...pref, pending: true, pendingChanges: wider, terms: kept };
  }
  return { ...pref, pending: false, pendingChanges: [], terms: current };
}

/** The owner's setting if still offered, else the widest offered setting narrower than it, else the narrowest offered. */
function nearestAllowed(def: CategoryDef, setting: Setting): Setting {
  if (def.settings.includes(setting)) return setting;
  const narrower = def.settings.filter((s) => settingRank(s) < settingRank(setting)).sort((a, b) => settingRank(b) - settingRank(a));
  return narrower[0] ?? [...def.settings].sort((a, b) => settingRank(a) - settingRank(b))[0] ?? 'off';
}

function widening(terms: ConsentedTerms, current: ConsentedTerms): string[] {
  const changes: string[] = [];
  for (const f of current.fields) if (!terms.fields.includes(f)) changes.push(`new field: ${f}`);
  for (const p of current.purposes) if (!terms.purposes.includes(p)) changes.push(`new purpose: ${p}`);
  for (const r of current.recipients) if (!terms.recipients.includes(r)) changes.push(`new recipient: ${r}`);
  if (current.retentionMaxMs > terms.retentionMaxMs) changes.push(`longer retention: ${current.retentionMaxMs} ms`);
  if (settingRank(current.defaultSetting) > settingRank(terms.defaultSetting)) changes.push(`wider default: ${current.defaultSetting}`);
  return changes;
}

function intersect(a: ConsentedTerms, b: ConsentedTerms): ConsentedTerms {
  return {
    fields: a.fields.filter((f) => b.fields.includes(f)),
    purposes: a.purposes.filter((p) => b.purposes.includes(p)),
    recipients: a.recipients.filter((r) => b.recipients.includes(r)),
    retentionMaxMs: Math.min(a.retentionMaxMs, b.retentionMaxMs),
    defaultSetting: settingRank(a.defaultSetting) <= settingRank(b.defaultSetting) ? a.defaultSetting : b.defaultSetting,
  };
}

/** The owner accepts the current terms of these categories; never-accepted categories start at their default. */
export function acceptTerms(state: PreferenceState, registry: Registry, names: string[]): PreferenceState {
  const next = cloneState(state);
  for (const name of names) {
    const def = registry.categories.find((c) => c.name === name);
    const pref = next.categories[name];
    if (def === undefined || pref === undefined) continue;
    const base = pref.unaccepted ? defaultPreference(def) : pref;
    next.categories[name] = { ...base, pending: false, unaccepted: false, pendingChanges: [], terms: termsOf(def) };
  }
  return next;
}
