import { TrustError } from '../errors.js';
import type { GateOutput } from './contract.js';
import type { CounterSet } from './counters.js';
import type { CategoryPlan, FieldCheck } from './plan.js';
import { TrackSuppressor } from './track.js';
import { AggregationWindow, windowBounds } from './windows.js';

/** Unknown categories are counted under this name: the caller's string is not kept. */
export const UNKNOWN_CATEGORY = '?';

/**
 * The collection gate: every reading passes here before it touches storage or the network. Synchronous and
 * allocation-light: validation and transforms were compiled into the plans beforehand.
 */
export class Gate {
  private plans = new Map<string, CategoryPlan>();
  private readonly windows = new Map<string, AggregationWindow>();
  private readonly tracks = new Map<string, TrackSuppressor>();

  constructor(private readonly counters: CounterSet) {}

  /** Install new plans; windows and tracks of categories whose plan changed are discarded (counted). */
  setPlans(plans: Map<string, CategoryPlan>, changed: Iterable<string>): void {
    this.plans = plans;
    for (const category of changed) this.discard(category);
    for (const category of [...this.windows.keys(), ...this.tracks.keys()]) {
      if (!plans.has(category)) this.discard(category);
    }
  }

  plan(category: string): CategoryPlan | undefined {
    return this.plans.get(category);
  }

  collect(category: string, data: unknown, at: number): GateOutput[] {
    const plan = this.plans.get(category);
    if (plan === undefined) {
      this.counters.reject(UNKNOWN_CATEGORY);
      // Echo the name only when it looks like a category name: the caller's string could be anything.
      const shown = typeof category === 'string' && /^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(category) ? ` '${category}'` : '';
      throw new TrustError('INVALID_READING', `unknown category${shown}`);
    }
    const reading = this.validate(plan, data, at);
    if (plan.offReason !== undefined) {
      this.counters.drop(category, plan.offReason);
      return [];
    }
    if (plan.outputFields.length === 0) {
      this.counters.drop(category, 'no-fields');
      return [];
    }
    if (plan.aggregate !== undefined) return this.aggregate(plan, reading, at);
    const outAt = plan.truncateMs === undefined ? at : Math.floor(at / plan.truncateMs) * plan.truncateMs;
    const output = this.output(plan, this.minimise(plan, reading, at), outAt);
    if (plan.track !== undefined) return this.throughTrack(plan, reading, at, output);
    this.counters.accept(category);
    return [output];
  }

  /** Close every aggregation window that ends at or before `now`, and end tracks that went silent. */
  flushWindows(now: number): GateOutput[] {
    const out: GateOutput[] = [];
    for (const [category, window] of this.windows) {
      if (window.end > now) continue;
      this.windows.delete(category);
      this.close(category, window, out);
    }
    for (const [category, tracks] of this.tracks) this.counters.drop(category, 'track-edge', tracks.expire(now));
    return out;
  }

  nextWindowClose(): number | undefined {
    let next: number | undefined;
    for (const window of this.windows.values()) if (next === undefined || window.end < next) next = window.end;
    return next;
  }

  private discard(category: string): void {
    const window = this.windows.get(category);
    if (window !== undefined) this.counters.drop(category, 'policy-change', window.readings);
    this.windows.delete(category);
    const tracks = this.tracks.get(category);
    if (tracks !== undefined) this.counters.drop(category, 'policy-change', tracks.clear());
    this.tracks.delete(category);
  }

  private validate(plan: CategoryPlan, data: unknown, at: number): Record<string, unknown> {
    if (typeof at !== 'number' || !Number.isFinite(at) || at < 0) this.invalid(plan, 'at must be a non-negative finite number');
    if (data === null || typeof data !== 'object' || Array.isArray(data)) this.invalid(plan, 'data must be a flat map');
    const record = data as Record<string, unknown>;
    let seen = 0;
    for (const check of plan.checks) {
      if (!checkField(check, record[check.name])) this.invalid(plan, `field ${check.name} is missing or has the wrong type or range`);
      seen += 1;
    }
    let keys = 0;
    for (const key in record) if (Object.prototype.hasOwnProperty.call(record, key)) keys += 1;
    if (keys !== seen) this.invalid(plan, `data has fields the registry does not define${unknownFieldName(plan, record)}`);
    return record;
  }

