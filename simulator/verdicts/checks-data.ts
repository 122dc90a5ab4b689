import { categoryRule } from './data-model.js';
import type { DeliveredRecord, Verdict } from './evidence.js';
import { Tally, rawLocationAt, type CheckContext } from './context.js';
import { alwaysSetting, neverTransmitting, tightestRetention } from './timeline.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const EPS = 1e-9;

/** Tolerance around a record's timestamp: enforcement bound, the category's window, and any clock jump. */
function tolerance(ctx: CheckContext, r: { deviceId: string; category: string }): number {
  const type = ctx.types.get(r.deviceId);
  const window = type ? (categoryRule(type, r.category)?.windowMs ?? 0) : 0;
  return ctx.bound + window + (ctx.slack.get(r.deviceId) ?? 0);
}

/** How the stored rows add up: every store sample checks every record still stored, so a record counts once per sample. */
function storedPart(ctx: CheckContext): string {
  const samples = new Set(ctx.evidence.stores.map((s) => s.takenAt)).size;
  return `stored-record rows over ${samples} store samples (one per record per sample)`;
}

/** V1: nothing of a category leaves after it was turned off or made local, nor data taken while it was. */
export function checkWithdrawal(ctx: CheckContext): Verdict {
  const t = new Tally();
  const stored = storedPart(ctx);
  for (const r of ctx.evidence.delivered) {
    t.check('delivered readings');
    const tol = tolerance(ctx, r);
    if (neverTransmitting(ctx.timeline, r.deviceId, r.category, r.at - tol, r.at + tol)) {
      t.violation(r, 'delivered data taken while the category was off or local');
    } else if (neverTransmitting(ctx.timeline, r.deviceId, r.category, r.receivedAt - ctx.bound, r.receivedAt)) {
      t.violation(r, 'delivered after withdrawal (queued data not purged)');
    }
  }
  for (const snap of ctx.evidence.stores) {
    for (const rec of snap.records) {
      t.check(stored);
      const from = snap.takenAt - ctx.bound;
      if (alwaysSetting(ctx.timeline, snap.deviceId, rec.category, from, snap.takenAt, 'off')) {
        t.violation({ deviceId: snap.deviceId, takenAt: snap.takenAt, ...rec }, 'stored on the device while the category is off');
      } else if (rec.queued && neverTransmitting(ctx.timeline, snap.deviceId, rec.category, from, snap.takenAt)) {
        t.violation({ deviceId: snap.deviceId, takenAt: snap.takenAt, ...rec }, 'queued for sending while the category is local');
      }
    }
  }
  return t.verdict('withdrawal', 'No data of a category after it was turned off', 'delivered and stored records');
}

/** V2: when the owner chose 'minimised', what left the device is in the minimised form. */
export function checkMinimisation(ctx: CheckContext): Verdict {
  const t = new Tally();
  const rawIds = new Set([...ctx.household.map((m) => m.id), 'auto']);
  for (const r of ctx.evidence.delivered) {
    const tol = tolerance(ctx, r);
    if (!alwaysSetting(ctx.timeline, r.deviceId, r.category, r.at - tol, r.at + tol, 'minimised')) continue;
    t.checked++;
    const problem = minimisationProblem(ctx, r, rawIds);
    if (problem) t.violation(r, problem);
  }
  return t.verdict('minimisation', 'Minimisation held (coarse GPS, no identities, aggregated health)', 'minimised records');
}

const isMultiple = (value: unknown, step: number): boolean =>
  typeof value === 'number' && Math.abs(value / step - Math.round(value / step)) < EPS * Math.max(1, Math.abs(value));
const aligned = (at: number, step: number): boolean => at % step === 0;

