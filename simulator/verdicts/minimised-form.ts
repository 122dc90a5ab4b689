import type { CategoryDef, FieldTransform, MinimiseLevel } from '../../agent/policy/registry-types.js';
import { categoryDef } from './data-model.js';
import type { DeliveredRecord } from './evidence.js';
import type { CheckContext } from './context.js';
import { rawTrackPointAt, rawValues } from './raw.js';

const EPS = 1e-9;
/** Floating-point slack of the path-length sums of a track (metres). */
const TRACK_SLACK_M = 1;

const isMultiple = (value: unknown, step: number): boolean =>
  typeof value === 'number' && Math.abs(value / step - Math.round(value / step)) < EPS * Math.max(1, Math.abs(value / step));

/**
 * Why a record sent while the owner's choice was 'minimised' is not in the minimised form its registry declares,
 * or undefined when it is. The form is the category's first level (the one 'minimised' means when no level is
 * chosen, as in every scenario): an aggregate carries exactly its outputs at a window boundary; otherwise only the
 * category's fields, each as the last transform of its chain leaves it (a dropped field absent, a rounded, bucketed or
 * gridded number a multiple of its step, a classified value one of the classes, a pseudonym none of the raw values the
 * device recorded), the timestamp a multiple of the truncation, and no point of a track within `suppressMeters` of
 * path of its start or end (measured on the raw track, replayed from the device's model or trace).
 */
export function minimisationProblem(ctx: CheckContext, r: DeliveredRecord): string | undefined {
  const device = ctx.devices.get(r.deviceId);
  const category = device === undefined ? undefined : categoryDef(device, r.category);
  if (device === undefined || category === undefined) return `category ${r.category} is not in the registry of ${r.deviceId}`;
  const level = category.minimise[0];
  if (level === undefined) return `category ${category.name} has no minimisation level but was sent minimised`;
  if (level.aggregate !== undefined) return aggregateProblem(r, level);
  return fieldsProblem(ctx, r, category, level) ?? timeProblem(r, level) ?? trackProblem(ctx, r, level);
}

function aggregateProblem(r: DeliveredRecord, level: MinimiseLevel): string | undefined {
  const rule = level.aggregate;
  if (rule === undefined) return undefined;
  const outputs = new Set(Object.keys(rule.outputs));
  for (const name of Object.keys(r.data)) if (!outputs.has(name)) return `field ${name} sent instead of the ${level.name} aggregate`;
  if ((((r.at - rule.offsetMs) % rule.windowMs) + rule.windowMs) % rule.windowMs !== 0) {
    return `not a ${level.name} aggregate (timestamp off the ${duration(rule.windowMs)} window boundary)`;
  }
  return undefined;
}

function fieldsProblem(ctx: CheckContext, r: DeliveredRecord, category: CategoryDef, level: MinimiseLevel): string | undefined {
  for (const name of Object.keys(r.data)) if (!(name in category.fields)) return `field ${name} is not a field of ${category.name}`;
  for (const [field, chain] of Object.entries(level.fields ?? {})) {
    const last = chain[chain.length - 1];
    const problem = last === undefined ? undefined : fieldProblem(ctx, r, field, last);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function fieldProblem(ctx: CheckContext, r: DeliveredRecord, field: string, op: FieldTransform): string | undefined {
  if (op.op === 'drop') return field in r.data ? `field ${field} sent though the level drops it` : undefined;
  if (!(field in r.data)) return undefined; // an optional field the reading did not carry
  const value = r.data[field];
  switch (op.op) {
    case 'round':
      return isMultiple(value, op.step) ? undefined : `${field} not rounded to ${op.step}`;
    case 'bucket':
      return isMultiple(value, op.size) ? undefined : `${field} not bucketed to ${op.size}`;
    case 'grid':
      return isMultiple(value, op.cell) ? undefined : `${field} precision beyond the ${op.cell} grid`;
    case 'classify':
      return Object.values(op.classes).includes(String(value)) ? undefined : `${field} sent exactly instead of its class`;
    case 'pseudonymise':
      return rawValues(ctx, r.deviceId, r.category, field).has(String(value)) ? `raw ${field} sent instead of a pseudonym` : undefined;
  }
}

function timeProblem(r: DeliveredRecord, level: MinimiseLevel): string | undefined {
  if (level.truncateTimeMs === undefined || r.at % level.truncateTimeMs === 0) return undefined;
  return `timestamp not truncated to ${duration(level.truncateTimeMs)} (level ${level.name})`;
}

function trackProblem(ctx: CheckContext, r: DeliveredRecord, level: MinimiseLevel): string | undefined {
  const rule = level.track;
  if (rule === undefined) return undefined;
  // A coarse cell cannot show where on its track a point was: the raw point recorded at the same time can.
  const raw = rawTrackPointAt(ctx, r.deviceId, r.category, rule, r.at);
  if (raw === undefined) return undefined;
  const near = rule.suppressMeters - TRACK_SLACK_M;
  if (raw.fromStartM < near) return `point within the first ${rule.suppressMeters} m of its track (track start not suppressed)`;
  return raw.toEndM < near ? `point within the last ${rule.suppressMeters} m of its track (track end not suppressed)` : undefined;
}

function duration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;
}
