import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createPolicyEngine, loadRegistry, registryFor } from '../agent/policy/index.js';
import { fixedClock, HOUR, recordingLogger, T0, tempStorage } from './policy-support.js';

const doc = readFileSync(new URL('../docs/policy.md', import.meta.url), 'utf8');
const example = JSON.parse(/```json\n(\{\n  "format"[\s\S]*?)\n```/.exec(doc)?.[1] ?? 'null');

describe('docs/policy.md', () => {
  it('the full registry example is valid and works as documented', async () => {
    const registry = loadRegistry(example);
    expect(registry.deviceType).toBe('smart-plug');
    const engine = await createPolicyEngine({ registry, storage: await tempStorage(), clock: fixedClock(), logger: recordingLogger() });
    await engine.applyPatch({ manifestReviewed: true, categories: { power: { setting: 'minimised' } } });
    for (let i = 0; i < 4; i++) engine.collect('power', { watts: 1000 + i * 11, appliance: 'kettle' }, T0 + i * 60_000);
    const [out] = engine.flushWindows(T0 + HOUR);
    expect(out?.data).toEqual({ wattsAvg: 1020, wattsMax: 1033 });
    expect(engine.manifest().categories.find((c) => c.name === 'power')?.sentFields).toEqual(['wattsAvg', 'wattsMax']);
  });

  it('the documented patch example is accepted by a fitness tracker', async () => {
    const patch = JSON.parse(/`applyPatch\(patch\)` takes\n\n```json\n([\s\S]*?)\n```/.exec(doc)?.[1] ?? 'null');
    const engine = await createPolicyEngine({ registry: registryFor('fitness-tracker'), storage: await tempStorage(), clock: fixedClock(), logger: recordingLogger() });
    expect((await engine.applyPatch(patch)).changed).toEqual(['heart-rate']);
  });
});
