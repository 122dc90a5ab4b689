import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { smartPlugRegistry } from '../examples/smart-plug/registry.js';
import { runSimulation } from '../simulator/run/index.js';
import { loadScenarioFile } from '../simulator/scenario/loader.js';
import { bypassGate, failed, ignoreWithdrawal } from './simulator-run-support.js';

// A firmware team's own device type (the smart plug example: its registry and a recorded day) through the whole
// simulator: real agents running that registry, the embedded broker, the collector, and every verdict judging the
// plugs by the same registry.
const EXAMPLE = fileURLToPath(new URL('../examples/smart-plug/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sim-custom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a custom device type from a trace, judged by every verdict', () => {
  it('examples/smart-plug/registry.json is the example registry (registry.ts) as JSON', () => {
    expect(JSON.parse(readFileSync(join(EXAMPLE, 'registry.json'), 'utf8'))).toEqual(smartPlugRegistry);
  });

  it('the smart plug scenario: two plugs and a thermostat, every verdict checked plug records and passes', async () => {
    const s = await loadScenarioFile(join(EXAMPLE, 'scenario.json'));
    const result = await runSimulation(s);
    expect(failed(result.verdicts)).toEqual([]);
    for (const v of result.verdicts) expect(v.checked, v.id).toBeGreaterThan(0);
    const plug = (id: string, category: string) => result.evidence.delivered.filter((r) => r.deviceId === id && r.category === category);
    // Minimised power is the registry's first level: 100 W buckets, no appliance name, times on 15 minutes.
    const minimised = plug('plug-1', 'power').filter((r) => r.at < s.startMs + 5 * 3_600_000);
    expect(minimised.length).toBeGreaterThan(10);
    for (const r of minimised) expect(Object.keys(r.data)).toEqual(['watts']);
    // Occupancy (off by default) is sent only after the opt-in, as the hourly aggregate.
    expect(plug('plug-1', 'occupancy').every((r) => r.at >= s.startMs + 2 * 3_600_000 && 'homeReadings' in r.data)).toBe(true);
    expect(plug('plug-1', 'overheat').map((r) => r.data)).toEqual([{ celsius: 92.5 }]);
    expect(result.report.devices.find((d) => d.id === 'plug-2')?.type).toBe('smart-plug');
  }, 120_000);

  it('a broken build of the plug: raw power through a bypassed gate fails minimisation, an ignored withdrawal fails withdrawal', async () => {
    const s = await loadScenarioFile(join(EXAMPLE, 'scenario.json'));
    const result = await runSimulation(s, {
      afterBoot: (agent, d) => {
        if (d.id !== 'plug-1') return;
        bypassGate(agent, 'power', (data) => data);
        ignoreWithdrawal(agent, 'occupancy', () => ({ homeReadings: 3 }));
      },
    });
    const verdict = (id: string) => result.verdicts.find((v) => v.id === id);
    expect(failed(result.verdicts).map((f) => f.split(':')[0])).toEqual(['withdrawal', 'minimisation']);
    expect(verdict('minimisation')?.firstOffending).toMatchObject({ record: { deviceId: 'plug-1', category: 'power' } });
    expect(JSON.stringify(verdict('minimisation')?.firstOffending)).toMatch(/field appliance sent though the level drops it|watts not bucketed to 100|timestamp not truncated to 15 min/);
    expect(verdict('withdrawal')?.firstOffending).toMatchObject({ why: 'delivered data taken while the category was off or local', record: { deviceId: 'plug-1', category: 'occupancy' } });
  }, 120_000);
});

describe('a custom device type needs a valid registry of its own', () => {
  const scenario = (name: string, fleet: Record<string, unknown>, events: unknown[] = []): string => {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify({ name, seed: 1, duration: '1h', fleet: [{ type: 'smart-plug', count: 1, idPrefix: 'plug', ...fleet }], events }));
    return path;
  };
  copyFileSync(join(EXAMPLE, 'trace.csv'), join(dir, 'trace.csv'));
  copyFileSync(join(EXAMPLE, 'registry.json'), join(dir, 'registry.json'));

  it('no registry, a registry without a trace: refused by the schema step, naming the fleet entry', async () => {
    await expect(loadScenarioFile(scenario('no-registry', { trace: 'trace.csv' })))
      .rejects.toThrow(/no-registry\.json:1: fleet\[0\]\.type: "smart-plug" is not a shipped type \(thermostat, smart-lock, fitness-tracker\): a custom type needs its "registry" and a "trace"/);
    await expect(loadScenarioFile(scenario('no-trace', { registry: 'registry.json' }))).rejects.toThrow(/fleet\[0\]: "registry" needs "trace" as well/);
  });

  it('a registry file that is missing, not JSON, contradictory or of another type: refused with the file and the reason', async () => {
    await expect(loadScenarioFile(scenario('missing', { registry: 'nope.json', trace: 'trace.csv' }))).rejects.toThrow(/missing\.json: fleet registry nope\.json: cannot read .*nope\.json/);
    writeFileSync(join(dir, 'broken.json'), '{ "format": 1,');
    await expect(loadScenarioFile(scenario('not-json', { registry: 'broken.json', trace: 'trace.csv' }))).rejects.toThrow(/fleet registry broken\.json: .*JSON/);
    const contradictory = structuredClone(smartPlugRegistry);
    const overheat = contradictory.categories.find((c) => c.name === 'overheat');
    if (overheat) overheat.settings = ['off', 'full'];
    writeFileSync(join(dir, 'plug-contradictory.json'), JSON.stringify(contradictory));
    await expect(loadScenarioFile(scenario('contradictory', { registry: 'plug-contradictory.json', trace: 'trace.csv' })))
      .rejects.toThrow(/fleet registry plug-contradictory\.json: .*categories\[1\]\.settings/);
    await expect(loadScenarioFile(scenario('other-type', { type: 'thermostat', registry: 'registry.json', trace: 'trace.csv' })))
      .rejects.toThrow(/fleet registry registry\.json: is the registry of "smart-plug", the fleet entry says "thermostat"/);
  });

  it("the trace and the owner's events are checked against the custom registry", async () => {
    writeFileSync(join(dir, 'wrong.csv'), 'at,category,temperatureC,humidityPct\n0,climate,20,40\n');
    await expect(loadScenarioFile(scenario('wrong-trace', { registry: 'registry.json', trace: 'wrong.csv' })))
      .rejects.toThrow(/wrong\.csv:2: category: "climate" is not a category of smart-plug/);
    const events = [{ at: '10m', type: 'preference', device: 'plug-1', patch: { climate: 'full', overheat: 'off' } }];
    const error = loadScenarioFile(scenario('wrong-patch', { registry: 'registry.json', trace: 'trace.csv' }, events));
    await expect(error).rejects.toThrow(/events\[0\]\.patch\.climate: "climate" is not a category of a smart-plug/);
    await expect(error).rejects.toThrow(/events\[0\]\.patch\.overheat: "overheat" is safety data and cannot be changed/);
  });
});
