import { describe, expect, it } from 'vitest';
import { isTrustError } from '../agent/errors.js';
import { createPolicyEngine, type Registry } from '../agent/policy/index.js';
import { copyRegistry, DAY, engineFor, fixedClock, recordingLogger, T0, tempStorage } from './policy-support.js';

type Mutable = Registry & { categories: any[] };

function nextVersion(mutate: (r: Mutable) => void, base = 'fitness-tracker'): Registry {
  const r = copyRegistry(base) as Mutable;
  r.version += 1;
  mutate(r);
  return r;
}

const cat = (r: Mutable, name: string): any => r.categories.find((c) => c.name === name);

async function ownerWithHeartRateFull() {
  const setup = await engineFor('fitness-tracker');
  await setup.engine.applyPatch({ manifestReviewed: true, categories: { 'heart-rate': { setting: 'full' }, activity: { setting: 'minimised' } } });
  return setup;
}

describe('registry updates: no silent change of terms', () => {
  it('a new field leaves the category at its consented terms, pending, until accepted', async () => {
    const { engine } = await ownerWithHeartRateFull();
    const v2 = nextVersion((r) => (cat(r, 'heart-rate').fields.hrv = { type: 'number', description: 'heart-rate variability ms' }));
    const result = await engine.updateRegistry(v2);
    expect(result).toMatchObject({ registryVersion: 2, pending: ['heart-rate'], widened: ['heart-rate'], narrowed: [], removed: [], purges: [] });
    const manifestHr = engine.manifest().categories.find((c) => c.name === 'heart-rate');
    expect(manifestHr).toMatchObject({ setting: 'full', pendingConsent: true, pendingChanges: ['new field: hrv'], sentFields: ['bpm'] });
    expect(engine.collect('heart-rate', { bpm: 70, hrv: 42 }, T0)[0]?.data).toEqual({ bpm: 70 });
    // within the consented terms the owner can still change settings of a pending category
    await expect(engine.applyPatch({ categories: { 'heart-rate': { recipients: ['vendor-cloud', 'third-party'] } } })).resolves.toBeDefined();
    const accepted = await engine.acceptPending(['heart-rate']);
    expect(accepted.purges).toEqual([]);
    expect(engine.pendingConsent()).toEqual([]);
    expect(engine.collect('heart-rate', { bpm: 70, hrv: 42 }, T0)[0]?.data).toEqual({ bpm: 70, hrv: 42 });
  });

  it('a new category starts off and pending; it cannot be switched on before acceptance', async () => {
    const { engine } = await ownerWithHeartRateFull();
    const v2 = nextVersion((r) =>
      r.categories.push({ ...structuredClone(cat(r, 'spo2')), name: 'skin-temp', fields: { celsius: { type: 'number', description: '°C' } }, minimise: [{ name: 'rounded', description: 'to 1 °C', fields: { celsius: [{ op: 'round', step: 1 }] } }], default: 'minimised' }),
    );
    const result = await engine.updateRegistry(v2);
    expect(result.pending).toEqual(['skin-temp']);
    expect(engine.collect('skin-temp', { celsius: 33.3 }, T0)).toEqual([]);
    expect(engine.counters().dropped['skin-temp']).toEqual({ 'pending-consent': 1 });
    await expect(engine.applyPatch({ categories: { 'skin-temp': { setting: 'full' } } })).rejects.toThrow('categories.skin-temp.setting: pending consent');
    await engine.acceptPending(['skin-temp']);
    expect(engine.collect('skin-temp', { celsius: 33.3 }, T0)[0]?.data).toEqual({ celsius: 33 });
  });

  it('a reset (e.g. by erase-all) under pending consent narrows but never widens into the new default', async () => {
    const { engine } = await ownerWithHeartRateFull();
    const v2 = nextVersion((r) => {
      cat(r, 'spo2').default = 'minimised';
      cat(r, 'spo2').recipients.push('analytics');
    });
    expect((await engine.updateRegistry(v2)).pending).toContain('spo2');
    await engine.reset();
    expect(engine.manifest().categories.find((c) => c.name === 'spo2')).toMatchObject({ setting: 'off', pendingConsent: true });
    expect(engine.collect('spo2', { percent: 97 }, T0)).toEqual([]);
    await engine.acceptPending(['spo2']);
    await engine.reset();
    expect(engine.manifest().categories.find((c) => c.name === 'spo2')).toMatchObject({ setting: 'minimised', pendingConsent: false });
  });

  it('an update that only raises a default waits for consent, and a reset keeps the old default until then', async () => {
    const { engine } = await ownerWithHeartRateFull();
    const v2 = nextVersion((r) => { cat(r, 'sleep').default = 'minimised'; });
    const result = await engine.updateRegistry(v2);
    expect(result.widened).toEqual(['sleep']);
    expect(engine.manifest().categories.find((c) => c.name === 'sleep')).toMatchObject({ setting: 'off', pendingConsent: true, pendingChanges: ['wider default: minimised'] });
    await engine.reset();
    expect(engine.collect('sleep', { stage: 'deep' }, T0)).toEqual([]);
    expect(engine.manifest().categories.find((c) => c.name === 'sleep')?.setting).toBe('off');
    // Choosing a setting explicitly is the consent a wider default needs; a new field would still block it.
    await engine.applyPatch({ categories: { sleep: { setting: 'minimised' } } });
    expect(engine.manifest().categories.find((c) => c.name === 'sleep')?.setting).toBe('minimised');
  });

  it('a new recipient and a longer retention do not apply until accepted', async () => {
    const { engine } = await ownerWithHeartRateFull();
    const v2 = nextVersion((r) => {
      cat(r, 'spo2').recipients.push('analytics');
      cat(r, 'heart-rate').retentionMaxMs = 90 * DAY;
      cat(r, 'heart-rate').purposes.push('research');
    });
    const result = await engine.updateRegistry(v2);
    expect(result.pending.sort()).toEqual(['heart-rate', 'spo2']);
    const hr = engine.manifest().categories.find((c) => c.name === 'heart-rate');
    expect(hr?.pendingChanges).toEqual(['new purpose: research', `longer retention: ${90 * DAY} ms`]);
    expect(hr?.retentionMs).toBe(30 * DAY);
    expect(engine.collect('heart-rate', { bpm: 70 }, T0)[0]?.expiresAt).toBe(T0 + 30 * DAY);
    await expect(engine.applyPatch({ categories: { spo2: { recipients: ['analytics'] } } })).rejects.toThrow('categories.spo2.recipients[0]: pending consent');
    await engine.acceptPending(['heart-rate']);
    expect(engine.collect('heart-rate', { bpm: 70 }, T0)[0]?.expiresAt).toBe(T0 + 90 * DAY);
  });

  it('narrowing applies at once with purges; owner settings elsewhere survive', async () => {
    const { engine } = await ownerWithHeartRateFull();
    await engine.applyPatch({ categories: { location: { setting: 'full' }, spo2: { setting: 'full' } } });
    const before = engine.manifest().categories.map((c) => [c.name, c.setting]);
    const v2 = nextVersion((r) => {
      cat(r, 'heart-rate').retentionMaxMs = 7 * DAY;
      delete cat(r, 'location').fields.trackId;
      cat(r, 'location').minimise = [{ name: 'coarse', description: 'grid', fields: { lat: [{ op: 'grid', cell: 0.01 }], lon: [{ op: 'grid', cell: 0.01 }] } }];
      cat(r, 'spo2').settings = ['off', 'local', 'minimised'];
      r.categories = r.categories.filter((c) => c.name !== 'sleep');
    });
    const result = await engine.updateRegistry(v2);
    expect(result.pending).toEqual([]);
    expect(result.removed).toEqual(['sleep']);
    expect(result.narrowed.sort()).toEqual(['heart-rate', 'location', 'spo2']);
    expect(result.purges).toEqual(
      expect.arrayContaining([
        { category: 'heart-rate', scope: 'all', maxAgeMs: 7 * DAY, reason: 'retention' },
        { category: 'location', scope: 'all', reason: 'narrowed' },
        { category: 'spo2', scope: 'all', reason: 'narrowed' },
      ]),
    );
    expect(engine.collect('heart-rate', { bpm: 70 }, T0)[0]?.expiresAt).toBe(T0 + 7 * DAY);
    expect(engine.manifest().categories.find((c) => c.name === 'spo2')?.setting).toBe('minimised');
    const after = engine.manifest().categories.map((c) => [c.name, c.setting]);
    expect(after.filter(([n]) => n !== 'spo2')).toEqual(before.filter(([n]) => n !== 'spo2' && n !== 'sleep'));
    expect(() => engine.collect('sleep', { stage: 'deep' }, T0)).toThrow('unknown category');
  });

  it('rejects an update for another device, an old version, or an invalid registry, changing nothing', async () => {
    const { engine } = await ownerWithHeartRateFull();
    const manifest = engine.manifest();
    const attempts: unknown[] = [
      copyRegistry('fitness-tracker'),
      { ...nextVersion(() => undefined), deviceType: 'thermostat' },
      nextVersion((r) => (cat(r, 'heart-rate').default = 'sometimes')),
      'not a registry',
    ];
    for (const next of attempts) {
      try {
        await engine.updateRegistry(next);
        throw new Error('accepted');
      } catch (error) {
        expect(isTrustError(error, 'INVALID_REGISTRY')).toBe(true);
      }
    }
    expect(engine.manifest()).toEqual(manifest);
    expect(engine.counters().rejected).toEqual({ preferences: 0, registry: attempts.length });
  });

  it('a firmware update found at boot follows the same rules and reports them', async () => {
    const storage = await tempStorage();
    const base = { storage, clock: fixedClock(), logger: recordingLogger() };
    const v1 = await createPolicyEngine({ ...base, registry: copyRegistry('smart-lock') });
    await v1.applyPatch({ manifestReviewed: true, categories: { door: { setting: 'full' }, 'lock-state': { setting: 'local' } } });
    const v2 = nextVersion((r) => {
      cat(r, 'door').fields.forced = { type: 'boolean', description: 'door forced open' };
      cat(r, 'access').retentionMaxMs = 2 * DAY;
    }, 'smart-lock');
    const rebooted = await createPolicyEngine({ ...base, registry: v2 });
    expect(rebooted.startup.update).toMatchObject({
      registryVersion: 2,
      pending: ['door'],
      widened: ['door'],
      narrowed: ['access'],
      purges: [{ category: 'access', scope: 'all', maxAgeMs: 2 * DAY, reason: 'retention' }],
    });
    expect(rebooted.startup.purges).toEqual(rebooted.startup.update?.purges);
    expect(rebooted.collect('door', { open: true, forced: false }, T0)[0]?.data).toEqual({ open: true });
    expect(rebooted.manifest().categories.find((c) => c.name === 'lock-state')?.setting).toBe('local');
    // a second boot with the same firmware is quiet
    const again = await createPolicyEngine({ ...base, registry: v2 });
    expect(again.startup.update).toBeUndefined();
    expect(again.pendingConsent()).toEqual(['door']);
  });
});
