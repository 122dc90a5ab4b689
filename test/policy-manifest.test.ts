import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../agent/codec/cbor.js';
import { signDocument, verifyDocument } from '../agent/crypto/sign.js';
import { generateIdentity } from '../agent/crypto/keys.js';
import { DEVICE_TYPES, manifestHash, manifestSummary, manifestToJson, registryFor, type CategoryDef, type GateOutput, type Setting } from '../agent/policy/index.js';
import { DAY, engineFor, MINUTE, readingArb, T0 } from './policy-support.js';

function preferenceArb(def: CategoryDef): fc.Arbitrary<Record<string, unknown>> {
  return fc.record({
    setting: fc.constantFrom<Setting>(...def.settings),
    level: def.minimise.length === 0 ? fc.constant(undefined) : fc.option(fc.constantFrom(...def.minimise.map((l) => l.name)), { nil: undefined }),
    recipients: fc.subarray(def.recipients, { minLength: 1 }),
    retentionMs: fc.option(fc.integer({ min: 1, max: def.retentionMaxMs }), { nil: undefined }),
  }).map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)));
}

describe('privacy manifest', () => {
  it('describes every category with its terms, setting and what is sent', async () => {
    const { engine } = await engineFor('smart-lock');
    await engine.markManifestReviewed();
    const m = engine.manifest();
    expect(m).toMatchObject({ format: 1, deviceType: 'smart-lock', registryVersion: 1, preferencesVersion: 2, manifestReviewed: true });
    expect(m.sensors.length).toBeGreaterThan(0);
    expect(m.protection.inTransit.join(' ')).toMatch(/TLS/);
    expect(m.protection.atRest.join(' ')).toMatch(/crypto-shredding/);
    const access = m.categories.find((c) => c.name === 'access');
    expect(access).toMatchObject({
      sensitivity: ['identity', 'presence'],
      setting: 'minimised',
      level: 'pseudonymous',
      sentFields: ['action', 'method', 'userId'],
      sentTo: ['vendor-cloud'],
      retentionMs: 7 * DAY,
      stopsWorkingWhenOff: ['access history in the app'],
    });
    expect(access?.fields.map((f) => f.name)).toEqual(['action', 'method', 'userId', 'userName']);
    expect(m.categories.find((c) => c.name === 'safety-alert')).toMatchObject({ safety: true, allowedSettings: ['full'] });
    expect(m.categories.find((c) => c.name === 'door')).toMatchObject({ setting: 'off', sentFields: [], sentTo: [], handling: 'not collected' });
  });

  it('before review, non-essential categories are shown as enforced off', async () => {
    const { engine } = await engineFor('smart-lock');
    const access = engine.manifest().categories.find((c) => c.name === 'access');
    expect(access).toMatchObject({ setting: 'minimised', effectiveSetting: 'off', sentFields: [], handling: 'not collected until the owner has reviewed this manifest' });
    expect(manifestSummary(engine.manifest())).toContain('First run');
  });

  it('the content hash is stable, covers the content, and changes with the preferences', async () => {
    const { engine } = await engineFor('thermostat');
    const a = engine.manifest();
    expect(a.contentHash).toMatch(/^[0-9a-f]{32}$/);
    expect(engine.manifest().contentHash).toBe(a.contentHash);
    expect(manifestHash(a)).toBe(a.contentHash);
    expect(manifestHash({ ...a, sensors: [] })).not.toBe(a.contentHash);
    await engine.applyPatch({ categories: { climate: { setting: 'full' } } });
    expect(engine.manifest().contentHash).not.toBe(a.contentHash);
  });

  it('renders as CBOR (signable), JSON and a readable Markdown summary', async () => {
    const { engine } = await engineFor('fitness-tracker');
    await engine.applyPatch({ manifestReviewed: true, categories: { 'heart-rate': { setting: 'minimised', level: 'buckets' }, location: { setting: 'local' } } });
    const m = engine.manifest();
    expect(decodeCbor(encodeCbor(m))).toEqual(m);
    const identity = generateIdentity();
    expect(verifyDocument(signDocument(m, identity.signSecretKey), identity.signPublicKey).body).toEqual(m);
    expect(JSON.parse(manifestToJson(m))).toEqual(m);
    const summary = manifestSummary(m);
    expect(summary).toContain('# Privacy summary: fitness-tracker');
    expect(summary).toContain('| heart-rate | health | minimised | bpm to vendor-cloud | 30 days |');
    expect(summary).toContain('| location | location, health | local | nothing | 1 day |');
    expect(summary).toContain('| battery (essential) |');
  });

  for (const deviceType of DEVICE_TYPES) {
    it(`${deviceType}: for random preferences, the manifest's sent fields are exactly what the gate emits`, async () => {
      const registry = registryFor(deviceType);
      const prefsArb = fc.record(Object.fromEntries(registry.categories.map((def) => [def.name, preferenceArb(def)])));
      const readingsArb = fc.array(
        fc.oneof(...registry.categories.map((def) => fc.tuple(fc.constant(def.name), readingArb(def), fc.integer({ min: 0, max: 20 * MINUTE })))),
        { minLength: 1, maxLength: 40 },
      );
      await fc.assert(
        fc.asyncProperty(prefsArb, fc.boolean(), readingsArb, async (prefs, reviewed, readings) => {
          const { engine } = await engineFor(deviceType);
          await engine.applyPatch(reviewed ? { manifestReviewed: true, categories: prefs } : { categories: prefs });
          const manifest = engine.manifest();
          const outputs: GateOutput[] = [];
          const seen = new Set<string>();
          for (const [category, data, dt] of [...readings].sort((a, b) => a[2] - b[2])) {
            outputs.push(...engine.collect(category, data, T0 + dt));
            seen.add(category);
          }
          outputs.push(...engine.flushWindows(T0 + 2 * DAY));
          for (const c of manifest.categories) {
            const mine = outputs.filter((o) => o.category === c.name);
            const sent = mine.filter((o) => o.transmit);
            for (const o of sent) {
              expect(Object.keys(o.data).sort()).toEqual([...c.sentFields].sort());
              expect(o.recipients).toEqual(c.sentTo);
              expect(o.expiresAt - o.at).toBe(c.retentionMs);
            }
            if (c.sentFields.length === 0) expect(sent).toEqual([]);
            if (c.effectiveSetting === 'off') expect(mine).toEqual([]);
            if (c.effectiveSetting === 'local') expect(mine.every((o) => !o.transmit)).toBe(true);
            const def = registry.categories.find((d) => d.name === c.name);
            const level = def?.minimise.find((l) => l.name === c.level);
            const mayWithhold = level?.track !== undefined || (level?.aggregate?.minReadings ?? 1) > 1;
            if (c.sentFields.length > 0 && seen.has(c.name) && !mayWithhold) expect(sent.length).toBeGreaterThan(0);
          }
        }),
        { numRuns: 40 },
      );
    });
  }
});
