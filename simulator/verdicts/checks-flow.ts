import { transmits } from './data-model.js';
import type { AcceptedRecord, Verdict } from './evidence.js';
import { Tally, type CheckContext } from './context.js';
import { offlineWindows, segmentsIn } from './timeline.js';

/**
 * V5: every reading a device accepted for transmission and that stayed deliverable arrived exactly once.
 * Not deliverable (excused): the owner withdrew or narrowed the category, or erased/transferred, after it was taken;
 * it expired while the device was offline (or within a bound after reconnecting); it was too young at run end.
 */
export function checkDelivery(ctx: CheckContext): Verdict {
  const t = new Tally();
  const seen = new Map<string, number>();
  for (const r of ctx.evidence.delivered) {
    const key = `${r.deviceId}|${r.id}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const accepted = new Map<string, AcceptedRecord>();
  for (const a of ctx.evidence.accepted) if (a.transmit) accepted.set(`${a.deviceId}|${a.id}`, a);
  let excused = 0;
  for (const [key, a] of accepted) {
    t.checked++;
    const count = seen.get(key) ?? 0;
    if (count > 1) t.violation({ ...a, deliveries: count }, 'delivered more than once after deduplication');
    if (count === 0) {
      if (excusedLoss(ctx, a)) excused++;
      else t.violation(a, 'accepted for transmission, within retention, never delivered');
    }
  }
  for (const r of ctx.evidence.delivered) {
    if (!accepted.has(`${r.deviceId}|${r.id}`)) t.violation({ deviceId: r.deviceId, id: r.id, category: r.category, at: r.at }, 'delivered but never accepted by the device');
  }
  t.details.excused = excused;
  t.details.delivered = ctx.evidence.delivered.length;
  return t.verdict('delivery', 'Every deliverable reading delivered exactly once', 'accepted records');
}

function excusedLoss(ctx: CheckContext, a: AcceptedRecord): boolean {
  const { scenario, runEndMs } = ctx.evidence;
  const bound = ctx.bound + (ctx.slack.get(a.deviceId) ?? 0);
  if (a.at > runEndMs - bound || a.expiresAt <= a.at + bound) return true;
  const later = segmentsIn(ctx.timeline, a.deviceId, a.category, a.at - bound, runEndMs);
  const first = later[0];
  if (later.some((s) => !transmits(s.setting) || (first !== undefined && s.retentionMs < first.retentionMs))) return true;
  if (scenario.events.some((e) => (e.type === 'erase' || e.type === 'transfer') && e.device === a.deviceId && e.atMs >= a.at - bound)) return true;
  if (a.expiresAt < runEndMs && offlineWindows(scenario, a.deviceId).some((w) => w.from - bound <= a.expiresAt && a.expiresAt <= w.to + bound)) return true;
  return false;
}

/** When a request sent at `at` can first reach the device (after any outage covering `at`). */
function reachableAt(ctx: CheckContext, deviceId: string, at: number): number {
  let t = at;
  for (const w of offlineWindows(ctx.evidence.scenario, deviceId).sort((a, b) => a.from - b.from)) if (w.from <= t && t < w.to) t = w.to;
  return t;
}

/** V6: every owner change (and reset) was acknowledged as accepted within the bound. */
export function checkPreferenceEnforcement(ctx: CheckContext): Verdict {
  const t = new Tally();
  for (const e of ctx.evidence.scenario.events) {
    if (e.type !== 'preference' && e.type !== 'reset') continue;
    t.checked++;
    const ack = ctx.evidence.acks.find((a) => a.eventIndex === e.index && a.deviceId === e.device);
    const row = { event: e.index, type: e.type, device: e.device, at: e.atMs };
    if (!ack) t.violation(row, 'no acknowledgement');
    else if (!ack.accepted) t.violation({ ...row, reason: ack.reason }, 'change rejected');
    else if (ack.ackedAt === undefined || ack.ackedAt - reachableAt(ctx, e.device, e.atMs) > ctx.bound) {
      t.violation({ ...row, ackedAt: ack.ackedAt }, 'not enforced within the bound');
    }
  }
  t.details.boundMs = ctx.bound;
  if (t.checked === 0) return { id: 'preferences', title: 'Preference changes enforced within the bound', pass: true, checked: 0, violations: 0, summary: 'no preference changes in this scenario' };
  return t.verdict('preferences', 'Preference changes enforced within the bound', 'preference changes');
}

/** V7: every hostile command was rejected and left the device state as it was. */
export function checkHostile(ctx: CheckContext): Verdict {
  const t = new Tally();
  let expected = 0;
  for (const e of ctx.evidence.scenario.events) if (e.type === 'hostile') expected += e.count;
  for (const h of ctx.evidence.hostile) {
    t.checked++;
    if (!h.rejected) t.violation(h, 'hostile command accepted');
    else if (h.stateBefore !== h.stateAfter) t.violation(h, 'rejected, but device state changed');
  }
  t.details.expected = expected;
  const missing = expected > t.checked ? `${expected - t.checked} of ${expected} hostile commands have no recorded result` : undefined;
  if (expected === 0 && t.checked === 0) return { id: 'hostile', title: 'Hostile commands rejected, state unchanged', pass: true, checked: 0, violations: 0, summary: 'no hostile inputs in this scenario' };
  return t.verdict('hostile', 'Hostile commands rejected, state unchanged', 'hostile commands', missing);
}

/** V8: export, erase and transfer completed with a verified receipt; erased data is gone from the store. */
export function checkDataRights(ctx: CheckContext): Verdict {
  const t = new Tally();
  for (const e of ctx.evidence.scenario.events) {
    if (e.type !== 'erase' && e.type !== 'export' && e.type !== 'transfer') continue;
    t.checked++;
    const result = ctx.evidence.rights.find((r) => r.eventIndex === e.index && r.deviceId === e.device);
    const row = { event: e.index, type: e.type, device: e.device, at: e.atMs };
    if (!result || !result.ok) { t.violation(result?.error === undefined ? row : { ...row, error: result.error }, 'request not completed'); continue; }
    if (!result.receiptVerified) t.violation(row, 'no valid signed receipt');
    const wholeDevice = e.type === 'transfer' || (e.type === 'erase' && e.user === undefined);
    if (!wholeDevice || result.completedAt === undefined) continue;
    const done = result.completedAt;
    for (const snap of ctx.evidence.stores) {
      if (snap.deviceId !== e.device || snap.takenAt <= done) continue;
      const survivor = snap.records.find((r) => r.at < e.atMs - ctx.bound);
      if (survivor) t.violation({ ...row, takenAt: snap.takenAt, survivor }, 'data from before the erase still stored');
    }
  }
  if (t.checked === 0) return { id: 'data-rights', title: 'Export, erase and transfer honoured with receipts', pass: true, checked: 0, violations: 0, summary: 'no data-rights requests in this scenario' };
  return t.verdict('data-rights', 'Export, erase and transfer honoured with receipts', 'requests');
}

/** V9: every device's exported audit trail verifies (hash chain intact, head signed by the device key). */
export function checkAuditTrails(ctx: CheckContext): Verdict {
  const t = new Tally();
  const trails = ctx.evidence.auditTrails;
  if (trails === undefined) {
    return { id: 'audit-trail', title: 'Every device audit trail verifies', pass: true, checked: 0, violations: 0, summary: 'audit trails not part of this evidence' };
  }
  for (const trail of trails) {
    t.checked++;
    if (!trail.ok) t.violation(trail, 'audit trail does not verify');
  }
  for (const d of ctx.evidence.scenario.devices) {
    if (trails.some((x) => x.deviceId === d.id)) continue;
    t.checked++;
    t.violation({ deviceId: d.id }, 'no audit trail exported');
  }
  return t.verdict('audit-trail', 'Every device audit trail verifies', 'device audit trails');
}
