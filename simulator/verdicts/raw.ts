import type { TrackRule } from '../../agent/policy/registry-types.js';
import type { Reading } from '../models/types.js';
import { modelFor } from '../scenario/devices.js';
import type { CheckContext } from './context.js';

/**
 * What a device recorded before its agent saw it, replayed from the device's model (same seed) or its trace: the
 * checker needs it where the minimised form alone cannot tell right from wrong (a pseudonym from a raw value, where
 * on its track a coarse point lay). Replayed lazily, once per device and category, only for categories that need it.
 */
export interface RawPoint {
  lat: number;
  lon: number;
  trackId: string;
  /** Path length from the track's first point, and from this point to the track's last. */
  fromStartM: number;
  toEndM: number;
}

export interface RawCache {
  readings: Map<string, Reading[]>;
  values: Map<string, Set<string>>;
  tracks: Map<string, Map<number, RawPoint>>;
}

export function createRawCache(): RawCache {
  return { readings: new Map(), values: new Map(), tracks: new Map() };
}

function rawReadings(ctx: CheckContext, deviceId: string, category: string): Reading[] {
  const key = `${deviceId}\u0000${category}`;
  let readings = ctx.raw.readings.get(key);
  if (readings === undefined) {
    const { scenario } = ctx.evidence;
    const device = ctx.devices.get(deviceId);
    readings = device === undefined ? [] : modelFor(scenario, device, ctx.evidence.household)
      .step(scenario.startMs, Math.max(ctx.evidence.runEndMs, scenario.endMs))
      .filter((r) => r.category === category);
    ctx.raw.readings.set(key, readings);
  }
  return readings;
}

/** Every value the device recorded for one field of one category, as strings. */
export function rawValues(ctx: CheckContext, deviceId: string, category: string, field: string): Set<string> {
  const key = `${deviceId}\u0000${category}\u0000${field}`;
  let values = ctx.raw.values.get(key);
  if (values === undefined) {
    values = new Set(rawReadings(ctx, deviceId, category).filter((r) => field in r.data).map((r) => String(r.data[field])));
    ctx.raw.values.set(key, values);
  }
  return values;
}

/** The raw point of a track the device recorded at `at` (undefined when there was none, e.g. after a clock jump). */
export function rawTrackPointAt(ctx: CheckContext, deviceId: string, category: string, rule: TrackRule, at: number): RawPoint | undefined {
  const key = `${deviceId}\u0000${category}`;
  let points = ctx.raw.tracks.get(key);
  if (points === undefined) {
    points = new Map();
    const tracks = new Map<string, Array<{ at: number; lat: number; lon: number }>>();
    for (const r of rawReadings(ctx, deviceId, category)) {
      const trackId = String(r.data[rule.trackId]);
      const track = tracks.get(trackId) ?? [];
      tracks.set(trackId, track);
      track.push({ at: r.at, lat: Number(r.data[rule.lat]), lon: Number(r.data[rule.lon]) });
    }
    for (const [trackId, track] of tracks) addTrack(points, trackId, track);
    ctx.raw.tracks.set(key, points);
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
