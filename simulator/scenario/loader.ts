import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { registryFor } from '../../agent/policy/devices/index.js';
import { parseTrace, type TraceReading } from '../models/trace.js';
import { TrustError } from '../../agent/errors.js';
import { mixSeed } from '../models/prng.js';
import { DEVICE_TYPES, type DeviceType } from '../models/types.js';
import { loadRegistry } from '../../agent/policy/registry.js';
import type { Registry } from '../../agent/policy/registry-types.js';
import { isShippedType } from './devices.js';
import { categoryRule } from '../verdicts/data-model.js';
import { parseDuration } from './duration.js';
import { JsonSyntaxError, formatPath, lineOf, parseJsonWithLines, type JsonPath } from './json-source.js';
import { validateSchema } from './validate.js';
import { SCENARIO_SCHEMA } from './schema.js';
import type { PreferenceChange, Scenario, ScenarioDevice, ScenarioEvent } from './types.js';

export interface ScenarioIssue {
  path: string;
  line?: number;
  message: string;
}

export type ScenarioResult = { ok: true; scenario: Scenario } | { ok: false; issues: ScenarioIssue[] };

const DEFAULT_START = '2026-01-05T00:00:00Z';
const DEFAULT_BOUND_MS = 60_000;

/** Parse and validate scenario text; never throws for bad input, returns every issue with its path and line. */
export function parseScenario(text: string, source?: string): ScenarioResult {
  let parsed: { value: unknown; lines: Map<string, number> };
  try {
    parsed = parseJsonWithLines(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) return { ok: false, issues: [{ path: '(root)', line: err.line, message: err.message }] };
    throw err;
  }
  const issue = (path: JsonPath, message: string): ScenarioIssue => {
    const line = lineOf(parsed.lines, path);
    return line === undefined ? { path: formatPath(path), message } : { path: formatPath(path), line, message };
  };
  const schemaIssues = validateSchema(SCENARIO_SCHEMA, parsed.value);
  if (schemaIssues.length > 0) return { ok: false, issues: schemaIssues.map((i) => issue(i.path, i.message)) };
  const raw = parsed.value as RawScenario;
  const semantic: ScenarioIssue[] = [];
  const scenario = buildScenario(raw, (path, message) => semantic.push(issue(path, message)));
  if (semantic.length > 0) return { ok: false, issues: semantic };
  return { ok: true, scenario: source === undefined ? scenario : { ...scenario, source } };
}

export function formatIssues(issues: ScenarioIssue[], source = 'scenario'): string {
  return issues.map((i) => `${source}${i.line === undefined ? '' : `:${i.line}`}: ${i.path}: ${i.message}`).join('\n');
}

/** Read, validate and resolve a scenario file; throws TrustError INVALID_CONFIG listing every issue. */
export async function loadScenarioFile(path: string): Promise<Scenario> {
  const text = await readFile(path, 'utf8');
  const result = parseScenario(text, path);
  if (!result.ok) throw new TrustError('INVALID_CONFIG', `invalid scenario\n${formatIssues(result.issues, path)}`);
  return attachTraces(result.scenario, path);
}

interface RawScenario {
  name: string;
  description?: string;
  seed: number;
  start?: string;
  duration: string | number;
  speed?: 'virtual' | 'realtime';
  broker?: 'embedded' | { url: string; ca?: string };
  home?: { lat: number; lon: number };
  fleet: Array<{ type: string; count: number; idPrefix?: string; trace?: string; registry?: string }>;
  enforcementBound?: string | number;
  events?: Array<Record<string, unknown> & { type: string; at: string | number }>;
}

type Report = (path: JsonPath, message: string) => void;

function buildScenario(raw: RawScenario, report: Report): Scenario {
  const startMs = Date.parse(raw.start ?? DEFAULT_START);
  if (Number.isNaN(startMs)) report(['start'], 'is not a valid date');
  const durationMs = parseDuration(raw.duration);
  if (durationMs <= 0) report(['duration'], 'must be longer than zero');
  const devices = expandFleet(raw, report);
  const byId = new Map(devices.map((d) => [d.id, d]));
  const events = (raw.events ?? []).map((e, i) => resolveEvent(e, i, startMs, durationMs, byId, report));
  events.sort((a, b) => a.atMs - b.atMs || a.index - b.index);
  const broker: Scenario['broker'] = raw.broker === undefined || raw.broker === 'embedded'
    ? { kind: 'embedded' }
    : raw.broker.ca === undefined ? { kind: 'external', url: raw.broker.url } : { kind: 'external', url: raw.broker.url, ca: raw.broker.ca };
  const scenario: Scenario = {
    name: raw.name,
    description: raw.description ?? '',
    seed: raw.seed,
    startMs,
    durationMs,
    endMs: startMs + durationMs,
    speed: raw.speed ?? 'virtual',
    broker,
    fleet: raw.fleet.map((f) => ({ type: f.type, count: f.count, idPrefix: f.idPrefix ?? f.type })),
    devices,
    enforcementBoundMs: raw.enforcementBound === undefined ? DEFAULT_BOUND_MS : parseDuration(raw.enforcementBound),
    events,
  };
  if (raw.home) scenario.home = raw.home;
  return scenario;
}

