import { DEFAULT_HOME, DEFAULT_HOUSEHOLD, type DeviceType, type GeoPoint, type HouseholdMember } from '../models/types.js';
import { modelFor } from '../scenario/devices.js';
import type { Evidence, Verdict } from './evidence.js';
import { buildTimeline, clockSlack, type Timeline } from './timeline.js';

/** What every verdict needs, computed once. */
export interface CheckContext {
  evidence: Evidence;
  timeline: Timeline;
  bound: number;
  types: Map<string, DeviceType>;
  slack: Map<string, number>;
  household: readonly HouseholdMember[];
  home: GeoPoint;
  /** Raw GPS points per tracker, replayed from its model on first use. */
  rawLocations: Map<string, Map<number, RawPoint>>;
}

export function createContext(evidence: Evidence): CheckContext {
  const { scenario } = evidence;
  return {
    evidence,
    timeline: buildTimeline(scenario),
    bound: scenario.enforcementBoundMs,
    types: new Map(scenario.devices.map((d) => [d.id, d.type])),
    slack: new Map(scenario.devices.map((d) => [d.id, clockSlack(scenario, d.id)])),
    household: evidence.household ?? DEFAULT_HOUSEHOLD,
    home: evidence.home ?? scenario.home ?? DEFAULT_HOME,
    rawLocations: new Map(),
  };
}

/** A raw GPS point of the tracker's model, with its path distance from the start and to the end of its track. */
export interface RawPoint {
  lat: number;
  lon: number;
  trackId: string;
  fromStartM: number;
  toEndM: number;
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

/** The raw GPS point the tracker's model produced at `at` (undefined when there was none, e.g. clock skew). */
export function rawLocationAt(ctx: CheckContext, deviceId: string, at: number): RawPoint | undefined {
  let points = ctx.rawLocations.get(deviceId);
  if (!points) {
    points = new Map();
    const { scenario } = ctx.evidence;
    const device = scenario.devices.find((d) => d.id === deviceId);
    if (device?.type === 'fitness-tracker') {
      const model = modelFor(scenario, device, ctx.evidence.household);
      const tracks = new Map<string, Array<{ at: number; lat: number; lon: number }>>();
      for (const r of model.step(scenario.startMs, Math.max(ctx.evidence.runEndMs, scenario.endMs))) {
        if (r.category !== 'location') continue;
        const d = r.data as { lat: number; lon: number; trackId: string };
        const track = tracks.get(d.trackId) ?? [];
        tracks.set(d.trackId, track);
        track.push({ at: r.at, lat: d.lat, lon: d.lon });
      }
      for (const [trackId, track] of tracks) addTrack(points, trackId, track);
    }
    ctx.rawLocations.set(deviceId, points);
  }
  return points.get(at);
}

/** Path lengths along the track as recorded (noise included: the same points the agent sees). */
function addTrack(points: Map<number, RawPoint>, trackId: string, track: Array<{ at: number; lat: number; lon: number }>): void {
  const cumulative: number[] = [0];
  for (let i = 1; i < track.length; i++) {
    const a = track[i - 1];
    const b = track[i];
    cumulative.push((cumulative[i - 1] ?? 0) + (a && b ? metres(a, b) : 0));
  }
  const total = cumulative[cumulative.length - 1] ?? 0;
  track.forEach((p, i) => {
    const fromStartM = cumulative[i] ?? 0;
    points.set(p.at, { lat: p.lat, lon: p.lon, trackId, fromStartM, toEndM: total - fromStartM });
  });
}

function metres(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const north = (b.lat - a.lat) * 111_320;
  const east = (b.lon - a.lon) * 111_320 * Math.cos((((a.lat + b.lat) / 2) * Math.PI) / 180);
  return Math.hypot(north, east);
}
