import { TrustError } from '../../agent/errors.js';
import type { FieldDef, Registry } from '../../agent/policy/registry-types.js';
import { parseDuration } from '../scenario/duration.js';
import type { DeviceModel, Reading, ReadingValue } from './types.js';

/** One recorded reading of a trace; `offsetMs` from the scenario start, so the trace follows the run's start. */
export interface TraceReading {
  offsetMs: number;
  category: string;
  data: Record<string, ReadingValue>;
}

const MAX_PROBLEMS = 20;

/**
 * Parse a trace of timestamped readings (CSV with a header `at,category,<field>...`, or JSON lines of
 * `{ "at", "category", "data" }`) and check every reading against the device's registry: a known category, every
 * field of it present with the right type and range, nothing else, times in order and not before the start.
 * `at` is an ISO time, a duration from the start (`90s`, `1d2h`) or milliseconds from the start. Throws
 * INVALID_CONFIG listing problems as `file:line: field: message`.
 */
export function parseTrace(text: string, source: string, registry: Registry, startMs: number): TraceReading[] {
  const problems: string[] = [];
  const problem = (line: number, field: string, message: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(`${source}:${line}: ${field}: ${message}`);
  };
  const rows = source.endsWith('.csv') ? csvRows(text, problem) : jsonRows(text, problem);
  const readings: TraceReading[] = [];
  let last = 0;
  for (const row of rows) {
    const offsetMs = offsetOf(row.at, startMs);
    if (offsetMs === undefined) problem(row.line, 'at', `${JSON.stringify(row.at)} is not an ISO time, a duration (90s, 1d2h) or milliseconds`);
    else if (offsetMs < 0) problem(row.line, 'at', 'is before the scenario start');
    else if (offsetMs < last) problem(row.line, 'at', 'goes back in time (a trace is in time order)');
    const category = registry.categories.find((c) => c.name === row.category);
    if (category === undefined) {
      problem(row.line, 'category', `"${String(row.category)}" is not a category of ${registry.deviceType} (${registry.categories.map((c) => c.name).join(', ')})`);
      continue;
    }
    const data: Record<string, ReadingValue> = {};
    for (const [name, def] of Object.entries(category.fields)) {
      const raw = row.values[name];
      if (raw === undefined || raw === '') {
        problem(row.line, name, `missing (${category.name} has ${Object.keys(category.fields).join(', ')})`);
        continue;
      }
      const value = typed(raw, def, row.csv);
      if (typeof value === 'string' && value.startsWith('\u0000')) problem(row.line, name, value.slice(1));
      else data[name] = value;
    }
    for (const name of Object.keys(row.values)) {
      if (!(name in category.fields) && row.values[name] !== '') problem(row.line, name, `is not a field of ${category.name}`);
    }
    if (offsetMs !== undefined && offsetMs >= last) last = offsetMs;
    readings.push({ offsetMs: offsetMs ?? 0, category: category.name, data });
  }
  if (readings.length === 0 && problems.length === 0) problem(1, 'trace', 'holds no readings');
  if (problems.length > 0) throw new TrustError('INVALID_CONFIG', `invalid trace:\n${problems.join('\n')}`);
  return readings;
}

/** A device model that replays a trace: `step` returns the trace's readings in [from, to), like any model. */
export function createTraceModel(type: string, startMs: number, readings: readonly TraceReading[]): DeviceModel {
  let next = 0;
  return {
    type,
    step(fromMs: number, toMs: number): Reading[] {
      const out: Reading[] = [];
      // Readings before `fromMs` fell in a gap (power off): skipped, as a synthetic model skips them.
      while (next < readings.length && startMs + (readings[next]?.offsetMs ?? 0) < fromMs) next++;
      for (; next < readings.length; next++) {
        const r = readings[next];
        if (r === undefined || startMs + r.offsetMs >= toMs) break;
        out.push({ category: r.category, data: { ...r.data }, at: startMs + r.offsetMs });
      }
      return out;
    },
  };
}

interface Row {
  line: number;
  at: unknown;
  category: unknown;
  values: Record<string, unknown>;
  csv: boolean;
}

type Problem = (line: number, field: string, message: string) => void;

function jsonRows(text: string, problem: Problem): Row[] {
  const rows: Row[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      problem(i + 1, 'line', 'is not JSON (one { "at", "category", "data" } object per line)');
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      problem(i + 1, 'line', 'is not a JSON object');
      return;
    }
    const o = parsed as Record<string, unknown>;
    const data = o.data;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      problem(i + 1, 'data', 'must be an object of field values');
      return;
    }
    rows.push({ line: i + 1, at: o.at, category: o.category, values: data as Record<string, unknown>, csv: false });
  });
  return rows;
}

function csvRows(text: string, problem: Problem): Row[] {
  const lines = text.split('\n');
  let header: string[] | undefined;
  const rows: Row[] = [];
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) return;
    const cells = splitCsv(line);
    if (cells === undefined) {
      problem(i + 1, 'line', 'has an unterminated quote');
      return;
    }
    if (header === undefined) {
      header = cells.map((c) => c.trim());
      if (header[0] !== 'at' || header[1] !== 'category') problem(i + 1, 'header', 'must start with at,category (then the field names)');
      return;
    }
    if (cells.length > header.length) problem(i + 1, 'line', `has ${cells.length} cells, the header ${header.length}`);
    const values: Record<string, unknown> = {};
    header.slice(2).forEach((name, c) => { values[name] = cells[c + 2] ?? ''; });
    rows.push({ line: i + 1, at: cells[0], category: cells[1], values, csv: true });
  });
  return rows;
}

/** Split one CSV line (double quotes, "" inside quotes); undefined when a quote is not closed. */
function splitCsv(line: string): string[] | undefined {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { cells.push(cell); cell = ''; } else cell += c;
  }
  if (quoted) return undefined;
  cells.push(cell);
  return cells;
}

function offsetOf(at: unknown, startMs: number): number | undefined {
  if (typeof at === 'number') return Number.isFinite(at) ? at : undefined;
  if (typeof at !== 'string' || at.trim() === '') return undefined;
  const text = at.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (/^\d{4}-\d\d-\d\dT/.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : ms - startMs;
  }
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/** The value in the field's type, or a problem text marked with a leading NUL. */
function typed(raw: unknown, def: FieldDef, fromCsv: boolean): ReadingValue {
  const bad = (message: string): string => `\u0000${JSON.stringify(raw)} ${message}`;
  switch (def.type) {
    case 'number': {
      const n = fromCsv && typeof raw === 'string' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n)) return bad('is not a number');
      if (def.min !== undefined && n < def.min) return bad(`is below the minimum ${def.min}`);
      if (def.max !== undefined && n > def.max) return bad(`is above the maximum ${def.max}`);
      return n;
    }
    case 'boolean': {
      const b = fromCsv && (raw === 'true' || raw === 'false') ? raw === 'true' : raw;
      return typeof b === 'boolean' ? b : bad('is not true or false');
    }
    case 'enum':
      return typeof raw === 'string' && def.values.includes(raw) ? raw : bad(`is not one of ${def.values.join(', ')}`);
    case 'string':
      if (typeof raw !== 'string') return bad('is not a string');
      return raw.length <= def.maxLength ? raw : bad(`is longer than ${def.maxLength} characters`);
  }
}
