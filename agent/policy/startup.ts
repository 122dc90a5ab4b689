import type { PurgeOrder } from './contract.js';
import type { CategoryPlan } from './plan.js';
import type { CategoryPreference, PreferenceState } from './preferences.js';
import { purgesFor } from './purges.js';
import type { CategoryDef, Registry } from './registry-types.js';
import type { RegistryDiff } from './update.js';

type Compile = (def: CategoryDef, pref: CategoryPreference) => CategoryPlan;

/**
 * Purges for a registry change found at boot (new firmware): the old registry is gone, so the old side is
 * reconstructed from the stored preferences and the terms they were consented under.
 */
export function startupPurges(stored: PreferenceState, diff: RegistryDiff, registry: Registry, compile: Compile): PurgeOrder[] {
  const orders: PurgeOrder[] = [];
  for (const name of diff.removed) orders.push({ category: name, scope: 'all', reason: 'withdrawn' });
  for (const def of registry.categories) {
    const oldPref = stored.categories[def.name];
    const newPref = diff.state.categories[def.name];
    if (oldPref === undefined || newPref === undefined) continue;
    // The old side, seen through the terms it ran under (the old field list, recipients, retention).
    const before = compile(def, { ...oldPref, pending: true });
    const after = compile(def, newPref);
    if (before.effective === 'off') continue;
    orders.push(...purgesFor(before, after, def.name));
    if (oldPref.terms.fields.some((f) => def.fields[f] === undefined)) orders.push({ category: def.name, scope: 'all', reason: 'narrowed' });
    const oldRetention = Math.min(oldPref.terms.retentionMaxMs, oldPref.retentionMs ?? Infinity);
    if (after.retentionMs < oldRetention) orders.push({ category: def.name, scope: 'all', maxAgeMs: after.retentionMs, reason: 'retention' });
    const oldRecipients = oldPref.recipients.filter((id) => oldPref.terms.recipients.includes(id));
    if (before.transmit && oldRecipients.some((id) => !after.recipients.includes(id))) orders.push({ category: def.name, scope: 'queued', reason: 'narrowed' });
  }
  return orders;
}

/** One order per category and kind: a full purge makes a queued one redundant; the shortest retention wins. */
export function mergePurges(orders: PurgeOrder[]): PurgeOrder[] {
  const byCategory = new Map<string, PurgeOrder[]>();
  for (const order of orders) {
    const list = byCategory.get(order.category) ?? [];
    list.push(order);
    byCategory.set(order.category, list);
  }
  const merged: PurgeOrder[] = [];
  for (const list of byCategory.values()) {
    const full = list.find((o) => o.scope === 'all' && o.maxAgeMs === undefined);
    const queued = list.find((o) => o.scope === 'queued');
    if (full !== undefined) merged.push(full);
    else if (queued !== undefined) merged.push(queued);
    if (full?.reason === 'withdrawn') continue;
    const retention = list.filter((o) => o.maxAgeMs !== undefined).sort((a, b) => (a.maxAgeMs ?? 0) - (b.maxAgeMs ?? 0))[0];
    if (retention !== undefined) merged.push(retention);
  }
  return merged;
}
