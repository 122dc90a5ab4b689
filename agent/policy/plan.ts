import type { Setting } from './contract.js';
import type { CategoryPreference } from './preferences.js';
import type { Pseudonymiser } from './pseudonym.js';
import type { AggregateRule, CategoryDef, FieldDef, MinimiseLevel, TrackRule } from './registry-types.js';
import { compileChain, type FieldFn } from './transforms.js';

export type OffReason = 'off' | 'first-run' | 'pending-consent';

/** Compiled reading validator for one field: checked without allocation on the hot path. */
export interface FieldCheck {
  name: string;
  def: FieldDef;
  values: Set<string> | undefined;
}

export interface OutputField {
  name: string;
  /** null: copied unchanged. */
  fn: FieldFn | null;
}

/**
 * Everything the gate needs for one category under the current registry and preferences, compiled once per
 * change so `collect()` only runs straight-line code. The manifest is built from the same plans.
 */
export interface CategoryPlan {
  def: CategoryDef;
  checks: FieldCheck[];
  setting: Setting;
  effective: Setting;
  offReason: OffReason | undefined;
  level: MinimiseLevel | undefined;
  transmit: boolean;
  recipients: string[];
  retentionMs: number;
  /** Fields of every output before aggregation (registry order); for aggregates, the aggregate outputs instead. */
  outputs: OutputField[];
  truncateMs: number | undefined;
  track: TrackRule | undefined;
  aggregate: AggregateRule | undefined;
  /** Exact field names of every output (empty when off). */
  outputFields: string[];
}

export function compilePlan(def: CategoryDef, pref: CategoryPreference, reviewed: boolean, pseudonymiser: Pseudonymiser): CategoryPlan {
  const offReason = offReasonOf(def, pref, reviewed);
  const effective: Setting = offReason === undefined ? pref.setting : 'off';
  // While an update is pending, only what the owner consented to before may flow.
  const allowed = pref.pending ? new Set(pref.terms.fields) : undefined;
  const fieldNames = Object.keys(def.fields).filter((f) => allowed === undefined || allowed.has(f));
  const level = effective === 'minimised' ? def.minimise.find((l) => l.name === pref.level) ?? def.minimise[0] : undefined;
  const recipients = pref.recipients.filter((id) => def.recipients.includes(id) && (!pref.pending || pref.terms.recipients.includes(id)));
  const sends = effective === 'minimised' || effective === 'full';
  const plan: CategoryPlan = {
    def,
    checks: Object.entries(def.fields).map(([name, fd]) => ({ name, def: fd, values: fd.type === 'enum' ? new Set(fd.values) : undefined })),
    setting: pref.setting,
    effective,
    offReason,
    level,
    transmit: sends && recipients.length > 0,
    // Shared by every output of the plan: frozen so no consumer can edit another output's recipients.
    recipients: Object.freeze(sends ? recipients : []) as string[],
    retentionMs: retentionOf(def, pref),
    outputs: [],
    truncateMs: level?.truncateTimeMs,
    track: level?.track,
    aggregate: undefined,
    outputFields: [],
  };
  if (effective === 'off') return plan;
  if (level?.aggregate !== undefined) {
    plan.aggregate = maskAggregate(level.aggregate, allowed);
    plan.outputFields = Object.keys(plan.aggregate.outputs);
    return plan;
  }
  for (const name of fieldNames) {
    const fn = level === undefined ? null : compileChain(level.fields?.[name], `${def.name}.${name}`, pseudonymiser);
    if (fn !== undefined) plan.outputs.push({ name, fn });
  }
  // A track rule needs its coordinates; if consent masked one away, the whole reading is withheld.
  if (plan.track !== undefined && !(fieldNames.includes(plan.track.lat) && fieldNames.includes(plan.track.lon) && fieldNames.includes(plan.track.trackId))) {
    plan.outputs = [];
  }
  plan.outputFields = plan.outputs.map((o) => o.name);
  return plan;
}

function offReasonOf(def: CategoryDef, pref: CategoryPreference, reviewed: boolean): OffReason | undefined {
  if (pref.unaccepted) return 'pending-consent';
  if (pref.setting === 'off') return 'off';
  if (!reviewed && !def.essential) return 'first-run';
  return undefined;
}

export function retentionOf(def: CategoryDef, pref: CategoryPreference): number {
  let ms = Math.min(def.retentionMaxMs, pref.retentionMs ?? Infinity);
  if (pref.pending) ms = Math.min(ms, pref.terms.retentionMaxMs);
  return ms;
}

function maskAggregate(rule: AggregateRule, allowed: Set<string> | undefined): AggregateRule {
  if (allowed === undefined) return rule;
  const outputs: AggregateRule['outputs'] = {};
  for (const [name, spec] of Object.entries(rule.outputs)) {
    if (spec.field === undefined || allowed.has(spec.field)) outputs[name] = spec;
  }
  return { ...rule, outputs };
}
