import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketOf, hmacSha512, Pseudonymiser, registryFor, roundTo, type GateOutput } from '../agent/policy/index.js';
import { DAY, engineFor, HOUR, MINUTE, readingArb, T0 } from './policy-support.js';

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

describe('primitives', () => {
  it('HMAC-SHA-512 from nacl.hash equals the reference implementation', () => {
    fc.assert(
      fc.property(bytes(0, 200), bytes(0, 300), (key, message) => {
        const expected = createHmac('sha512', key).update(message).digest();
        expect(Buffer.from(hmacSha512(key, message)).equals(new Uint8Array(expected))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('round stays within half a step; bucket and grid cells contain the value', () => {
    fc.assert(
      fc.property(fc.double({ min: -1000, max: 1000, noNaN: true }), fc.constantFrom(0.5, 1, 5, 10, 0.01, 0.25), (v, step) => {
        expect(Math.abs(roundTo(v, step) - v)).toBeLessThanOrEqual(step / 2 + 1e-9);
        const lower = bucketOf(v, step);
        expect(lower).toBeLessThanOrEqual(v + 1e-9);
        expect(v).toBeLessThan(lower + step + 1e-9);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('pseudonyms', () => {
  const secret = (seed: number) => new Uint8Array(32).fill(seed);

  it('same value -> same token within an epoch, different tokens across epochs and secrets', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: DAY - 1 }), (value, day, offset) => {
        const p = new Pseudonymiser(secret(1));
        const at = day * DAY + offset;
        const token = p.token('access.userId', value, at, DAY);
        expect(p.token('access.userId', value, day * DAY, DAY)).toBe(token);
        expect(p.token('access.userId', value, day * DAY + DAY - 1, DAY)).toBe(token);
        expect(p.token('access.userId', value, at + DAY, DAY)).not.toBe(token);
        expect(new Pseudonymiser(secret(2)).token('access.userId', value, at, DAY)).not.toBe(token);
        expect(p.token('location.trackId', value, at, DAY)).not.toBe(token);
      }),
      { numRuns: 300 },
    );
  });

  it('tokens reveal nothing of the input: fixed shape, no substring of it, distinct inputs distinct tokens', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 3, maxLength: 64 }), { minLength: 2, maxLength: 20 }), (values) => {
        const p = new Pseudonymiser(secret(7));
        const tokens = values.map((v) => p.token('access.userId', v, T0, DAY));
        for (const [i, token] of tokens.entries()) {
          expect(token).toMatch(/^[0-9a-f]{24}$/);
          if (/[g-z]/i.test(values[i] ?? '')) expect(token).not.toContain(values[i]);
        }
        expect(new Set(tokens).size).toBe(values.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('minimisation properties over the shipped registries', () => {
  it('a dropped field never appears in any output, by name or value', async () => {
    const { engine } = await engineFor('smart-lock');
    await engine.markManifestReviewed();
    const def = registryFor('smart-lock').categories.find((c) => c.name === 'access');
    if (def === undefined) throw new Error('no access category');
    fc.assert(
      fc.property(readingArb(def), fc.integer({ min: 0, max: 30 * DAY }), (reading, dt) => {
        const outputs = engine.collect('access', reading, T0 + dt);
        expect(outputs).toHaveLength(1);
        const text = JSON.stringify(outputs);
        expect(outputs[0]?.data).not.toHaveProperty('userName');
        expect(text).not.toContain(JSON.stringify(reading.userName));
        expect(text).not.toContain(JSON.stringify(reading.userId));
        expect(['remote', 'local', 'auto']).toContain(outputs[0]?.data.method);
        expect((outputs[0]?.at ?? 1) % (15 * MINUTE)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('coarsened locations stay within their grid cell', async () => {
    const { engine } = await engineFor('fitness-tracker');
    await engine.applyPatch({ manifestReviewed: true, categories: { location: { setting: 'minimised' } } });
    fc.assert(
      fc.property(fc.double({ min: -80, max: 80, noNaN: true }), fc.double({ min: -179, max: 179, noNaN: true }), fc.string({ minLength: 1, maxLength: 8 }), (lat, lon, id) => {
        // a straight 3 km track heading north from (lat, lon): points released are coarsened copies of real ones
        const raw: [number, number][] = [];
        const out: GateOutput[] = [];
        for (let i = 0; i < 30; i++) {
          const point: [number, number] = [lat + i * 0.001, lon];
          raw.push(point);
          out.push(...engine.collect('location', { lat: point[0], lon: point[1], trackId: `t${id}` }, T0 + i * 1000));
        }
        engine.flushWindows(T0 + DAY);
        expect(out.length).toBeGreaterThan(0);
        for (const o of out) {
          const cellLat = o.data.lat as number;
          const cellLon = o.data.lon as number;
          const inside = raw.some(([a, b]) => cellLat <= a + 1e-9 && a < cellLat + 0.01 + 1e-9 && cellLon <= b + 1e-9 && b < cellLon + 0.01 + 1e-9);
          expect(inside).toBe(true);
          expect(Math.round(cellLat * 100) / 100).toBeCloseTo(cellLat, 9);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('per-minute heart-rate aggregates equal a reference computation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 10 * MINUTE }), fc.integer({ min: 20, max: 250 })), { minLength: 1, maxLength: 80 }), async (raw) => {
        const { engine } = await engineFor('fitness-tracker');
        await engine.applyPatch({ manifestReviewed: true, categories: { 'heart-rate': { setting: 'minimised' } } });
        const readings = [...raw].sort((a, b) => a[0] - b[0]);
        const out: GateOutput[] = [];
        for (const [dt, bpm] of readings) out.push(...engine.collect('heart-rate', { bpm }, T0 + dt));
        out.push(...engine.flushWindows(T0 + DAY));
        const reference = new Map<number, number[]>();
        for (const [dt, bpm] of readings) {
          const end = T0 + (Math.floor(dt / MINUTE) + 1) * MINUTE;
          reference.set(end, [...(reference.get(end) ?? []), bpm]);
        }
        expect(out.map((o) => [o.at, o.data])).toEqual(
          [...reference].map(([end, v]) => [end, { bpmMin: Math.min(...v), bpmAvg: Math.round(v.reduce((a, b) => a + b, 0) / v.length), bpmMax: Math.max(...v) }]),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('hourly activity sums equal a reference computation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 * HOUR }), fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 400 })), { minLength: 1, maxLength: 60 }), async (raw) => {
        const { engine } = await engineFor('fitness-tracker');
        await engine.applyPatch({ manifestReviewed: true, categories: { activity: { setting: 'minimised' } } });
        const readings = [...raw].sort((a, b) => a[0] - b[0]);
        const out: GateOutput[] = [];
        for (const [dt, steps, kcal] of readings) out.push(...engine.collect('activity', { steps, calories: kcal }, T0 + dt));
        out.push(...engine.flushWindows(T0 + DAY));
        const reference = new Map<number, { steps: number; calories: number }>();
        for (const [dt, steps, kcal] of readings) {
          const end = T0 + (Math.floor(dt / HOUR) + 1) * HOUR;
          const sum = reference.get(end) ?? { steps: 0, calories: 0 };
          reference.set(end, { steps: sum.steps + steps, calories: sum.calories + kcal });
        }
        expect(out.map((o) => [o.at, o.data])).toEqual([...reference].map(([end, s]) => [end, { steps: s.steps, calories: s.calories }]));
      }),
      { numRuns: 60 },
    );
  });
});
