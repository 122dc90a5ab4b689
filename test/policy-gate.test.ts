import { describe, expect, it } from 'vitest';
import { isTrustError } from '../agent/errors.js';
import { engineFor, T0, MINUTE, HOUR } from './policy-support.js';

function expectCode(fn: () => unknown, code: string, message?: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(isTrustError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    if (message) expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected a TrustError');
}

describe('collection gate', () => {
  it('before the manifest is reviewed only essential categories are collected', async () => {
    const { engine } = await engineFor('thermostat');
    expect(engine.collect('climate', { temperatureC: 21.26, humidityPct: 43 }, T0)).toEqual([
      { category: 'climate', at: T0, data: { temperatureC: 21.5, humidityPct: 45 }, expiresAt: T0 + 30 * 24 * HOUR, transmit: true, essential: true, recipients: ['vendor-cloud'] },
    ]);
    await engine.applyPatch({ categories: { comfort: { setting: 'full' } } });
    expect(engine.collect('comfort', { setting: 'away' }, T0)).toEqual([]);
    expect(engine.counters().dropped.comfort).toEqual({ 'first-run': 1 });
    await engine.markManifestReviewed();
    expect(engine.collect('comfort', { setting: 'away' }, T0)).toHaveLength(1);
  });

  it('rejects unknown categories, wrong types, missing and extra fields, and counts them', async () => {
    const { engine } = await engineFor('thermostat');
    expectCode(() => engine.collect('weather', { temperatureC: 1 }, T0), 'INVALID_READING', /unknown category 'weather'/);
    expectCode(() => engine.collect('climate', { temperatureC: '21', humidityPct: 40 }, T0), 'INVALID_READING', /temperatureC/);
    expectCode(() => engine.collect('climate', { temperatureC: 21 }, T0), 'INVALID_READING', /humidityPct/);
    expectCode(() => engine.collect('climate', { temperatureC: 21, humidityPct: 40, mac: 'aa:bb' }, T0), 'INVALID_READING', /registry does not define/);
    expectCode(() => engine.collect('climate', { temperatureC: NaN, humidityPct: 40 }, T0), 'INVALID_READING');
    expectCode(() => engine.collect('climate', { temperatureC: 21, humidityPct: 400 }, T0), 'INVALID_READING');
    expectCode(() => engine.collect('hvac', { mode: 'turbo', running: true, setpointC: 20 }, T0), 'INVALID_READING', /mode/);
    expectCode(() => engine.collect('climate', null, T0), 'INVALID_READING');
    expectCode(() => engine.collect('climate', [21, 40], T0), 'INVALID_READING');
    expectCode(() => engine.collect('climate', { temperatureC: 21, humidityPct: 40 }, Number.NaN), 'INVALID_READING');
    expect(engine.counters().invalid).toEqual({ '?': 1, climate: 8, hvac: 1 });
    expect(engine.counters().accepted).toEqual({});
  });

  it('error messages never carry the reading values', async () => {
    const { engine } = await engineFor('smart-lock');
    await engine.markManifestReviewed();
    try {
      engine.collect('access', { action: 'unlock', method: 'app', userId: 'alice-1234', userName: 'x'.repeat(100) }, T0);
      throw new Error('accepted');
    } catch (error) {
      expect((error as Error).message).not.toContain('alice');
      expect((error as Error).message).not.toContain('xxxx');
    }
  });

  it('off drops with nothing but a counter; local keeps on device without transmitting', async () => {
    const { engine } = await engineFor('thermostat');
    await engine.applyPatch({ manifestReviewed: true, categories: { climate: { setting: 'off' }, labels: { setting: 'local' } } });
    expect(engine.collect('climate', { temperatureC: 20, humidityPct: 40 }, T0)).toEqual([]);
    const [label] = engine.collect('labels', { deviceName: 'Hall', roomName: "Ann's room" }, T0);
    expect(label).toMatchObject({ transmit: false, data: { deviceName: 'Hall', roomName: "Ann's room" } });
    expect(label?.recipients).toBeUndefined();
    expect(engine.counters().dropped).toEqual({ climate: { off: 1 } });
  });

  it('minimises smart-lock access events: no name, rotating pseudonym, method class, 15 min time', async () => {
    const { engine } = await engineFor('smart-lock');
    await engine.markManifestReviewed();
    const at = T0 + 7 * MINUTE + 1234;
    const [out] = engine.collect('access', { action: 'unlock', method: 'fingerprint', userId: 'alice-1234', userName: 'Alice' }, at);
    expect(out?.at).toBe(T0);
    expect(Object.keys(out?.data ?? {}).sort()).toEqual(['action', 'method', 'userId']);
    expect(out?.data.method).toBe('local');
    expect(out?.data.userId).toMatch(/^[0-9a-f]{24}$/);
    expect(JSON.stringify(out)).not.toContain('alice');
    expect(JSON.stringify(out)).not.toContain('Alice');
    const [again] = engine.collect('access', { action: 'lock', method: 'app', userId: 'alice-1234', userName: 'Alice' }, at + HOUR);
    expect(again?.data.userId).toBe(out?.data.userId);
    expect(again?.data.method).toBe('remote');
    const [tomorrow] = engine.collect('access', { action: 'lock', method: 'auto', userId: 'alice-1234', userName: 'Alice' }, at + 24 * HOUR);
    expect(tomorrow?.data.userId).not.toBe(out?.data.userId);
  });

  it('safety alerts always go out, even before the first-run review', async () => {
    const { engine } = await engineFor('smart-lock');
    expect(engine.collect('safety-alert', { kind: 'jammed' }, T0)).toHaveLength(1);
    expect(engine.collect('door', { open: true }, T0)).toEqual([]);
  });

  it('aggregates heart rate per minute, closes windows on the next window and on flush, reports the next close', async () => {
    const { engine } = await engineFor('fitness-tracker');
    await engine.applyPatch({ manifestReviewed: true, categories: { 'heart-rate': { setting: 'minimised' } } });
    expect(engine.collect('heart-rate', { bpm: 60 }, T0 + 1000)).toEqual([]);
    expect(engine.collect('heart-rate', { bpm: 71 }, T0 + 2000)).toEqual([]);
    expect(engine.nextWindowClose()).toBe(T0 + MINUTE);
    const closed = engine.collect('heart-rate', { bpm: 90 }, T0 + MINUTE + 5);
    expect(closed).toEqual([
      { category: 'heart-rate', at: T0 + MINUTE, data: { bpmMin: 60, bpmAvg: 66, bpmMax: 71 }, expiresAt: T0 + MINUTE + 30 * 24 * HOUR, transmit: true, essential: false, recipients: ['vendor-cloud'] },
    ]);
    expect(engine.flushWindows(T0 + MINUTE + 10)).toEqual([]);
    expect(engine.flushWindows(T0 + 2 * MINUTE)).toEqual([expect.objectContaining({ data: { bpmMin: 90, bpmAvg: 90, bpmMax: 90 } })]);
    expect(engine.nextWindowClose()).toBeUndefined();
    expect(engine.counters().accepted['heart-rate']).toBe(3);
  });

  it('drops readings for a window already reported, and suppresses small counts', async () => {
    const { engine } = await engineFor('thermostat');
    await engine.applyPatch({ manifestReviewed: true, categories: { occupancy: { setting: 'minimised' } } });
    engine.collect('occupancy', { room: 'kitchen', occupied: true }, T0 + MINUTE);
    engine.collect('occupancy', { room: 'kitchen', occupied: true }, T0 + 2 * MINUTE);
    expect(engine.collect('occupancy', { room: 'hall', occupied: true }, T0 + HOUR)).toEqual([]); // 2 < 3 readings
    expect(engine.counters().dropped.occupancy).toEqual({ 'small-count': 2 });
    expect(engine.collect('occupancy', { room: 'hall', occupied: true }, T0 + 5)).toEqual([]);
    expect(engine.counters().dropped.occupancy).toEqual({ 'small-count': 2, 'late-for-window': 1 });
    engine.collect('occupancy', { room: 'hall', occupied: false }, T0 + HOUR + 1);
    engine.collect('occupancy', { room: 'bed', occupied: true }, T0 + HOUR + 2);
    const [out] = engine.flushWindows(T0 + 2 * HOUR);
    expect(out).toMatchObject({ at: T0 + 2 * HOUR, data: { occupiedCount: 2 } });
    expect(JSON.stringify(out)).not.toMatch(/hall|bed|kitchen/);
  });

  it('a wall clock jumping back by more than a window restarts aggregation instead of dropping everything', async () => {
    const { engine } = await engineFor('fitness-tracker');
    await engine.applyPatch({ manifestReviewed: true, categories: { activity: { setting: 'minimised' } } });
    engine.collect('activity', { steps: 10, calories: 1 }, T0 + 5 * HOUR);
    const closed = engine.collect('activity', { steps: 20, calories: 2 }, T0);
    expect(closed).toEqual([expect.objectContaining({ at: T0 + 6 * HOUR, data: { steps: 10, calories: 1 } })]);
    expect(engine.flushWindows(T0 + HOUR)).toEqual([expect.objectContaining({ at: T0 + HOUR, data: { steps: 20, calories: 2 } })]);
  });

  it('sleep: per-night minutes per stage, the night closing at noon UTC', async () => {
    const { engine } = await engineFor('fitness-tracker');
    await engine.applyPatch({ manifestReviewed: true, categories: { sleep: { setting: 'minimised' } } });
    const night = Date.UTC(2026, 0, 5, 23, 0, 0);
    engine.collect('sleep', { stage: 'light' }, night);
    engine.collect('sleep', { stage: 'deep' }, night + 20 * MINUTE);
    engine.collect('sleep', { stage: 'rem' }, night + 50 * MINUTE);
    engine.collect('sleep', { stage: 'awake' }, night + 60 * MINUTE);
    expect(engine.nextWindowClose()).toBe(Date.UTC(2026, 0, 6, 12, 0, 0));
    const [out] = engine.flushWindows(Date.UTC(2026, 0, 6, 12, 0, 0));
    // awake lasts until the window end, capped at 30 minutes
    expect(out?.data).toEqual({ awakeMin: 30, lightMin: 20, deepMin: 30, remMin: 10 });
  });

  it('location: coarsened, first and last 500 m of a track suppressed, track id pseudonymised', async () => {
    const { engine } = await engineFor('fitness-tracker');
    await engine.applyPatch({ manifestReviewed: true, categories: { location: { setting: 'minimised' } } });
    // ~111 m per 0.001 degree of latitude: 20 points = ~2.1 km
    const outputs = [];
    for (let i = 0; i < 20; i++) outputs.push(...engine.collect('location', { lat: 48.1 + i * 0.001, lon: 11.5, trackId: 'run-7' }, T0 + i * 10_000));
    const lats = outputs.map((o) => o.data.lat as number);
    // released points lie >= 500 m from the start and >= 500 m before the latest point
    expect(outputs.length).toBeGreaterThan(5);
    expect(outputs.length).toBeLessThan(12);
    for (const lat of lats) expect([48.1, 48.11]).toContain(lat);
    for (const o of outputs) {
      expect(o.data.trackId).toMatch(/^[0-9a-f]{24}$/);
      expect(o.data.lon).toBe(11.5);
    }
    const tail = engine.flushWindows(T0 + HOUR);
    expect(tail).toEqual([]);
    const dropped = engine.counters().dropped.location?.['track-edge'] ?? 0;
    expect(dropped + outputs.length).toBe(20);
  });

  it('expiresAt honours the owner retention when shorter than the registry maximum', async () => {
    const { engine } = await engineFor('thermostat');
    await engine.applyPatch({ categories: { climate: { retentionMs: 2 * HOUR } } });
    const [out] = engine.collect('climate', { temperatureC: 20, humidityPct: 40 }, T0);
    expect(out?.expiresAt).toBe(T0 + 2 * HOUR);
  });
});
