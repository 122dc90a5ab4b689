import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../agent/policy/registry.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../simulator/broker.js';
import { smartPlugRegistry } from '../examples/smart-plug/registry.js';
import { runSmartPlugExample } from '../examples/smart-plug/run.js';

/** The worked example of docs/policy.md section 7: a device type the project does not ship, end to end. */

describe('examples/smart-plug: a fourth device type through the agent, the collector and the companion', () => {
  let broker: EmbeddedBroker;
  const dir = mkdtempSync(join(tmpdir(), 'smart-plug-'));
  beforeAll(async () => {
    broker = await startEmbeddedBroker({ tls: true });
  });
  afterAll(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('its registry is valid and its own type', () => {
    expect(loadRegistry(smartPlugRegistry).deviceType).toBe('smart-plug');
  });

  it('runs: minimised power and, after the opt-in only, occupancy reach the collector; nothing is rejected', async () => {
    const result = await runSmartPlugExample({ brokerUrl: broker.url, caPem: broker.caPem, dataDir: dir });
    expect(result.manifestCategories).toEqual(['relay', 'overheat', 'power', 'occupancy']);
    expect(result.rejectedAtCollector).toBe(0);
    // Before the owner's review only the essential relay state left the plug.
    expect(result.received['relay']).toEqual([{ on: true }, { on: true }]);
    // Power minimised on the plug (100 W buckets, no appliance name), and only after the review.
    expect(result.received['power']).toEqual([{ watts: 1200 }, { watts: 0 }]);
    // The sensitive category: one reading, the one recorded after the owner opted in.
    expect(result.received['occupancy']).toEqual([{ occupied: true, confidence: 80 }]);
  });
});

describe('a firmware bundle carries only the registry it imports', () => {
  it('bundling the smart plug firmware leaves the three shipped example registries out', async () => {
    const out = await esbuild.build({
      entryPoints: ['examples/smart-plug/plug.ts'], bundle: true, write: false, format: 'esm', platform: 'node',
      packages: 'external', alias: { 'iot-trust-agent/node': './agent/node.ts' }, logLevel: 'silent',
    });
    const text = out.outputFiles.map((f) => f.text).join('\n');
    expect(text).toContain('smart-plug');
    for (const shipped of ["'thermostat'", '"thermostat"', 'smart-lock', 'fitness-tracker', 'heart-rate']) expect(text).not.toContain(shipped);
  });

  it('the core entry plus one example registry carries that one only', async () => {
    const out = await esbuild.build({
      stdin: { contents: "export { createAgent } from './agent/index.ts'; export { smartLockRegistry } from './agent/registries.ts';", resolveDir: '.', loader: 'ts' },
      bundle: true, write: false, format: 'esm', platform: 'neutral', mainFields: ['module', 'main'], external: ['crypto'], logLevel: 'silent',
    });
    const text = out.outputFiles.map((f) => f.text).join('\n');
    expect(text).toContain('smart-lock');
    for (const other of ['fitness-tracker', 'heart-rate', 'temperature sensor']) expect(text).not.toContain(other);
  });
});
