import { formatDuration } from '../scenario/duration.js';
import type { Scenario } from '../scenario/types.js';
import { rulesOf } from '../verdicts/data-model.js';
import { buildTimeline, deviceOf, tightestRetention } from '../verdicts/timeline.js';
import type { Evidence, Verdict } from '../verdicts/evidence.js';

/** Everything the JSON, JUnit and HTML outputs show. Deterministic for a seed, except the optional `runtime`. */
export interface SimulationReport {
  scenario: { name: string; description: string; seed: number; startMs: number; durationMs: number; speed: string; broker: string; source?: string };
  /** `delivered`: readings the collector delivered per category (the same count in every table and chart). */
  devices: Array<{ id: string; type: string; delivered: Record<string, number>; reportPath?: string }>;
  verdicts: Verdict[];
  passed: boolean;
  totals: { accepted: number; delivered: number; wireMessages: number; wireBytes: number; hostileSent: number; hostileRejected: number };
  /** Delivered readings per category per bucket, by the reading's own timestamp. */
  readings: { startMs: number; bucketMs: number; buckets: number; series: Array<{ key: string; counts: number[] }> };
  markers: Array<{ at: number; kind: MarkerKind; label: string; device?: string }>;
  storage: Array<{ key: string; retentionMs: number; maxAgeMs: number; maxCount: number }>;
  delays: { labels: string[]; counts: number[]; p50Ms: number; p95Ms: number; maxMs: number };
  rejected: Array<{ kind: string; sent: number; rejected: number; reasons: Record<string, number> }>;
  /**
   * Facts of this run that depend on real time and the real network; they differ between runs, so comparisons of
   * reports leave them out. Everything else is the same for the same scenario and seed.
   */
  runtime?: ReportRuntime;
}

export interface ReportRuntime {
  wallMs: number;
  readingsPerSecond?: number;
  /** Waits on the network that gave up after the real-time cap (0 on a healthy run). */
  stalls?: number;
  /** Owner requests a reachable device did not answer within the real-time cap. */
  unanswered?: number;
  /** Copies of a message already in the wire log (MQTT QoS 1 redeliveries after a cut link, repeated identical announcements). */
  wireCopies?: number;
  note?: string;
}

export type MarkerKind = 'preference' | 'outage' | 'device' | 'policy' | 'rights' | 'hostile' | 'clock';

export const DELAY_BUCKETS: Array<[string, number]> = [
  ['< 1 s', 1000], ['< 10 s', 10_000], ['< 1 min', 60_000], ['< 10 min', 600_000], ['< 1 h', 3_600_000],
  ['< 6 h', 21_600_000], ['< 1 d', 86_400_000], ['≥ 1 d', Infinity],
];

export function buildReport(
  evidence: Evidence, verdicts: Verdict[], extra: { deviceReports?: Record<string, string>; runtime?: SimulationReport['runtime'] } = {},
): SimulationReport {
  const { scenario } = evidence;
  const scenarioInfo: SimulationReport['scenario'] = {
    name: scenario.name, description: scenario.description, seed: scenario.seed, startMs: scenario.startMs,
    durationMs: scenario.durationMs, speed: scenario.speed,
    broker: scenario.broker.kind === 'embedded' ? 'embedded' : scenario.broker.url,
  };
  if (scenario.source !== undefined) scenarioInfo.source = scenario.source;
  const report: SimulationReport = {
    scenario: scenarioInfo,
    devices: scenario.devices.map((d) => {
      const path = extra.deviceReports?.[d.id];
      const delivered = deliveredByCategory(evidence, d.id);
      return path === undefined ? { id: d.id, type: d.type, delivered } : { id: d.id, type: d.type, delivered, reportPath: path };
    }),
    verdicts,
    passed: verdicts.every((v) => v.pass),
    totals: {
      accepted: evidence.accepted.length,
      delivered: evidence.delivered.length,
      wireMessages: evidence.wire.length, // distinct messages: a redelivered copy is counted in runtime.wireCopies
      wireBytes: evidence.wire.reduce((n, m) => n + m.payload.length, 0),
      hostileSent: evidence.hostile.length,
      hostileRejected: evidence.hostile.filter((h) => h.rejected).length,
    },
    readings: readingSeries(evidence),
    markers: markersOf(scenario),
    storage: storageRows(evidence),
    delays: delayHistogram(evidence),
    rejected: rejectedRows(evidence),
  };
  if (extra.runtime) report.runtime = extra.runtime;
  return report;
}

function typeOf(scenario: Scenario, id: string): string {
  return scenario.devices.find((d) => d.id === id)?.type ?? 'unknown';
}

function readingSeries(evidence: Evidence): SimulationReport['readings'] {
  const { scenario } = evidence;
  const bucketMs = scenario.durationMs > 3 * 86_400_000 ? 3_600_000 : scenario.durationMs > 6 * 3_600_000 ? 900_000 : 60_000;
  const buckets = Math.ceil(scenario.durationMs / bucketMs);
  const series = new Map<string, number[]>();
  for (const d of scenario.devices) {
    for (const category of Object.keys(rulesOf(d))) series.set(`${d.type} · ${category}`, new Array<number>(buckets).fill(0));
  }
  for (const r of evidence.delivered) {
    const counts = series.get(`${typeOf(scenario, r.deviceId)} · ${r.category}`);
    // A reading stamped before the start or after the end (a skewed device clock) goes to the edge bucket: every
    // delivered reading is in the chart, so a row's total is the count shown everywhere else.
    const i = Math.min(buckets - 1, Math.max(0, Math.floor((r.at - scenario.startMs) / bucketMs)));
    if (counts) counts[i] = (counts[i] ?? 0) + 1;
  }
  return { startMs: scenario.startMs, bucketMs, buckets, series: [...series].map(([key, counts]) => ({ key, counts })) };
}

