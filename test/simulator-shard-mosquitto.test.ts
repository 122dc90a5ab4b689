import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SimulationReport } from '../simulator/report/index.js';
import { describeMosquitto, startMosquitto, type MosquittoBroker } from './helpers/mosquitto.js';

const run = promisify(execFile);

/** The built bin (npm test builds first), as a user runs it on each host. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['dist/cli.js', ...args], { timeout: 240_000, maxBuffer: 64 << 20 });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: e.stdout ?? '', err: e.stderr ?? '' };
  }
}

const out = mkdtempSync(join(tmpdir(), 'sim-shard-'));
// The 30-day fleet compressed to 12 virtual hours, every event run for real (as the other simulator tests do).
const FLEET = ['simulate', 'scale/fleet-30d', '--duration', '12h', '--rescale', '--quiet'];
const report = (dir: string): SimulationReport => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as SimulationReport;

// Three shard processes and one whole-fleet process, each shard against the same Mosquitto (the whole fleet on a
// second one, so no retained message of one run is in the other's wire log). Under CI=true a missing Mosquitto fails.
describeMosquitto('sharded simulation on Mosquitto: three processes, one report', () => {
  let shared: MosquittoBroker;
  let alone: MosquittoBroker;
  const shards = [0, 1, 2].map((i) => join(out, `shard-${i}`));
  beforeAll(async () => {
    [shared, alone] = await Promise.all([startMosquitto(), startMosquitto()]);
    writeFileSync(join(out, 'shared-ca.pem'), shared.caPem);
    writeFileSync(join(out, 'alone-ca.pem'), alone.caPem);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([shared?.stop(), alone?.stop()]);
    rmSync(out, { recursive: true, force: true });
  });

  it('fleet-30d on three shard processes gives the verdicts of one process; report merge refuses gaps and overlaps', async () => {
    const broker = (b: MosquittoBroker, ca: string): string[] => ['--broker', b.url, '--ca', join(out, ca)];
    const [whole, ...parts] = await Promise.all([
      cli([...FLEET, ...broker(alone, 'alone-ca.pem'), '--out', join(out, 'whole')]),
      ...shards.map((dir, i) => cli([...FLEET, ...broker(shared, 'shared-ca.pem'), '--shard', `${i}/3`, '--out', dir])),
    ]);
    expect(whole?.code, whole?.err).toBe(0);
    for (const [i, p] of parts.entries()) expect(p.code, `shard ${i}: ${p.err}\n${shared.log()}`).toBe(0);

    const merged = await cli(['report', 'merge', ...shards, '--out', join(out, 'merged'), '--quiet']);
    expect(merged.code, merged.err).toBe(0);
    const one = report(join(out, 'whole'));
    const three = report(join(out, 'merged'));
    expect(three.verdicts).toEqual(one.verdicts);
    expect(three.totals).toEqual(one.totals);
    expect(three.devices.map((d) => [d.id, d.delivered])).toEqual(one.devices.map((d) => [d.id, d.delivered]));
    // Every shard's collector opened telemetry of other shards' devices: the shared subscription really shared.
    for (const dir of shards) {
      const file = JSON.parse(readFileSync(join(dir, 'shard.json'), 'utf8')) as { devices: string[]; evidence: { delivered: Array<{ deviceId: string }> } };
      expect(file.evidence.delivered.some((d) => !file.devices.includes(d.deviceId)), dir).toBe(true);
    }

    const gap = await cli(['report', 'merge', shards[0] ?? '', shards[2] ?? '', '--out', join(out, 'gap')]);
    expect(gap.code).toBe(3);
    expect(gap.err).toMatch(/refused: the shards \(0\/3, 2\/3\) do not cover the fleet: \d+ device\(s\) in none: /);
    const overlap = await cli(['report', 'merge', ...shards, shards[1] ?? '', '--out', join(out, 'overlap')]);
    expect(overlap.code).toBe(3);
    expect(overlap.err).toMatch(/refused: overlap: device \S+ is in .*shard-1 and in .*shard-1/);
    const mixed = await cli(['report', 'merge', shards[0] ?? '', shards[1] ?? '', join(out, 'whole'), '--out', join(out, 'mixed')]);
    expect(mixed.code).toBe(3);
    expect(mixed.err).toMatch(/whole: no shard\.json/);
  }, 480_000);
});