function minimisationProblem(ctx: CheckContext, r: DeliveredRecord, rawIds: Set<string>): string | undefined {
  const d = r.data;
  switch (r.category) {
    case 'climate':
      if (!isMultiple(d.temperatureC, 0.5)) return 'temperature not rounded to 0.5 °C';
      return isMultiple(d.humidityPct, 5) ? undefined : 'humidity not rounded to 5 %';
    case 'hvac':
      return isMultiple(d.setpointC, 0.5) ? undefined : 'setpoint not rounded to 0.5 °C';
    case 'comfort': case 'door':
      return aligned(r.at, 15 * MINUTE) ? undefined : 'timestamp not truncated to 15 min';
    case 'occupancy':
      if ('room' in d) return 'room kept in the hourly occupancy aggregate';
      return aligned(r.at, HOUR) ? undefined : 'occupancy not an hourly aggregate';
    case 'battery':
      return isMultiple(d.percent, 10) ? undefined : 'battery not bucketed to 10 %';
    case 'access':
      return accessProblem(d, r.at, rawIds);
    case 'heart-rate':
      // Either the 10 bpm bucket of one reading, or a per-minute aggregate (field names are the registry's:
      // anything ending in min and max, e.g. bpmMin/bpmAvg/bpmMax).
      if ('bpm' in d) return isMultiple(d.bpm, 10) ? undefined : 'raw heart rate (neither per-minute aggregate nor 10 bpm bucket)';
      return Object.keys(d).some((k) => /min$/i.test(k)) && Object.keys(d).some((k) => /max$/i.test(k))
        ? undefined : 'heart rate record is neither aggregate nor bucket';
    case 'spo2':
      return isMultiple(d.percent, 1) ? undefined : 'SpO2 not rounded to 1 %';
    case 'sleep':
      return 'stage' in d ? 'raw sleep stage instead of per-night totals' : undefined;
    case 'activity':
      return aligned(r.at, HOUR) ? undefined : 'steps/calories not per-hour sums';
    case 'location':
      return locationProblem(ctx, r);
    default:
      return undefined;
  }
}

function accessProblem(d: Record<string, unknown>, at: number, rawIds: Set<string>): string | undefined {
  if ('userName' in d) return 'userName sent with a lock access event';
  if (typeof d.userId === 'string' && rawIds.has(d.userId)) return 'raw userId sent instead of a pseudonym';
  if ('method' in d && !['remote', 'local', 'auto'].includes(String(d.method))) return 'exact unlock method instead of its class';
  return aligned(at, 15 * MINUTE) ? undefined : 'access time not truncated to 15 min';
}

/**
 * ~1 km grid (2 decimals), no raw track id, and the first and last 500 m of path of each track suppressed (the
 * agreed rule is path length, docs/policy.md). A coarse cell cannot show where on its track a point was, so the
 * checker replays the tracker's model (same seed) to find the raw point behind each delivered one and measures the
 * path to it from the track's start and from it to the track's end.
 */
function locationProblem(ctx: CheckContext, r: DeliveredRecord): string | undefined {
  const d = r.data;
  if (!isMultiple(d.lat, 0.01) || !isMultiple(d.lon, 0.01)) return 'GPS precision beyond 2 decimals';
  const raw = rawLocationAt(ctx, r.deviceId, r.at);
  if (typeof d.trackId === 'string' && (d.trackId === raw?.trackId || /^trk-[0-9a-f]{8}$/.test(d.trackId))) return 'raw track id sent';
  if (!raw) return undefined;
  // 1 m of slack for floating-point differences in the distance sums.
  if (raw.fromStartM < 499) return 'point within the first 500 m of its track (track start not suppressed)';
  return raw.toEndM < 499 ? 'point within the last 500 m of its track (track end not suppressed)' : undefined;
}

/** V3: no record older than its retention on any device, nothing delivered after its expiry. */
export function checkRetention(ctx: CheckContext): Verdict {
  const t = new Tally();
  const allowed = (device: string, category: string, at: number, seenAt: number): number =>
    tightestRetention(ctx.timeline, device, category, at, seenAt - ctx.bound) + tolerance(ctx, { deviceId: device, category });
  const stored = storedPart(ctx);
  for (const r of ctx.evidence.delivered) {
    t.check('delivered readings');
    const slack = ctx.slack.get(r.deviceId) ?? 0;
    if (r.receivedAt > r.expiresAt + slack) t.violation(r, 'delivered after its expiry');
    else if (r.expiresAt - r.at > allowed(r.deviceId, r.category, r.at, r.receivedAt)) t.violation(r, 'expiry beyond the allowed retention');
  }
  for (const snap of ctx.evidence.stores) {
    for (const rec of snap.records) {
      t.check(stored);
      const slack = ctx.slack.get(snap.deviceId) ?? 0;
      const row = { deviceId: snap.deviceId, takenAt: snap.takenAt, ...rec };
      if (rec.expiresAt < snap.takenAt - ctx.bound - slack) t.violation(row, 'expired record still stored');
      else if (rec.expiresAt - rec.at > allowed(snap.deviceId, rec.category, rec.at, snap.takenAt)) t.violation(row, 'stored with expiry beyond the allowed retention');
    }
  }
  return t.verdict('retention', 'Retention held: nothing older than its limit, nothing delivered after expiry', 'delivered and stored records');
}
