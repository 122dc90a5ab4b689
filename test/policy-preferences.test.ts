import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTrustError } from '../agent/errors.js';
import { PREFERENCES_FILE, PSEUDONYM_SECRET_FILE, registryFor } from '../agent/policy/index.js';
import { DAY, engineFor, HOUR, MINUTE, T0, tempStorage } from './policy-support.js';

async function rejected(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(isTrustError(error, 'INVALID_PREFERENCE')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('patch was accepted');
}

const climate = { temperatureC: 21, humidityPct: 40 };

describe('owner preferences', () => {
  it('bad patches name the field and change nothing (state, version, file, gate)', async () => {
    const { engine, storage } = await engineFor('smart-lock');
    await engine.markManifestReviewed();
    const before = await storage.read(PREFERENCES_FILE);
    const cases: [unknown, string][] = [
      [{ categories: { garage: { setting: 'off' } } }, 'categories.garage: unknown category'],
      [{ categories: { 'safety-alert': { setting: 'off' } } }, 'categories.safety-alert.setting: safety data cannot be turned off'],
      [{ categories: { 'lock-state': { setting: 'minimised' } } }, "categories.lock-state.setting: 'minimised' is not offered"],
      [{ categories: { door: { setting: 'loud' } } }, 'categories.door.setting: must be one of'],
      [{ categories: { door: { recipients: ['data-broker'] } } }, 'categories.door.recipients[0]: recipient not allowed'],
      [{ categories: { door: { retentionMs: 30 * DAY } } }, 'categories.door.retentionMs: must be an integer in 1..'],
      [{ categories: { door: { retentionMs: 0 } } }, 'categories.door.retentionMs'],
      [{ categories: { door: { level: 'fuzzy' } } }, 'categories.door.level: unknown minimisation level'],
      [{ categories: { door: { colour: 'red' } } }, 'categories.door.colour: unknown key'],
      [{ categories: { door: { setting: 'full', recipients: [] } } }, 'categories.door.recipients: a category that is sent needs at least one recipient'],
      [{ categories: { door: { setting: 'full' } }, extra: 1 }, 'patch.extra: unknown key'],
      [{ manifestReviewed: false }, 'manifestReviewed: can only be set to true'],
      ['off', 'patch: must be a map'],
      // a valid part does not sneak through with an invalid one
      [{ categories: { door: { setting: 'full' }, access: { setting: 'nope' } } }, 'categories.access.setting'],
    ];
    for (const [patch, message] of cases) expect(await rejected(engine.applyPatch(patch))).toContain(message);
    expect(engine.currentVersion()).toBe(2);
    expect(engine.counters().rejected).toEqual({ preferences: cases.length, registry: 0 });
    expect(await storage.read(PREFERENCES_FILE)).toEqual(before);
    expect(engine.collect('door', { open: true }, T0)).toEqual([]);
  });

  it('random garbage patches are rejected with INVALID_PREFERENCE and change nothing', async () => {
    const { engine } = await engineFor('thermostat');
    const manifest = engine.manifest();
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (patch) => {
        try {
          await engine.applyPatch({ categories: { climate: patch } });
        } catch (error) {
          expect(isTrustError(error, 'INVALID_PREFERENCE')).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    // only the rare valid random patch (e.g. {}) may pass, and {} changes nothing
    expect(engine.manifest()).toEqual(manifest);
  });

  it('the version increments on every accepted change, not on a no-op; changes are effective on the next reading', async () => {
    const { engine } = await engineFor('thermostat');
    expect(engine.currentVersion()).toBe(1);
    const r1 = await engine.applyPatch({ categories: { climate: { setting: 'full' } } });
    expect(r1).toEqual({ version: 2, changed: ['climate'], purges: [] });
    expect(engine.collect('climate', { temperatureC: 21.26, humidityPct: 43 }, T0)[0]?.data).toEqual({ temperatureC: 21.26, humidityPct: 43 });
    expect(await engine.applyPatch({ categories: { climate: { setting: 'full' } } })).toEqual({ version: 2, changed: [], purges: [] });
    const r3 = await engine.applyPatch({ categories: { climate: { setting: 'off' } } });
    expect(r3).toEqual({ version: 3, changed: ['climate'], purges: [{ category: 'climate', scope: 'all', reason: 'withdrawn' }] });
    expect(engine.collect('climate', climate, T0)).toEqual([]);
  });

  it('returns the purge orders each narrowing needs', async () => {
    const { engine } = await engineFor('thermostat');
    await engine.applyPatch({ manifestReviewed: true, categories: { climate: { setting: 'full', recipients: ['vendor-cloud', 'analytics'] } } });
    expect((await engine.applyPatch({ categories: { climate: { recipients: ['vendor-cloud'] } } })).purges).toEqual([{ category: 'climate', scope: 'queued', reason: 'narrowed' }]);
    expect((await engine.applyPatch({ categories: { climate: { retentionMs: DAY } } })).purges).toEqual([{ category: 'climate', scope: 'all', maxAgeMs: DAY, reason: 'retention' }]);
    expect((await engine.applyPatch({ categories: { climate: { retentionMs: null } } })).purges).toEqual([]);
    expect((await engine.applyPatch({ categories: { climate: { setting: 'minimised' } } })).purges).toEqual([{ category: 'climate', scope: 'all', reason: 'narrowed' }]);
    expect((await engine.applyPatch({ categories: { climate: { setting: 'local' } } })).purges).toEqual([{ category: 'climate', scope: 'queued', reason: 'narrowed' }]);
    expect((await engine.applyPatch({ categories: { climate: { setting: 'off' } } })).purges).toEqual([{ category: 'climate', scope: 'all', reason: 'withdrawn' }]);
    // widening purges nothing
    expect((await engine.applyPatch({ categories: { climate: { setting: 'full' } } })).purges).toEqual([]);
  });

  it('withdrawal discards an open aggregation window: nothing of it is ever emitted', async () => {
    const { engine } = await engineFor('fitness-tracker');
    await engine.applyPatch({ manifestReviewed: true, categories: { activity: { setting: 'minimised' } } });
    engine.collect('activity', { steps: 100, calories: 5 }, T0);
    engine.collect('activity', { steps: 120, calories: 6 }, T0 + MINUTE);
    await engine.applyPatch({ categories: { activity: { setting: 'off' } } });
    expect(engine.nextWindowClose()).toBeUndefined();
    expect(engine.flushWindows(T0 + DAY)).toEqual([]);
    expect(engine.counters().dropped.activity).toEqual({ 'policy-change': 2 });
  });

  it('reset restores the privacy-protective defaults and returns the purges', async () => {
    const { engine } = await engineFor('fitness-tracker');
    await engine.applyPatch({ manifestReviewed: true, categories: { 'heart-rate': { setting: 'full', recipients: ['vendor-cloud', 'third-party'] }, battery: { setting: 'full' } } });
    const result = await engine.reset();
    expect(result.version).toBe(3);
    expect(result.purges).toEqual([
      { category: 'heart-rate', scope: 'all', reason: 'withdrawn' },
      { category: 'battery', scope: 'all', reason: 'narrowed' },
    ]);
    const fresh = await engineFor('fitness-tracker');
    await fresh.engine.markManifestReviewed();
    const strip = (m: ReturnType<typeof engine.manifest>) => m.categories;
    expect(strip(engine.manifest())).toEqual(strip(fresh.engine.manifest()));
    expect((await engine.reset({ forgetReview: true })).version).toBe(4);
    expect(engine.manifest().manifestReviewed).toBe(false);
  });

  it('persists across restarts: settings, version, review, and the pseudonym secret', async () => {
    const storage = await tempStorage();
    const first = await engineFor('smart-lock', storage);
    expect(first.engine.startup.created).toBe(true);
    await first.engine.applyPatch({ manifestReviewed: true, categories: { door: { setting: 'minimised', retentionMs: HOUR } } });
    const token = first.engine.collect('access', { action: 'lock', method: 'app', userId: 'bob-77', userName: 'Bob' }, T0)[0]?.data.userId;
    const second = await engineFor('smart-lock', storage);
    expect(second.engine.startup).toEqual({ created: false, recoveredCorrupt: false, update: undefined, purges: [] });
    expect(second.engine.currentVersion()).toBe(2);
    expect(second.engine.manifest()).toEqual(first.engine.manifest());
    expect(second.engine.collect('access', { action: 'lock', method: 'app', userId: 'bob-77', userName: 'Bob' }, T0)[0]?.data.userId).toBe(token);
    expect((await storage.read(PSEUDONYM_SECRET_FILE))?.length).toBe(32);
  });

  it('a corrupt preference file falls back to defaults with the first-run gate closed', async () => {
    const storage = await tempStorage();
    const first = await engineFor('thermostat', storage);
    await first.engine.applyPatch({ manifestReviewed: true, categories: { comfort: { setting: 'full' } } });
    await storage.writeAtomic(PREFERENCES_FILE, new Uint8Array([0xa1, 0x61, 0x76, 0xff, 0x00]));
    const second = await engineFor('thermostat', storage);
    expect(second.engine.startup.recoveredCorrupt).toBe(true);
    expect(second.engine.startup.purges.map((p) => p.category)).toEqual(['comfort', 'occupancy', 'labels']);
    expect(second.engine.startup.purges.every((p) => p.scope === 'all' && p.reason === 'withdrawn')).toBe(true);
    expect(second.engine.collect('comfort', { setting: 'away' }, T0)).toEqual([]);
    expect(second.engine.manifest().manifestReviewed).toBe(false);
  });

  it('concurrent patches are applied one after the other', async () => {
    const { engine } = await engineFor('thermostat');
    const results = await Promise.all([
      engine.applyPatch({ categories: { climate: { setting: 'full' } } }),
      engine.applyPatch({ categories: { hvac: { setting: 'minimised' } } }),
      engine.applyPatch({ categories: { nope: {} } }).catch((e: Error) => e.message),
      engine.applyPatch({ categories: { labels: { setting: 'local' } } }),
    ]);
    expect(results.map((r) => (typeof r === 'string' ? r : r.version))).toEqual([2, 3, 'categories.nope: unknown category', 4]);
  });

  it('the shipped defaults are what the registry says', async () => {
    const { engine } = await engineFor('fitness-tracker');
    const m = engine.manifest();
    for (const def of registryFor('fitness-tracker').categories) {
      const c = m.categories.find((x) => x.name === def.name);
      expect(c?.setting).toBe(def.default);
      expect(c?.effectiveSetting).toBe(def.essential ? def.default : 'off');
    }
  });
});
