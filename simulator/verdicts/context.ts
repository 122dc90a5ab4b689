import { DEFAULT_HOME, DEFAULT_HOUSEHOLD, type GeoPoint, type HouseholdMember } from '../models/types.js';
import type { ScenarioDevice } from '../scenario/types.js';
import type { Evidence, Verdict } from './evidence.js';
import { createRawCache, type RawCache } from './raw.js';
import { buildTimeline, clockSlack, type Timeline } from './timeline.js';

/** What every verdict needs, computed once. */
export interface CheckContext {
  evidence: Evidence;
  timeline: Timeline;
  bound: number;
  /** Each device by id: its type and, for a custom type, the registry its rules derive from. */
  devices: Map<string, ScenarioDevice>;
  slack: Map<string, number>;
  household: readonly HouseholdMember[];
  home: GeoPoint;
  /** What the devices recorded, replayed from their models or traces on first use (raw.ts). */
  raw: RawCache;
}

export function createContext(evidence: Evidence): CheckContext {
  const { scenario } = evidence;
  return {
    evidence,
    timeline: buildTimeline(scenario),
    bound: scenario.enforcementBoundMs,
    devices: new Map(scenario.devices.map((d) => [d.id, d])),
    slack: new Map(scenario.devices.map((d) => [d.id, clockSlack(scenario, d.id)])),
    household: evidence.household ?? DEFAULT_HOUSEHOLD,
    home: evidence.home ?? scenario.home ?? DEFAULT_HOME,
    raw: createRawCache(),
  };
}

/** Collects violations for one verdict and turns them into the verdict. */
export class Tally {
  checked = 0;
  /** What `checked` is made of when it adds up different things (delivered readings + stored-record rows). */
  private readonly parts = new Map<string, number>();
  violations = 0;
  first: unknown;
  readonly details: Record<string, number | string> = {};

  /** One more item checked, counted under `part` in the summary's breakdown. */
  check(part: string): void {
    this.checked++;
    this.parts.set(part, (this.parts.get(part) ?? 0) + 1);
  }

  violation(record: unknown, why: string): void {
    this.violations++;
    this.details[why] = (Number(this.details[why]) || 0) + 1;
    if (this.first === undefined) this.first = { why, record };
  }

  verdict(id: string, title: string, what: string, extraFailure?: string): Verdict {
    const vacuous = this.checked === 0;
    const pass = this.violations === 0 && !vacuous && extraFailure === undefined;
    // A total that adds up different things says so, or "Checked 217952" next to 9960 readings reads as a mistake.
    const made = this.parts.size > 1 ? ` (${[...this.parts].map(([part, n]) => `${n} ${part}`).join(' + ')})` : '';
    const summary = extraFailure ?? (vacuous ? `nothing to check: no ${what} in the evidence`
      : this.violations === 0 ? `${this.checked} ${what} checked${made}, all compliant`
      : `${this.violations} of ${this.checked} ${what} violate${made}`);
    const verdict: Verdict = { id, title, pass, checked: this.checked, violations: this.violations, summary };
    if (this.first !== undefined) verdict.firstOffending = this.first;
    if (Object.keys(this.details).length > 0) verdict.details = this.details;
    return verdict;
  }
}