function markersOf(scenario: Scenario): SimulationReport['markers'] {
  return scenario.events.map((e) => {
    switch (e.type) {
      case 'preference':
        return { at: e.atMs, kind: 'preference', device: e.device, label: `${e.device}: ${Object.entries(e.patch).map(([c, p]) => `${c}=${p.setting}`).join(', ')}` };
      case 'reset':
        return { at: e.atMs, kind: 'preference', device: e.device, label: `${e.device}: reset to defaults` };
      case 'broker-outage':
        return { at: e.atMs, kind: 'outage', label: `broker down ${formatDuration(e.durationMs)}` };
      case 'power-loss': case 'partition':
        return { at: e.atMs, kind: 'device', device: e.device, label: `${e.device}: ${e.type} ${formatDuration(e.durationMs)}` };
      case 'clock':
        return { at: e.atMs, kind: 'clock', device: e.device, label: `${e.device}: clock ${e.jumpMs >= 0 ? '+' : ''}${formatDuration(e.jumpMs)}` };
      case 'policy-update':
        return { at: e.atMs, kind: 'policy', label: `policy update widens ${e.deviceType} ${e.category}` };
      case 'hostile':
        return { at: e.atMs, kind: 'hostile', device: e.device, label: `${e.device}: ${e.count} ${e.kind}` };
      default:
        return { at: e.atMs, kind: 'rights', device: e.device, label: `${e.device}: ${e.type}` };
    }
  });
}

/**
 * Per category: the stored record closest to its limit in any store sample, with that limit. The limit is the one in
 * force for the record (the tightest of the registry maximum and the owner's choices over its life, as the retention
 * verdict judges it), so a 12 h choice is drawn as 12 h, not as the registry's 1 d.
 */
function storageRows(evidence: Evidence): SimulationReport['storage'] {
  const { scenario } = evidence;
  const timeline = buildTimeline(scenario);
  const limitOf = (deviceId: string, category: string, from: number, to: number): number => {
    const limit = tightestRetention(timeline, deviceId, category, from, to);
    return Number.isFinite(limit) ? limit : (rulesOf(deviceOf(scenario, deviceId))[category]?.maxRetentionMs ?? 0);
  };
  const rows = new Map<string, { key: string; retentionMs: number; maxAgeMs: number; maxCount: number; share: number }>();
  for (const d of scenario.devices) {
    for (const category of Object.keys(rulesOf(d))) {
      const key = `${d.type} · ${category}`;
      // Nothing stored: the limit in force at the end of the run (the tightest over the devices of the type).
      const limit = limitOf(d.id, category, scenario.endMs, scenario.endMs);
      const row = rows.get(key);
      if (row === undefined) rows.set(key, { key, retentionMs: limit, maxAgeMs: 0, maxCount: 0, share: -1 });
      else if (row.share < 0) row.retentionMs = Math.min(row.retentionMs, limit);
    }
  }
  for (const snap of evidence.stores) {
    const counts = new Map<string, number>();
    for (const rec of snap.records) {
      const row = rows.get(`${typeOf(scenario, snap.deviceId)} · ${rec.category}`);
      if (!row) continue;
      const age = snap.takenAt - rec.at;
      const limit = limitOf(snap.deviceId, rec.category, rec.at, snap.takenAt);
      const share = limit > 0 ? age / limit : Infinity;
      if (share > row.share) Object.assign(row, { share, maxAgeMs: age, retentionMs: limit });
      counts.set(row.key, (counts.get(row.key) ?? 0) + 1);
    }
    for (const [key, n] of counts) {
      const row = rows.get(key);
      if (row) row.maxCount = Math.max(row.maxCount, n);
    }
  }
  return [...rows.values()].map(({ key, retentionMs, maxAgeMs, maxCount }) => ({ key, retentionMs, maxAgeMs: Math.max(0, maxAgeMs), maxCount }));
}

/** Readings the collector delivered per category of one device, from the final evidence (the one count shown everywhere). */
export function deliveredByCategory(evidence: Evidence, deviceId: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of evidence.delivered) if (r.deviceId === deviceId) counts[r.category] = (counts[r.category] ?? 0) + 1;
  return counts;
}

function delayHistogram(evidence: Evidence): SimulationReport['delays'] {
  const delays = evidence.delivered.map((r) => Math.max(0, r.receivedAt - r.at)).sort((a, b) => a - b);
  const counts = DELAY_BUCKETS.map(() => 0);
  for (const d of delays) {
    const i = DELAY_BUCKETS.findIndex(([, limit]) => d < limit);
    counts[i] = (counts[i] ?? 0) + 1;
  }
  const pct = (p: number): number => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))] ?? 0;
  return { labels: DELAY_BUCKETS.map(([l]) => l), counts, p50Ms: pct(0.5), p95Ms: pct(0.95), maxMs: delays[delays.length - 1] ?? 0 };
}

function rejectedRows(evidence: Evidence): SimulationReport['rejected'] {
  const rows = new Map<string, { kind: string; sent: number; rejected: number; reasons: Record<string, number> }>();
  for (const h of evidence.hostile) {
    const row = rows.get(h.kind) ?? { kind: h.kind, sent: 0, rejected: 0, reasons: {} };
    row.sent++;
    if (h.rejected) {
      row.rejected++;
      const reason = h.reason ?? 'unspecified';
      row.reasons[reason] = (row.reasons[reason] ?? 0) + 1;
    }
    rows.set(h.kind, row);
  }
  return [...rows.values()];
}