function expandFleet(raw: RawScenario, report: Report): ScenarioDevice[] {
  const devices: ScenarioDevice[] = [];
  const seen = new Set<string>();
  raw.fleet.forEach((group, g) => {
    const prefix = group.idPrefix ?? group.type;
    if (!isShippedType(group.type) && (group.registry === undefined || group.trace === undefined)) {
      report(['fleet', g, 'type'], `"${group.type}" is not a shipped type (${DEVICE_TYPES.join(', ')}): a custom type needs its "registry" and a "trace"`);
      return;
    }
    for (let n = 1; n <= group.count; n++) {
      const id = `${prefix}-${n}`;
      if (seen.has(id)) {
        report(['fleet', g, 'idPrefix'], `device id "${id}" is already used by another fleet entry`);
        return;
      }
      seen.add(id);
      devices.push({
        id, type: group.type, seed: mixSeed(raw.seed, id),
        ...(group.trace === undefined ? {} : { traceFile: group.trace }), ...(group.registry === undefined ? {} : { registryFile: group.registry }),
      });
    }
  });
  return devices;
}

function resolveEvent(
  raw: Record<string, unknown> & { type: string; at: string | number }, index: number, startMs: number, durationMs: number,
  devices: Map<string, ScenarioDevice>, report: Report,
): ScenarioEvent {
  const path: JsonPath = ['events', index];
  const offset = parseDuration(raw.at);
  if (offset > durationMs) report([...path, 'at'], 'is after the end of the scenario');
  const base = { atMs: startMs + offset, index, ...(typeof raw.note === 'string' ? { note: raw.note } : {}) };
  const ms = (key: string): number => parseDuration(raw[key] as string | number);
  const device = typeof raw.device === 'string' ? raw.device : '';
  if ('device' in raw && !devices.has(device)) {
    report([...path, 'device'], `no device "${device}" in the fleet (ids are idPrefix-1 .. idPrefix-count: ${[...devices.keys()].slice(0, 6).join(', ')})`);
  }
  switch (raw.type) {
    case 'preference':
      return { ...base, type: 'preference', device, patch: resolvePatch(raw.patch as Record<string, unknown>, devices.get(device), [...path, 'patch'], report) };
    case 'reset': case 'export': case 'transfer':
      return { ...base, type: raw.type, device };
    case 'broker-outage':
      return { ...base, type: 'broker-outage', durationMs: ms('duration') };
    case 'power-loss': case 'partition':
      return { ...base, type: raw.type, device, durationMs: ms('duration') };
    case 'clock': {
      const jumpMs = ms('jump');
      return raw.duration === undefined ? { ...base, type: 'clock', device, jumpMs } : { ...base, type: 'clock', device, jumpMs, durationMs: ms('duration') };
    }
    case 'policy-update':
      return resolvePolicyUpdate(raw, base, path, report);
    case 'erase':
      return typeof raw.user === 'string' ? { ...base, type: 'erase', device, user: raw.user } : { ...base, type: 'erase', device };
    case 'hostile':
      return { ...base, type: 'hostile', device, kind: raw.kind as 'forged', count: typeof raw.count === 'number' ? raw.count : 1 };
    default:
      throw new TrustError('INVALID_CONFIG', `unhandled event type ${raw.type}`);
  }
}

function resolvePatch(
  raw: Record<string, unknown>, device: ScenarioDevice | undefined, path: JsonPath, report: Report,
): Record<string, PreferenceChange> {
  const patch: Record<string, PreferenceChange> = {};
  for (const [category, value] of Object.entries(raw)) {
    const change: PreferenceChange = typeof value === 'string'
      ? { setting: value as PreferenceChange['setting'] }
      : { setting: (value as { setting: PreferenceChange['setting'] }).setting };
    const retention = typeof value === 'object' && value !== null ? (value as { retention?: string | number }).retention : undefined;
    if (retention !== undefined) change.retentionMs = parseDuration(retention);
    patch[category] = change;
    // A custom type's categories are known once its registry is read (checkCustomPatches, at load).
    if (!device || device.registryFile !== undefined) continue;
    const rule = categoryRule(device, category);
    if (!rule) report([...path, category], `"${category}" is not a category of a ${device.type}`);
    else if (rule.safety && change.setting !== 'full') report([...path, category], `"${category}" is safety data and cannot be changed`);
  }
  return patch;
}

