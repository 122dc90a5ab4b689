import nacl from 'tweetnacl';
import { encodeCbor } from '../../agent/codec/cbor.js';
import { mixSeed, mulberry32 } from '../models/prng.js';
import { DEFAULT_HOME, DEFAULT_HOUSEHOLD, type GeoPoint, type Reading } from '../models/types.js';
import { modelFor } from '../scenario/devices.js';
import type { Scenario, ScenarioDevice } from '../scenario/types.js';
import { minimise, minimiseByRegistry } from './reference-minimise.js';
import type { AcceptedRecord, DeliveredRecord, Evidence, StoreSnapshot } from './evidence.js';
import { buildTimeline, offlineWindows, segmentsIn, tightestRetention, type Timeline } from './timeline.js';
import { transmits } from './data-model.js';

/**
 * Evidence from an IDEAL agent, computed straight from the scenario and the models: what a correct agent, collector
 * and broker would produce. It lets the checker be tested (clean evidence passes; each crafted violation fails)
 * and the reports be looked at, without the real agent. It is NOT how verdicts are produced for a real run.
 */
export function referenceEvidence(scenario: Scenario, options: { snapshotEveryMs?: number } = {}): Evidence {
  const timeline = buildTimeline(scenario);
  const evidence: Evidence = {
    scenario, runEndMs: scenario.endMs, delivered: [], accepted: [], wire: [], stores: [], hostile: [], acks: [], rights: [],
  };
  const key = new Uint8Array(32).fill(7);
  for (const device of scenario.devices) {
    const records = deviceRecords(scenario, device, timeline);
    for (const rec of records) {
      if (!rec.transmit) continue;
      evidence.accepted.push({ deviceId: device.id, id: rec.id, category: rec.category, at: rec.at, expiresAt: rec.expiresAt, transmit: true });
      const receivedAt = deliveryTime(scenario, device.id, rec);
      if (receivedAt === undefined) continue;
      const expiresAt = Math.min(rec.expiresAt, rec.at + tightestRetention(timeline, device.id, rec.category, rec.at, receivedAt));
      if (receivedAt > expiresAt || purgedBefore(scenario, timeline, device.id, rec, receivedAt)) continue;
      evidence.delivered.push({ deviceId: device.id, id: rec.id, category: rec.category, at: rec.at, expiresAt, data: rec.data, receivedAt });
    }
    evidence.stores.push(...snapshots(scenario, timeline, device.id, records, evidence.delivered, options.snapshotEveryMs ?? 6 * 3_600_000));
  }
  evidence.delivered.sort((a, b) => a.receivedAt - b.receivedAt || a.deviceId.localeCompare(b.deviceId));
  const rng = mulberry32(mixSeed(scenario.seed, 'reference-wire'));
  for (const [i, r] of evidence.delivered.entries()) {
    const nonce = Uint8Array.from({ length: 24 }, () => Math.floor(rng() * 256));
    const ct = nacl.secretbox(encodeCbor({ c: r.category, t: r.at, x: r.expiresAt, d: r.data }), nonce, key);
    const envelope = encodeCbor({ v: 1, alg: 1, rk: new Uint8Array(8), sk: new Uint8Array(8), sid: new Uint8Array(8), seq: i, ts: r.at, n: nonce, ct });
    evidence.wire.push({ topic: `ta/v1/${r.deviceId}/telemetry`, payload: envelope, at: r.receivedAt });
  }
  addReplies(scenario, evidence);
  evidence.auditTrails = scenario.devices.map((d) => ({ deviceId: d.id, ok: true, entries: 1 }));
  return evidence;
}

interface RefRecord extends AcceptedRecord {
  data: Record<string, unknown>;
  /** When the raw reading was taken (aggregates carry the window end as `at`). */
  takenAt: number;
}

function deviceRecords(scenario: Scenario, device: ScenarioDevice, timeline: Timeline): RefRecord[] {
  const readings = modelFor(scenario, device).step(scenario.startMs, scenario.endMs);
  const powerOff = scenario.events.filter((e) => e.type === 'power-loss' && e.device === device.id) as Array<{ atMs: number; durationMs: number }>;
  const out: RefRecord[] = [];
  const context = { home: scenario.home ?? DEFAULT_HOME, rawIds: DEFAULT_HOUSEHOLD.map((m) => m.id) };
  readings.forEach((r: Reading, seq) => {
    if (powerOff.some((w) => r.at >= w.atMs && r.at < w.atMs + w.durationMs)) return;
    const segment = segmentsIn(timeline, device.id, r.category, r.at, r.at)[0];
    if (!segment || segment.setting === 'off') return;
    const shaped = segment.setting !== 'minimised' ? { at: r.at, data: r.data } : minimised(device, r, context);
    if (!shaped) return;
    out.push({
      deviceId: device.id, id: `ref:${seq}`, category: r.category, at: shaped.at, expiresAt: shaped.at + segment.retentionMs,
      transmit: transmits(segment.setting), data: shaped.data, takenAt: r.at,
    });
  });
  return out;
}

