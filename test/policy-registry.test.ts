import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTrustError, TrustError } from '../agent/errors.js';
import { DEVICE_TYPES, loadRegistry, registryFor, type Registry } from '../agent/policy/index.js';
import { copyRegistry } from './policy-support.js';

function loadError(mutate: (raw: Record<string, any>) => void, base = 'fitness-tracker'): string {
  const raw = copyRegistry(base) as unknown as Record<string, any>;
  mutate(raw);
  try {
    loadRegistry(raw);
  } catch (error) {
    expect(isTrustError(error, 'INVALID_REGISTRY')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('registry was accepted');
}

describe('shipped registries follow the agreed data model', () => {
  const expected: Record<string, Record<string, [string[], string, boolean, string]>> = {
    thermostat: {
      climate: [['temperatureC', 'humidityPct'], 'minimised', true, 'technical'],
      hvac: [['mode', 'running', 'setpointC'], 'full', true, 'technical'],
      comfort: [['setting'], 'off', false, 'presence'],
      occupancy: [['room', 'occupied'], 'off', false, 'presence'],
      labels: [['deviceName', 'roomName'], 'off', false, 'identity'],
    },
    'smart-lock': {
      'lock-state': [['state'], 'full', true, 'technical'],
      'safety-alert': [['kind'], 'full', true, 'technical'],
      battery: [['percent'], 'minimised', true, 'technical'],
      door: [['open'], 'off', false, 'presence'],
      access: [['action', 'method', 'userId', 'userName'], 'minimised', false, 'identity'],
    },
    'fitness-tracker': {
      'heart-rate': [['bpm'], 'off', false, 'health'],
      spo2: [['percent'], 'off', false, 'health'],
      sleep: [['stage'], 'off', false, 'health'],
      activity: [['steps', 'calories'], 'off', false, 'health'],
      location: [['lat', 'lon', 'trackId'], 'off', false, 'location'],
      battery: [['percent'], 'minimised', true, 'technical'],
    },
  };
  for (const deviceType of DEVICE_TYPES) {
    it(deviceType, () => {
      const registry = registryFor(deviceType);
      expect(registry.deviceType).toBe(deviceType);
      const table = expected[deviceType] ?? {};
      expect(registry.categories.map((c) => c.name)).toEqual(Object.keys(table));
      for (const c of registry.categories) {
        const [fields, setting, essential, sensitivity] = table[c.name] ?? [];
        expect(Object.keys(c.fields)).toEqual(fields);
        expect(c.default).toBe(setting);
        expect(c.essential).toBe(essential);
        expect(c.sensitivity).toContain(sensitivity);
        // privacy-protective defaults: a sensitive, non-essential category is never sent in full by default
        if (!c.essential && c.sensitivity.some((s) => s !== 'technical')) expect(c.default).not.toBe('full');
      }
    });
  }

  it('safety alerts cannot be turned off', () => {
    const alert = registryFor('smart-lock').categories.find((c) => c.name === 'safety-alert');
    expect(alert?.safety).toBe(true);
    expect(alert?.settings).toEqual(['full']);
  });

  it('an unknown device type is a config error', () => {
    expect(() => registryFor('toaster')).toThrow(TrustError);
  });
});

describe('loadRegistry rejects contradictions and names the place', () => {
  const cases: [string, (raw: Record<string, any>) => void, string][] = [
    ['unknown field in a rule', (r) => (r.categories[0].minimise[1].fields.pulse = [{ op: 'bucket', size: 10 }]), 'categories[0].minimise[1].fields.pulse: unknown field'],
    ['unknown field in an aggregate', (r) => (r.categories[0].minimise[0].aggregate.outputs.bpmMin.field = 'pulse'), 'categories[0].minimise[0].aggregate.outputs.bpmMin.field: unknown field'],
    ['default wider than allowed', (r) => Object.assign(r.categories[0], { settings: ['off', 'local', 'minimised'], default: 'full' }), 'categories[0].default: default is not among the allowed settings'],
    ['duplicate category', (r) => (r.categories[1].name = 'heart-rate'), 'categories[1].name: duplicate category name'],
    ['duplicate level', (r) => (r.categories[0].minimise[1].name = 'per-minute'), 'categories[0].minimise[1].name: duplicate level name'],
    ['unknown recipient', (r) => r.categories[2].recipients.push('data-broker'), 'categories[2].recipients[1]: unknown recipient'],
    ['safety that can be off', (r) => Object.assign(r.categories[5], { safety: true }), 'categories[5].settings: safety data can never be turned off'],
    ['safety not essential', (r) => Object.assign(r.categories[0], { safety: true }), 'categories[0].safety: safety data must be essential'],
    ['transform on the wrong type', (r) => (r.categories[4].minimise[0].fields.trackId = [{ op: 'round', step: 1 }]), 'categories[4].minimise[0].fields.trackId[0].op: round does not apply to a string field'],
    ['drop combined', (r) => (r.categories[1].minimise[0].fields.percent = [{ op: 'drop' }, { op: 'round', step: 1 }]), 'categories[1].minimise[0].fields.percent[0]: drop must stand alone'],
    ['track on a missing field', (r) => (r.categories[4].minimise[0].track.lat = 'latitude'), 'categories[4].minimise[0].track.lat: unknown field'],
    ['minimised without a level', (r) => (r.categories[1].minimise = []), "categories[1].minimise: 'minimised' is allowed but no level is defined"],
    ['negative retention', (r) => (r.categories[3].retentionMaxMs = -1), 'categories[3].retentionMaxMs: must be an integer'],
    ['unknown category key', (r) => (r.categories[3].color = 'red'), 'categories[3].color: unknown key'],
    ['enum value not classified', (r) => delete r.categories[4].fields, 'categories[4].fields: must be a map'],
    ['wrong format', (r) => (r.format = 2), 'format: unsupported registry format'],
  ];
  for (const [name, mutate, message] of cases) {
    it(name, () => expect(loadError(mutate)).toContain(message));
  }

  it('classify must map every enum value', () => {
    const message = loadError((r) => delete r.categories[4].minimise[0].fields.method[0].classes.auto, 'smart-lock');
    expect(message).toBe('categories[4].minimise[0].fields.method[0].classes.auto: enum value not mapped');
  });

  it('returns a copy: mutating the input afterwards changes nothing', () => {
    const raw = copyRegistry('thermostat');
    const loaded = loadRegistry(raw);
    (raw.categories[0] as { default: string }).default = 'full';
    expect(loaded.categories[0]?.default).toBe('minimised');
  });

  it('any random damage either loads or fails with INVALID_REGISTRY, never anything else', () => {
    const paths = collectPaths(copyRegistry('smart-lock'));
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.anything(), (path, value) => {
        const raw = copyRegistry('smart-lock') as unknown as Record<string, unknown>;
        setPath(raw, path, value);
        try {
          const loaded: Registry = loadRegistry(raw);
          expect(loaded.deviceType).toBeTypeOf('string');
        } catch (error) {
          expect(isTrustError(error, 'INVALID_REGISTRY')).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });
});

function collectPaths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const path = [...prefix, Array.isArray(value) ? Number(key) : key];
      out.push(path);
      collectPaths(child, path, out);
    }
  }
  return out;
}

function setPath(root: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let node: any = root;
  for (const key of path.slice(0, -1)) node = node[key];
  node[path[path.length - 1] as string] = value;
}