function resolvePolicyUpdate(
  raw: Record<string, unknown>, base: { atMs: number; index: number }, path: JsonPath, report: Report,
): ScenarioEvent {
  const deviceType = raw.deviceType as DeviceType;
  const category = raw.category as string;
  if (!categoryRule({ type: deviceType }, category)) report([...path, 'category'], `"${category}" is not a category of a ${deviceType}`);
  const w = raw.widen as { retention?: string | number; recipients?: string[]; default?: PreferenceChange['setting'] };
  const widen: Extract<ScenarioEvent, { type: 'policy-update' }>['widen'] = {};
  if (w.retention !== undefined) widen.retentionMs = parseDuration(w.retention);
  if (w.recipients) widen.recipients = w.recipients;
  if (w.default) widen.default = w.default;
  return { ...base, type: 'policy-update', deviceType, category, widen };
}

/**
 * Devices with a `trace` replay it instead of the synthetic model: read relative to the scenario file and checked
 * against the device type's registry (a custom type's own, from its `registry` file), each problem named by trace
 * file, line and field.
 */
export async function attachTraces(scenario: Scenario, scenarioPath: string): Promise<Scenario> {
  if (!scenario.devices.some((d) => d.traceFile !== undefined)) return scenario;
  const loaded = new Map<string, TraceReading[]>();
  const registries = new Map<string, Registry>();
  const devices: ScenarioDevice[] = [];
  for (const device of scenario.devices) {
    if (device.traceFile === undefined) {
      devices.push(device);
      continue;
    }
    const registry = device.registryFile === undefined ? undefined : await customRegistry(device, scenarioPath, registries);
    const file = resolve(dirname(scenarioPath), device.traceFile);
    const key = `${registry?.deviceType ?? device.type}\u0000${file}`;
    let readings = loaded.get(key);
    if (readings === undefined) {
      const text = await readText(file, scenarioPath, `fleet trace ${device.traceFile}`);
      readings = parseTrace(text, device.traceFile, registry ?? registryFor(device.type), scenario.startMs);
      loaded.set(key, readings);
    }
    devices.push({ ...device, trace: readings, ...(registry === undefined ? {} : { registry }) });
  }
  const resolved = { ...scenario, devices };
  checkCustomPatches(resolved, scenarioPath);
  return resolved;
}

async function readText(file: string, scenarioPath: string, what: string): Promise<string> {
  return readFile(file, 'utf8').catch((cause: unknown) => {
    throw new TrustError('INVALID_CONFIG', `${scenarioPath}: ${what}: cannot read ${file}`, { cause });
  });
}

/** A custom type's JSON registry, validated by the agent's own loadRegistry and matched to the fleet entry's type. */
async function customRegistry(device: ScenarioDevice, scenarioPath: string, cache: Map<string, Registry>): Promise<Registry> {
  const file = resolve(dirname(scenarioPath), device.registryFile ?? '');
  const cached = cache.get(file);
  if (cached) return cached;
  const what = `fleet registry ${device.registryFile ?? ''}`;
  const text = await readText(file, scenarioPath, what);
  let registry: Registry;
  try {
    registry = loadRegistry(JSON.parse(text));
  } catch (cause) {
    throw new TrustError('INVALID_CONFIG', `${scenarioPath}: ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  if (registry.deviceType !== device.type) {
    throw new TrustError('INVALID_CONFIG', `${scenarioPath}: ${what}: is the registry of "${registry.deviceType}", the fleet entry says "${device.type}"`);
  }
  cache.set(file, registry);
  return registry;
}

/** Preference events of custom devices, checked against their registry once it is read (as the schema step does for the shipped). */
function checkCustomPatches(scenario: Scenario, scenarioPath: string): void {
  const problems: string[] = [];
  for (const e of scenario.events) {
    if (e.type !== 'preference') continue;
    const device = scenario.devices.find((d) => d.id === e.device);
    if (device?.registry === undefined) continue;
    for (const [category, change] of Object.entries(e.patch)) {
      const rule = categoryRule(device, category);
      if (!rule) problems.push(`events[${e.index}].patch.${category}: "${category}" is not a category of a ${device.type}`);
      else if (rule.safety && change.setting !== 'full') problems.push(`events[${e.index}].patch.${category}: "${category}" is safety data and cannot be changed`);
    }
  }
  if (problems.length > 0) throw new TrustError('INVALID_CONFIG', `invalid scenario\n${problems.map((p) => `${scenarioPath}: ${p}`).join('\n')}`);
}