/** A custom type's reading minimised by its registry; a shipped type's by the reference's own rules. */
function minimised(device: ScenarioDevice, r: Reading, context: { home: GeoPoint }): ReturnType<typeof minimise> {
  if (device.registry === undefined) return minimise(r, context);
  const category = device.registry.categories.find((c) => c.name === r.category);
  return category === undefined ? undefined : minimiseByRegistry(r, category);
}

/** Sent a second after it exists, or a second after the device is back online. */
function deliveryTime(scenario: Scenario, deviceId: string, rec: RefRecord): number | undefined {
  let t = Math.max(rec.at, rec.takenAt) + 1000;
  for (const w of offlineWindows(scenario, deviceId).sort((a, b) => a.from - b.from)) if (t >= w.from && t < w.to) t = w.to + 1000;
  return t <= scenario.endMs ? t : undefined;
}

function purgedBefore(scenario: Scenario, timeline: Timeline, deviceId: string, rec: RefRecord, until: number): boolean {
  if (segmentsIn(timeline, deviceId, rec.category, rec.takenAt, until).some((s) => !transmits(s.setting))) return true;
  return scenario.events.some((e) => (e.type === 'erase' || e.type === 'transfer') && e.device === deviceId && e.atMs > rec.takenAt && e.atMs <= until);
}

function snapshots(
  scenario: Scenario, timeline: Timeline, deviceId: string, records: RefRecord[], delivered: DeliveredRecord[], every: number,
): StoreSnapshot[] {
  const sent = new Map(delivered.filter((d) => d.deviceId === deviceId).map((d) => [d.id, d.receivedAt]));
  const out: StoreSnapshot[] = [];
  for (let takenAt = scenario.startMs + every; takenAt <= scenario.endMs; takenAt += every) {
    const rows: StoreSnapshot['records'] = [];
    for (const rec of records) {
      if (rec.takenAt > takenAt || rec.at > takenAt + 86_400_000) continue;
      const expiresAt = Math.min(rec.expiresAt, rec.at + tightestRetention(timeline, deviceId, rec.category, rec.at, takenAt));
      if (expiresAt <= takenAt) continue;
      if (segmentsIn(timeline, deviceId, rec.category, rec.takenAt, takenAt).some((s) => s.setting === 'off')) continue;
      if (scenario.events.some((e) => (e.type === 'erase' || e.type === 'transfer') && e.device === deviceId && e.atMs > rec.takenAt && e.atMs <= takenAt)) continue;
      const queued = rec.transmit && !((sent.get(rec.id) ?? Infinity) <= takenAt);
      if (queued && segmentsIn(timeline, deviceId, rec.category, rec.takenAt, takenAt).some((s) => !transmits(s.setting))) continue;
      rows.push({ id: rec.id, category: rec.category, at: rec.at, expiresAt, queued });
    }
    out.push({ deviceId, takenAt, records: rows });
  }
  return out;
}

function addReplies(scenario: Scenario, evidence: Evidence): void {
  for (const e of scenario.events) {
    if (e.type === 'preference' || e.type === 'reset') {
      let at = e.atMs;
      for (const w of offlineWindows(scenario, e.device)) if (at >= w.from && at < w.to) at = w.to;
      evidence.acks.push({ deviceId: e.device, eventIndex: e.index, requestedAt: e.atMs, ackedAt: at + 500, accepted: true });
    } else if (e.type === 'hostile') {
      for (let i = 0; i < e.count; i++) {
        evidence.hostile.push({ deviceId: e.device, eventIndex: e.index, kind: e.kind, at: e.atMs + i, rejected: true, reason: e.kind === 'garbage' ? 'MALFORMED' : e.kind === 'replayed' ? 'REPLAY' : e.kind === 'stale-version' ? 'VERSION_CONFLICT' : e.kind === 'oversized' ? 'OVERSIZED' : 'BAD_SIGNATURE', stateBefore: 'state-v1', stateAfter: 'state-v1' });
      }
    } else if (e.type === 'erase' || e.type === 'export' || e.type === 'transfer') {
      evidence.rights.push({ deviceId: e.device, eventIndex: e.index, kind: e.type, requestedAt: e.atMs, completedAt: e.atMs + 1000, ok: true, receiptVerified: true });
    }
  }
}
