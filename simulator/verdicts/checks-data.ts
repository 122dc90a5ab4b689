import { categoryRule } from './data-model.js';
import type { Verdict } from './evidence.js';
import { Tally, type CheckContext } from './context.js';
import { minimisationProblem } from './minimised-form.js';
import { alwaysSetting, neverTransmitting, tightestRetention } from './timeline.js';

/** Tolerance around a record's timestamp: enforcement bound, the category's window, and any clock jump. */
function tolerance(ctx: CheckContext, r: { deviceId: string; category: string }): number {
  const device = ctx.devices.get(r.deviceId);
  const window = device ? (categoryRule(device, r.category)?.windowMs ?? 0) : 0;
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

/** V2: when the owner chose 'minimised', what left the device is in the minimised form its registry declares. */
export function checkMinimisation(ctx: CheckContext): Verdict {
  const t = new Tally();
  for (const r of ctx.evidence.delivered) {
    const tol = tolerance(ctx, r);
    if (!alwaysSetting(ctx.timeline, r.deviceId, r.category, r.at - tol, r.at + tol, 'minimised')) continue;
    t.checked++;
    const problem = minimisationProblem(ctx, r);
    if (problem) t.violation(r, problem);
  }
  return t.verdict('minimisation', 'Minimisation held (the minimised form each registry declares)', 'minimised records');
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
