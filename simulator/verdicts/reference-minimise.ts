import type { CategoryDef, FieldTransform } from '../../agent/policy/registry-types.js';
import type { GeoPoint, Reading } from '../models/types.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const ceilTo = (t: number, step: number): number => Math.ceil(t / step) * step;
const floorTo = (t: number, step: number): number => Math.floor(t / step) * step;
const roundTo = (v: unknown, step: number): number => Math.round(Number(v) / step) * step;
const pseudonym = (value: string): string => {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193) >>> 0;
  return `p-${h.toString(36)}`;
};

/**
 * The reference agent's minimised form of one reading (one record per reading: a real agent aggregates windows,
 * but the checker only looks at the shape). undefined = suppressed.
 */
export function minimise(r: Reading, ctx: { home: GeoPoint }): { at: number; data: Record<string, unknown> } | undefined {
  const d = r.data;
  switch (r.category) {
    case 'climate':
      return { at: r.at, data: { temperatureC: roundTo(d.temperatureC, 0.5), humidityPct: roundTo(d.humidityPct, 5) } };
    case 'hvac':
      return { at: r.at, data: { ...d, setpointC: roundTo(d.setpointC, 0.5) } };
    case 'comfort': case 'door':
      return { at: floorTo(r.at, 15 * MINUTE), data: d };
    case 'occupancy':
      return { at: ceilTo(r.at + 1, HOUR), data: { occupiedCount: d.occupied ? 1 : 0 } };
    case 'battery':
      return { at: r.at, data: { percent: roundTo(d.percent, 10) } };
    case 'access': {
      const method = d.method === 'app' ? 'remote' : d.method === 'auto' ? 'auto' : 'local';
      return { at: floorTo(r.at, 15 * MINUTE), data: { action: d.action, method, userId: pseudonym(String(d.userId)) } };
    }
    case 'heart-rate':
      return { at: ceilTo(r.at + 1, MINUTE), data: { bpmMin: d.bpm, bpmAvg: d.bpm, bpmMax: d.bpm } };
    case 'spo2':
      return { at: r.at, data: { percent: Math.round(Number(d.percent)) } };
    case 'sleep':
      return { at: ceilTo(r.at - 12 * HOUR + 1, DAY) + 12 * HOUR, data: { [`${String(d.stage)}Min`]: 5 } };
    case 'activity':
      return { at: ceilTo(r.at + 1, HOUR), data: d };
    case 'location': {
      const north = (Number(d.lat) - ctx.home.lat) * 111_320;
      const east = (Number(d.lon) - ctx.home.lon) * 111_320 * Math.cos((ctx.home.lat * Math.PI) / 180);
      if (Math.hypot(north, east) < 520) return undefined;
      return { at: r.at, data: { lat: roundTo(d.lat, 0.01), lon: roundTo(d.lon, 0.01), trackId: pseudonym(String(d.trackId)) } };
    }
    default:
      return { at: r.at, data: d };
  }
}

/**
 * The reference form of a reading of a custom device type, from its registry's first level: field transforms and
 * timestamp truncation, or one record per reading at the end of its aggregation window carrying the outputs.
 */
export function minimiseByRegistry(r: Reading, category: CategoryDef): { at: number; data: Record<string, unknown> } | undefined {
  const level = category.minimise[0];
  if (level === undefined) return undefined;
  const rule = level.aggregate;
  if (rule !== undefined) {
    const at = ceilTo(r.at - rule.offsetMs + 1, rule.windowMs) + rule.offsetMs;
    return { at, data: Object.fromEntries(Object.keys(rule.outputs).map((name) => [name, 1])) };
  }
  const data: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(r.data)) {
    const shaped = (level.fields?.[field] ?? []).reduce<unknown>((v, op) => transform(v, op), value);
    if (shaped !== DROPPED) data[field] = shaped;
  }
  return { at: level.truncateTimeMs === undefined ? r.at : floorTo(r.at, level.truncateTimeMs), data };
}

const DROPPED = Symbol('dropped');

function transform(value: unknown, op: FieldTransform): unknown {
  if (value === DROPPED) return value;
  switch (op.op) {
    case 'drop': return DROPPED;
    case 'round': return roundTo(value, op.step);
    case 'bucket': return floorTo(Number(value), op.size);
    case 'grid': return floorTo(Number(value), op.cell);
    case 'classify': return op.classes[String(value)] ?? String(value);
    case 'pseudonymise': return pseudonym(String(value));
  }
}
