import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isTrustError } from '../agent/errors.js';
import { formatDuration, parseDuration } from '../simulator/scenario/duration.js';
import { loadScenarioFile, parseScenario, type ScenarioIssue } from '../simulator/scenario/loader.js';

const DIR = fileURLToPath(new URL('../simulator/scenarios', import.meta.url));
const SCHEMA_FILE = fileURLToPath(new URL('../simulator/schema/scenario.schema.json', import.meta.url));

function issuesOf(text: string): ScenarioIssue[] {
  const result = parseScenario(text);
  if (result.ok) throw new Error('expected the scenario to be rejected');
  return result.issues;
}

/** A valid base scenario, one property per line so line numbers are predictable. */
const BASE = {
  name: 'probe',
  seed: 1,
  duration: '1d',
  fleet: [{ type: 'fitness-tracker', count: 2, idPrefix: 'tracker' }],
  events: [{ at: '1h', type: 'preference', device: 'tracker-1', patch: { 'heart-rate': 'minimised' } }],
};
const text = (value: unknown): string => JSON.stringify(value, null, 2);

describe('scenario library', () => {
  it('every shipped scenario is valid, and each event family is covered', async () => {
    const files = (await readdir(DIR)).filter((f) => f.endsWith('.json'));
    expect(files).toContain('default.json');
    const families = new Set<string>();
    for (const file of files) {
      const scenario = await loadScenarioFile(join(DIR, file));
      expect(scenario.name).toBe(file.replace(/\.json$/, ''));
      for (const e of scenario.events) families.add(e.type);
      expect(scenario.events.every((e, i) => i === 0 || (scenario.events[i - 1]?.atMs ?? 0) <= e.atMs)).toBe(true);
    }
    for (const family of ['preference', 'reset', 'broker-outage', 'power-loss', 'partition', 'clock', 'policy-update', 'erase', 'export', 'transfer', 'hostile']) {
      expect(families).toContain(family);
    }
  });

  it('the default scenario is a small household over 7 virtual days exercising the main events', async () => {
    const scenario = await loadScenarioFile(join(DIR, 'default.json'));
    expect(scenario.durationMs).toBe(7 * 86_400_000);
    expect(new Set(scenario.devices.map((d) => d.type))).toEqual(new Set(['thermostat', 'smart-lock', 'fitness-tracker']));
    expect(scenario.devices.length).toBeLessThanOrEqual(6);
    expect(scenario.speed).toBe('virtual');
    expect(scenario.broker).toEqual({ kind: 'embedded' });
    const types = new Set(scenario.events.map((e) => e.type));
    for (const t of ['preference', 'broker-outage', 'power-loss', 'partition', 'policy-update', 'hostile']) expect(types).toContain(t);
  });

  it('the published schema file is draft 2020-12 and every rule in it is what the loader enforces', async () => {
    const published = JSON.parse(await readFile(SCHEMA_FILE, 'utf8')) as { $schema: string; required: string[]; additionalProperties: boolean };
    expect(published.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    // Rules read from the file on disk, checked against the loader's behaviour.
    expect(published.additionalProperties).toBe(false);
    expect(issuesOf(JSON.stringify({ ...BASE, surprise: 1 })).map((i) => i.path)).toContain('surprise');
    for (const field of published.required) {
      const { [field]: _dropped, ...rest } = BASE as Record<string, unknown>;
      expect(issuesOf(JSON.stringify(rest)).length, `without ${field}`).toBeGreaterThan(0);
    }
  });

  it('resolves ids, seeds, times and patches', () => {
    const result = parseScenario(text({ ...BASE, start: '2026-03-01T00:00:00Z', events: [
      { at: '2h30m', type: 'preference', device: 'tracker-2', patch: { location: { setting: 'minimised', retention: '6h' } } },
      { at: '1h', type: 'broker-outage', duration: 90_000 },
    ] }));
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const s = result.scenario;
    expect(s.devices.map((d) => d.id)).toEqual(['tracker-1', 'tracker-2']);
    expect(s.devices[0]?.seed).not.toBe(s.devices[1]?.seed);
    expect(s.events[0]).toMatchObject({ type: 'broker-outage', atMs: Date.UTC(2026, 2, 1, 1), durationMs: 90_000 });
    expect(s.events[1]).toMatchObject({ type: 'preference', patch: { location: { setting: 'minimised', retentionMs: 6 * 3_600_000 } } });
    expect(s.enforcementBoundMs).toBe(60_000);
  });
});

describe('scenario errors name the path and the line', () => {
  it('wrong type', () => {
    const issues = issuesOf(text({ ...BASE, seed: 'one' }));
    expect(issues).toContainEqual({ path: 'seed', line: 3, message: 'must be integer, got string' });
  });

  it('unknown event type, at its own line', () => {
    const source = text({ ...BASE, events: [{ at: '1h', type: 'explode' }] });
    const [issue] = issuesOf(source);
    expect(issue?.path).toBe('events[0].type');
    expect(source.split('\n')[(issue?.line ?? 0) - 1]).toContain('"explode"');
  });

  it('missing property and unknown property', () => {
    const issues = issuesOf(text({ ...BASE, events: [{ at: '1h', type: 'partition', device: 'tracker-1', colour: 'red' }] }));
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual(expect.arrayContaining([
      'events[0]: missing required property "duration"',
      'events[0].colour: unknown property "colour"',
    ]));
  });

  it('bad duration', () => {
    const [issue] = issuesOf(text({ ...BASE, duration: '2 weeks' }));
    expect(issue?.path).toBe('duration');
    expect(issue?.message).toMatch(/does not match/);
  });

  it('a device that is not in the fleet, and a category the device does not have', () => {
    const issues = issuesOf(text({ ...BASE, events: [
      { at: '1h', type: 'partition', device: 'tracker-3', duration: '1h' },
      { at: '1h', type: 'preference', device: 'tracker-1', patch: { climate: 'off' } },
    ] }));
    expect(issues.find((i) => i.path === 'events[0].device')?.message).toMatch(/no device "tracker-3"/);
    expect(issues.find((i) => i.path === 'events[1].patch.climate')?.message).toMatch(/not a category of a fitness-tracker/);
    expect(issues.every((i) => typeof i.line === 'number')).toBe(true);
  });

  it('safety data cannot be turned off; events cannot be after the end', () => {
    const issues = issuesOf(text({ ...BASE, fleet: [{ type: 'smart-lock', count: 1, idPrefix: 'lock' }], events: [
      { at: '1h', type: 'preference', device: 'lock-1', patch: { 'safety-alert': 'off' } },
      { at: '2d', type: 'export', device: 'lock-1' },
    ] }));
    expect(issues.map((i) => i.path)).toEqual(['events[0].patch.safety-alert', 'events[1].at']);
  });

  it('duplicate device ids across fleet entries', () => {
    const issues = issuesOf(text({ ...BASE, fleet: [{ type: 'thermostat', count: 1, idPrefix: 'x' }, { type: 'smart-lock', count: 1, idPrefix: 'x' }], events: [] }));
    expect(issues[0]?.path).toBe('fleet[1].idPrefix');
  });

  it('JSON syntax errors give the line', () => {
    const [issue] = issuesOf('{\n  "name": "x",\n  "seed": 1,\n}\n');
    expect(issue?.line).toBe(4);
  });

  it('loadScenarioFile throws one TrustError listing file:line: path: message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scenario-'));
    const file = join(dir, 'bad.json');
    const source = text({ ...BASE, speed: 'warp' });
    await writeFile(file, source);
    const line = source.split('\n').findIndex((l) => l.includes('"speed"')) + 1;
    const error = await loadScenarioFile(file).catch((e: unknown) => e);
    expect(isTrustError(error, 'INVALID_CONFIG')).toBe(true);
    expect((error as Error).message).toContain(`${file}:${line}: speed: must be one of "virtual", "realtime"`);
  });
});

describe('durations', () => {
  it('parse and format', () => {
    expect(parseDuration('2h30m')).toBe(9_000_000);
    expect(parseDuration('-10m')).toBe(-600_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration(42)).toBe(42);
    expect(formatDuration(90_061_000)).toBe('1d1h1m1s');
    expect(formatDuration(-7_200_000)).toBe('-2h');
  });
});