  private invalid(plan: CategoryPlan, problem: string): never {
    this.counters.reject(plan.def.name);
    throw new TrustError('INVALID_READING', `${plan.def.name}: ${problem}`);
  }

  private minimise(plan: CategoryPlan, reading: Record<string, unknown>, at: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const field of plan.outputs) {
      const value = reading[field.name];
      out[field.name] = field.fn === null ? value : field.fn(value, at);
    }
    return out;
  }

  private output(plan: CategoryPlan, data: Record<string, unknown>, at: number): GateOutput {
    const out: GateOutput = { category: plan.def.name, at, data, expiresAt: at + plan.retentionMs, transmit: plan.transmit, essential: plan.def.essential };
    if (plan.transmit) out.recipients = plan.recipients;
    return out;
  }

  private throughTrack(plan: CategoryPlan, reading: Record<string, unknown>, at: number, output: GateOutput): GateOutput[] {
    const rule = plan.track;
    if (rule === undefined) return [output];
    let tracks = this.tracks.get(plan.def.name);
    if (tracks === undefined) {
      tracks = new TrackSuppressor(rule);
      this.tracks.set(plan.def.name, tracks);
    }
    const step = tracks.push(reading[rule.trackId] as string, reading[rule.lat] as number, reading[rule.lon] as number, at, output);
    this.counters.drop(plan.def.name, 'track-edge', step.suppressed);
    for (let i = 0; i < step.released.length; i++) this.counters.accept(plan.def.name);
    return step.released;
  }

  private aggregate(plan: CategoryPlan, reading: Record<string, unknown>, at: number): GateOutput[] {
    const rule = plan.aggregate;
    if (rule === undefined) return [];
    const category = plan.def.name;
    const out: GateOutput[] = [];
    let window = this.windows.get(category);
    if (window !== undefined && at < window.start && at >= window.start - rule.windowMs) {
      // A late reading for the window just reported: adding it would rewrite a sent summary.
      this.counters.drop(category, 'late-for-window');
      return out;
    }
    // Later than the open window, or so much earlier that the wall clock must have jumped back: close and restart,
    // rather than drop everything until the clock catches up again.
    if (window !== undefined && (at >= window.end || at < window.start)) {
      this.windows.delete(category);
      this.close(category, window, out);
      window = undefined;
    }
    if (window === undefined) {
      const { start, end } = windowBounds(rule, at);
      window = new AggregationWindow(start, end, rule.outputs);
      this.windows.set(category, window);
    }
    window.add(reading, at);
    return out;
  }

  private close(category: string, window: AggregationWindow, out: GateOutput[]): void {
    const plan = this.plans.get(category);
    if (plan === undefined || plan.aggregate === undefined) return;
    if (window.readings < plan.aggregate.minReadings) {
      this.counters.drop(category, 'small-count', window.readings);
      return;
    }
    for (let i = 0; i < window.readings; i++) this.counters.accept(category);
    out.push(this.output(plan, window.result(), window.end));
  }
}

function checkField(check: FieldCheck, value: unknown): boolean {
  const def = check.def;
  switch (def.type) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) && (def.min === undefined || value >= def.min) && (def.max === undefined || value <= def.max);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string' && value.length > 0 && value.length <= def.maxLength;
    case 'enum':
      return typeof value === 'string' && check.values !== undefined && check.values.has(value);
  }
}

/** Error path only: name the first undefined field when it looks like a field name (the key could be anything). */
function unknownFieldName(plan: CategoryPlan, record: Record<string, unknown>): string {
  const known = new Set(plan.checks.map((check) => check.name));
  const extra = Object.keys(record).find((key) => !known.has(key));
  return extra !== undefined && /^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(extra) ? ` (${extra})` : '';
}
