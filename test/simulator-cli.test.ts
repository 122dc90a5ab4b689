import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { isTrustError } from '../agent/errors.js';
import { listLibrary, resolveScenario } from '../simulator/scenario/library.js';
import { loadScenarioFile } from '../simulator/scenario/loader.js';
import { withDuration } from '../simulator/scenario/override.js';
import { SCENARIO_DIR } from './simulator-run-support.js';

/** The built bin (npm test builds first), run as a user runs it. */
const run = promisify(execFile);
async function simulate(args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['dist/cli.js', 'simulate', ...args], { timeout: 120_000 });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: e.stdout ?? '', err: e.stderr ?? '' };
  }
}

const out = mkdtempSync(join(tmpdir(), 'sim-cli-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const HOUR = 3_600_000;

describe('simulate: scenarios by name', () => {
  it('--help and --list name every scenario of the library folder, --list with its duration and fleet', async () => {
    const names = listLibrary(SCENARIO_DIR).map((e) => e.name);
    expect(names).toContain('data-rights');
    expect(names).toContain('scale/fleet-30d');
    const help = await simulate(['--help']);
    const list = await simulate(['--list']);
    expect([help.code, list.code]).toEqual([0, 0]);
    for (const name of names) {
      expect(help.out).toMatch(new RegExp(`^  ${name} `, 'm'));
      expect(list.out).toMatch(new RegExp(`^${name} `, 'm'));
    }
    expect(list.out).toMatch(/^data-rights +3d, 3 devices, 5 events +Export, erase/m);
  });

  it('a name resolves to the library file; an unknown name or missing file is a usage error listing the library, not ENOENT', async () => {
    expect(resolveScenario('data-rights', SCENARIO_DIR)).toBe(join(SCENARIO_DIR, 'data-rights.json'));
    expect(resolveScenario('fleet-30d', SCENARIO_DIR)).toBe(join(SCENARIO_DIR, 'scale', 'fleet-30d.json'));
    expect(resolveScenario(undefined, SCENARIO_DIR)).toBe(join(SCENARIO_DIR, 'default.json'));
    const unknown = await simulate(['data-right']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("no scenario named 'data-right' (the library has: broker-outage, clock-skew, data-rights,");
    expect(unknown.err).not.toMatch(/ENOENT/);
    const missing = await simulate(['nowhere/mine.json']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/no scenario file nowhere\/mine\.json \(the library has: /);
  });
});

describe('simulate: --duration against the scenario events', () => {
  it('shorter than the events: exit 2, naming every event that would be dropped or cut short', async () => {
    const r = await simulate(['data-rights', '--duration', '2h']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--duration 2h is shorter than the scenario's events (it runs 3d); 4 of 5 events would be dropped or cut short:");
    expect(r.err).toContain('events[1] at 1d: export tracker-1');
    expect(r.err).toContain('events[4] at 2d: transfer tracker-1');
    expect(r.err).toContain('--rescale');
  });

  it('an outage still running at the new end is named as cut short', async () => {
    const s = await loadScenarioFile(join(SCENARIO_DIR, 'default.json'));
    let caught: unknown;
    try {
      withDuration(s, 31 * HOUR);
    } catch (error) {
      caught = error;
    }
    expect(isTrustError(caught) && caught.code).toBe('INVALID_ARGUMENT');
    expect((caught as Error).message).toContain('events[2] at 1d6h: broker-outage (3h) (still running at the end: ends at 1d9h)');
  });

  it('longer, or every event fits: same events, and the description says what was changed', async () => {
    const s = await loadScenarioFile(join(SCENARIO_DIR, 'default.json'));
    const longer = withDuration(s, 9 * 24 * HOUR);
    expect(longer.events).toEqual(s.events);
    expect(longer.description).toMatch(/\[run for 9d instead of 7d; events unchanged\]$/);
    const fits = withDuration(s, 6 * 24 * HOUR + 1);
    expect(fits.events).toEqual(s.events);
    expect(fits.endMs).toBe(s.startMs + 6 * 24 * HOUR + 1);
  });

  it('--rescale runs every event inside the shorter run, and the report says it was rescaled', async () => {
    const dir = join(out, 'hostile');
    const r = await simulate(['hostile-inputs', '--duration', '2h', '--rescale', '--quiet', '--out', dir]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { scenario: { durationMs: number; description: string }; markers: Array<{ at: number }>; rejected: Array<{ sent: number }> };
    expect(report.scenario.durationMs).toBe(2 * HOUR);
    expect(report.scenario.description).toMatch(/\[rescaled from 1d to 2h: event times and durations scaled by the same factor\]$/);
    const s = await loadScenarioFile(join(SCENARIO_DIR, 'hostile-inputs.json'));
    expect(report.markers).toHaveLength(s.events.length);
    expect(report.rejected.reduce((n, k) => n + k.sent, 0)).toBeGreaterThan(0);
  }, 120_000);
});

describe('simulate: attach options', () => {
  it('--unpaired names a device that is not in the fleet: usage error listing the fleet; --help documents --keys-out', async () => {
    const r = await simulate(['power-loss', '--unpaired', 'lock-1']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--unpaired: no device lock-1 in the fleet (devices: thermostat-1, smart-lock-1, fitness-tracker-1)');
    const help = await simulate(['--help']);
    expect(help.out).toMatch(/--keys-out DIR .*broker URL/);
    expect(help.out).toMatch(/--unpaired IDS/);
  });
});
