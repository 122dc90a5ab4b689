import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isTrustError } from '../agent/errors.js';
import { registryFor } from '../agent/policy/devices/index.js';
import { smartPlugRegistry } from '../examples/smart-plug/registry.js';
import { loadRegistry } from '../agent/policy/index.js';
import { createModel } from '../simulator/models/index.js';
import { createTraceModel, parseTrace } from '../simulator/models/trace.js';
import { runSimulation } from '../simulator/run/index.js';
import { loadScenarioFile } from '../simulator/scenario/loader.js';
import { failed } from './simulator-run-support.js';

const dir = mkdtempSync(join(tmpdir(), 'sim-trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const START = Date.parse('2026-01-05T00:00:00Z');
const HOUR = 3_600_000;

function problemsOf(text: string, source: string, registry = registryFor('thermostat')): string {
  try {
    parseTrace(text, source, registry, START);
  } catch (error) {
    expect(isTrustError(error) && error.code).toBe('INVALID_CONFIG');
    return (error as Error).message;
  }
  return '';
}

describe('trace replay: the device model', () => {
  it('a malformed CSV trace names file, line and field for every problem', () => {
    const csv = [
      'at,category,temperatureC,humidityPct,mode,running,setpointC',
      '0,climate,20.5,40,,,',
      '5m,climate,abc,40,,,',
      '10m,climat,20,40,,,',
      '15m,hvac,,,heat,yes,21',
      '2026-01-05T00:12:00Z,climate,20,140,,,',
      '20m,hvac,,,warm,true,',
    ].join('\n');
    const message = problemsOf(csv, 'traces/t.csv');
    expect(message).toContain('traces/t.csv:3: temperatureC: "abc" is not a number');
    expect(message).toContain('traces/t.csv:4: category: "climat" is not a category of thermostat');
    expect(message).toContain('traces/t.csv:5: running: "yes" is not true or false');
    expect(message).toContain('traces/t.csv:6: at: goes back in time');
    expect(message).toContain('traces/t.csv:6: humidityPct: "140" is above the maximum 100');
    expect(message).toContain('traces/t.csv:7: mode: "warm" is not one of heat, cool, off, auto');
    expect(message).toContain('traces/t.csv:7: setpointC: missing');
    expect(message).not.toContain('t.csv:2:');
  });

  it('JSON lines: not JSON, an unknown field, a time before the start', () => {
    const lines = [
      '{"at":"1m","category":"climate","data":{"temperatureC":20,"humidityPct":40}}',
      '{"at":"2m","category":"climate","data":{"temperatureC":20,"humidityPct":40,"co2":400}}',
      'not json',
      '{"at":"2025-12-31T00:00:00Z","category":"climate","data":{"temperatureC":20,"humidityPct":40}}',
    ].join('\n');
    const message = problemsOf(lines, 'tr.jsonl');
    expect(message).toContain('tr.jsonl:2: co2: is not a field of climate');
    expect(message).toContain('tr.jsonl:3: line: is not JSON');
    expect(message).toContain('tr.jsonl:4: at: is before the scenario start');
  });

  it("checks against any registry (the smart plug example's), and replays in slices like a model", () => {
    const plug = loadRegistry(smartPlugRegistry);
    expect(problemsOf('at,category,on\n0,relay,maybe\n', 'plug.csv', plug)).toContain('plug.csv:2: on: "maybe" is not true or false');
    const readings = parseTrace('at,category,on\n0,relay,true\n90s,relay,false\n1h,relay,true\n', 'plug.csv', plug, START);
    const model = createTraceModel('thermostat', START, readings);
    expect(model.step(START, START + 60_000).map((r) => r.data)).toEqual([{ on: true }]);
    // A gap (power off) skips what it covers.
    expect(model.step(START + 30 * 60_000, START + 2 * HOUR).map((r) => r.at - START)).toEqual([HOUR]);
  });
});

describe('trace replay in a run', () => {
  it('a thermostat replaying a recorded CSV trace: every verdict judged and passing, the collector delivers the trace as recorded', async () => {
    // Record six hours of a thermostat (any recorder would do), as CSV.
    const recorded = createModel('thermostat', { seed: 7, startMs: START }).step(START, START + 6 * HOUR);
    const fields = [...new Set(recorded.flatMap((r) => Object.keys(r.data)))];
    const cell = (v: unknown): string => (v === undefined ? '' : /[",]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
    const csv = [['at', 'category', ...fields].join(','), ...recorded.map((r) => [new Date(r.at).toISOString(), r.category, ...fields.map((f) => cell(r.data[f]))].join(','))].join('\n');
    writeFileSync(join(dir, 'thermostat.csv'), `${csv}\n`);
    writeFileSync(join(dir, 'traced.json'), JSON.stringify({
      name: 'traced', seed: 1, duration: '6h', fleet: [{ type: 'thermostat', count: 1, trace: 'thermostat.csv' }, { type: 'smart-lock', count: 1, idPrefix: 'lock' }],
      events: [{ at: '2h', type: 'preference', device: 'thermostat-1', patch: { climate: 'full' } }],
    }));
    const s = await loadScenarioFile(join(dir, 'traced.json'));
    expect(s.devices.find((d) => d.id === 'thermostat-1')?.trace).toHaveLength(recorded.length);
    const result = await runSimulation(s);
    expect(failed(result.verdicts)).toEqual([]);
    // hvac is sent in full by default: exactly the recorded values arrive.
    const sent = recorded.filter((r) => r.category === 'hvac').map((r) => ({ at: r.at, data: r.data }));
    const got = result.evidence.delivered.filter((r) => r.deviceId === 'thermostat-1' && r.category === 'hvac').map((r) => ({ at: r.at, data: r.data }));
    expect(got).toEqual(sent);
    expect(result.evidence.delivered.filter((r) => r.deviceId === 'lock-1').length).toBeGreaterThan(0);
  }, 120_000);

  it('a scenario whose trace is malformed fails to load with the trace file, line and field', async () => {
    writeFileSync(join(dir, 'bad.csv'), 'at,category,temperatureC,humidityPct\n0,climate,20,40\n1m,climate,20,\n');
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ name: 'bad', seed: 1, duration: '1h', fleet: [{ type: 'thermostat', count: 1, trace: 'bad.csv' }] }));
    await expect(loadScenarioFile(join(dir, 'bad.json'))).rejects.toThrow(/bad\.csv:3: humidityPct: missing/);
  });
});
