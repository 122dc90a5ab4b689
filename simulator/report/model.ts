import { formatDuration } from '../scenario/duration.js';
import type { Scenario } from '../scenario/types.js';
import { DATA_MODEL } from '../verdicts/data-model.js';
import type { Evidence, Verdict } from '../verdicts/evidence.js';

/** Everything the JSON, JUnit and HTML outputs show. Deterministic for a seed, except the optional `runtime`. */
export interface SimulationReport {
  scenario: { name: string; description: string; seed: number; startMs: number; durationMs: number; speed: string; broker: string; source?: string };
  devices: Array<{ id: string; type: string; reportPath?: string }>;
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
      return path === undefined ? { id: d.id, type: d.type } : { id: d.id, type: d.type, reportPath: path };
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
    for (const category of Object.keys(DATA_MODEL[d.type])) series.set(`${d.type} · ${category}`, new Array<number>(buckets).fill(0));
  }
  for (const r of evidence.delivered) {
    const counts = series.get(`${typeOf(scenario, r.deviceId)} · ${r.category}`);
    const i = Math.floor((r.at - scenario.startMs) / bucketMs);
    if (counts && i >= 0 && i < buckets) counts[i] = (counts[i] ?? 0) + 1;
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

function storageRows(evidence: Evidence): SimulationReport['storage'] {
  const rows = new Map<string, { key: string; retentionMs: number; maxAgeMs: number; maxCount: number }>();
  for (const d of evidence.scenario.devices) {
    for (const [category, rule] of Object.entries(DATA_MODEL[d.type])) {
      const key = `${d.type} · ${category}`;
      if (!rows.has(key)) rows.set(key, { key, retentionMs: rule.maxRetentionMs, maxAgeMs: 0, maxCount: 0 });
    }
  }
  for (const snap of evidence.stores) {
    const counts = new Map<string, number>();
    for (const rec of snap.records) {
      const row = rows.get(`${typeOf(evidence.scenario, snap.deviceId)} · ${rec.category}`);
      if (!row) continue;
      row.maxAgeMs = Math.max(row.maxAgeMs, snap.takenAt - rec.at);
      counts.set(row.key, (counts.get(row.key) ?? 0) + 1);
    }
    for (const [key, n] of counts) {
      const row = rows.get(key);
      if (row) row.maxCount = Math.max(row.maxCount, n);
    }
  }
  return [...rows.values()];
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
