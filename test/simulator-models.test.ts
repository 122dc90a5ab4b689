import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DAY, DEFAULT_HOME, DEFAULT_HOUSEHOLD, HOUR, MINUTE, createModel, hourOfDay, type DeviceType, type Reading,
} from '../simulator/models/index.js';

const START = Date.UTC(2026, 0, 5); // a Monday
const run = (type: DeviceType, seed: number, days: number, extra = {}): Reading[] =>
  createModel(type, { seed, startMs: START, ...extra }).step(START, START + days * DAY);

/** The agreed data model's fields and types, written out independently of the models (DATA-MODEL.md). */
const SHAPES: Record<DeviceType, Record<string, Record<string, string | string[]>>> = {
  thermostat: {
    climate: { temperatureC: 'number', humidityPct: 'number' },
    hvac: { mode: ['heat', 'cool', 'off', 'auto'], running: 'boolean', setpointC: 'number' },
    comfort: { setting: ['home', 'away', 'sleep'] },
    occupancy: { room: 'string', occupied: 'boolean' },
    labels: { deviceName: 'string', roomName: 'string' },
  },
  'smart-lock': {
    'lock-state': { state: ['locked', 'unlocked', 'jammed'] },
    'safety-alert': { kind: ['jammed', 'battery-critical'] },
    battery: { percent: 'number' },
    door: { open: 'boolean' },
    access: { action: ['lock', 'unlock'], method: ['app', 'keypad', 'manual', 'auto', 'fingerprint'], userId: 'string', userName: 'string' },
  },
  'fitness-tracker': {
    'heart-rate': { bpm: 'number' },
    spo2: { percent: 'number' },
    sleep: { stage: ['awake', 'light', 'deep', 'rem'] },
    activity: { steps: 'number', calories: 'number' },
    location: { lat: 'number', lon: 'number', trackId: 'string' },
    battery: { percent: 'number' },
  },
};

function shapeProblem(type: DeviceType, r: Reading): string | undefined {
  const shape = SHAPES[type][r.category];
  if (!shape) return `unknown category ${r.category}`;
  if (Object.keys(r.data).sort().join() !== Object.keys(shape).sort().join()) return `fields of ${r.category}: ${Object.keys(r.data).join()}`;
  for (const [field, want] of Object.entries(shape)) {
    const value = r.data[field];
    if (Array.isArray(want) ? !want.includes(value as string) : typeof value !== want) return `${r.category}.${field} = ${String(value)}`;
    if (typeof value === 'number' && !Number.isFinite(value)) return `${r.category}.${field} not finite`;
  }
  if (!Number.isInteger(r.at)) return 'timestamp not an integer';
  return undefined;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const metres = (a: { lat: number; lon: number }, b: { lat: number; lon: number }): number =>
  Math.hypot((a.lat - b.lat) * 111_320, (a.lon - b.lon) * 111_320 * Math.cos((a.lat * Math.PI) / 180));

describe('device models', () => {
  it.each(['thermostat', 'smart-lock', 'fitness-tracker'] as const)('%s: same seed, same readings; another seed, others', (type) => {
    const a = run(type, 5, 2);
    expect(run(type, 5, 2)).toEqual(a);
    expect(run(type, 6, 2)).not.toEqual(a);
  });

  it.each(['thermostat', 'smart-lock', 'fitness-tracker'] as const)('%s: step sizes do not change the readings', (type) => {
    const whole = run(type, 9, 2);
    const model = createModel(type, { seed: 9, startMs: START });
    const pieces: Reading[] = [];
    for (let t = START; t < START + 2 * DAY; t += 7 * MINUTE + 13_000) pieces.push(...model.step(t, Math.min(t + 7 * MINUTE + 13_000, START + 2 * DAY)));
    expect(pieces).toEqual(whole);
  });

  it('a power-off gap yields no readings for the gap, and the world goes on', () => {
    const model = createModel('thermostat', { seed: 3, startMs: START });
    const before = model.step(START, START + 6 * HOUR);
    const after = model.step(START + 8 * HOUR, START + 12 * HOUR);
    expect(before.length).toBeGreaterThan(0);
    expect(after.every((r) => r.at >= START + 8 * HOUR)).toBe(true);
    const whole = run('thermostat', 3, 0.5).filter((r) => r.at >= START + 8 * HOUR);
    expect(after).toEqual(whole);
  });

  it.each(['thermostat', 'smart-lock', 'fitness-tracker'] as const)('%s: every reading has exactly the agreed fields and types', (type) => {
    const readings = run(type, 11, 7, type === 'smart-lock' ? { jamProbability: 0.05 } : {});
    expect(readings.length).toBeGreaterThan(50);
    expect(readings.map((r) => shapeProblem(type, r)).find((p) => p !== undefined)).toBeUndefined();
    expect(readings.every((r, i) => i === 0 || (readings[i - 1]?.at ?? 0) <= r.at)).toBe(true);
  });

  it('property: for any seed, readings are well-formed, ordered and inside the step', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constantFrom<DeviceType>('thermostat', 'smart-lock', 'fitness-tracker'), (seed, type) => {
      const readings = createModel(type, { seed, startMs: START + 5 * HOUR }).step(START + 5 * HOUR, START + 29 * HOUR);
      return readings.every((r) => shapeProblem(type, r) === undefined && r.at >= START + 5 * HOUR && r.at < START + 29 * HOUR);
    }), { numRuns: 12 });
  });
});

describe('thermostat is believable', () => {
  const readings = run('thermostat', 21, 7);
  const climate = readings.filter((r) => r.category === 'climate');

  it('indoor temperature and humidity stay in a lived-in range, cooler at night (sleep setpoint)', () => {
    const temps = climate.map((r) => r.data.temperatureC as number);
    expect(Math.min(...temps)).toBeGreaterThan(12);
    expect(Math.max(...temps)).toBeLessThan(26);
    const hums = climate.map((r) => r.data.humidityPct as number);
    expect(Math.min(...hums)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...hums)).toBeLessThanOrEqual(80);
    const at = (h0: number, h1: number): number[] => climate.filter((r) => hourOfDay(r.at) >= h0 && hourOfDay(r.at) < h1).map((r) => r.data.temperatureC as number);
    expect(mean(at(19, 22))).toBeGreaterThan(mean(at(2, 5)) + 1);
  });

  it('the furnace cycles and comfort follows the routine: sleep at night, away on weekday mornings', () => {
    const hvac = readings.filter((r) => r.category === 'hvac');
    const running = hvac.filter((r) => r.data.running).length / hvac.length;
    expect(running).toBeGreaterThan(0.05);
    expect(running).toBeLessThan(0.95);
    const comfort = readings.filter((r) => r.category === 'comfort');
    expect(comfort.some((r) => r.data.setting === 'sleep' && (hourOfDay(r.at) >= 20 || hourOfDay(r.at) < 1))).toBe(true);
    expect(comfort.some((r) => r.data.setting === 'away' && hourOfDay(r.at) >= 7 && hourOfDay(r.at) < 10)).toBe(true);
    const bedroomAt3 = readings.filter((r) => r.category === 'occupancy' && r.data.room === 'bedroom' && hourOfDay(r.at) === 3);
    expect(bedroomAt3.every((r) => r.data.occupied === true)).toBe(true);
  });
});

describe('smart lock is believable', () => {
  const readings = run('smart-lock', 4, 14, { jamProbability: 0 });

  it('people of the household lock and unlock with plausible methods, auto-lock closes behind them', () => {
    const access = readings.filter((r) => r.category === 'access');
    expect(access.length).toBeGreaterThan(40);
    const ids = new Set([...DEFAULT_HOUSEHOLD.map((m) => m.id), 'auto']);
    expect(access.every((r) => ids.has(r.data.userId as string))).toBe(true);
    expect(access.some((r) => r.data.method === 'auto')).toBe(true);
    expect(access.some((r) => r.data.method === 'app')).toBe(true);
    expect(access.some((r) => r.data.method === 'keypad' || r.data.method === 'fingerprint')).toBe(true);
    const nightUnlocks = access.filter((r) => r.data.action === 'unlock' && hourOfDay(r.at) >= 1 && hourOfDay(r.at) < 5);
    expect(nightUnlocks).toHaveLength(0);
  });

  it('door opens and closes alternately; the battery only drains', () => {
    const door = readings.filter((r) => r.category === 'door').map((r) => r.data.open);
    expect(door.every((open, i) => open === (i % 2 === 0))).toBe(true);
    const battery = readings.filter((r) => r.category === 'battery').map((r) => r.data.percent as number);
    expect(battery.every((p, i) => i === 0 || p <= (battery[i - 1] ?? 100))).toBe(true);
    expect(battery[0]).toBeGreaterThan(battery[battery.length - 1] ?? 100);
  });

  it('a jam raises a safety alert and the door ends up locked', () => {
    const jammy = run('smart-lock', 4, 3, { jamProbability: 1 });
    const alerts = jammy.filter((r) => r.category === 'safety-alert');
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.every((r) => r.data.kind === 'jammed')).toBe(true);
    const states = jammy.filter((r) => r.category === 'lock-state').map((r) => r.data.state);
    expect(states[states.length - 1]).toBe('locked');
    expect(states.indexOf('jammed')).toBeGreaterThanOrEqual(0);
  });
});

describe('fitness tracker is believable', () => {
  const readings = run('fitness-tracker', 8, 7);
  const hr = readings.filter((r) => r.category === 'heart-rate');
  const tracks = new Map<string, Reading[]>();
  for (const r of readings.filter((x) => x.category === 'location')) {
    const list = tracks.get(r.data.trackId as string) ?? [];
    list.push(r);
    tracks.set(r.data.trackId as string, list);
  }

  it('heart rate follows activity: high on tracked workouts, low asleep', () => {
    const bpm = hr.map((r) => r.data.bpm as number);
    expect(Math.min(...bpm)).toBeGreaterThanOrEqual(40);
    expect(Math.max(...bpm)).toBeLessThanOrEqual(195);
    const workoutTimes = new Set([...tracks.values()].flat().map((r) => r.at));
    const during = hr.filter((r) => workoutTimes.has(r.at) && r.at % MINUTE === 0 && r.at - ([...tracks.values()].find((t) => t.some((p) => p.at === r.at))?.[0]?.at ?? 0) > 3 * MINUTE);
    const sleeping = new Set(readings.filter((r) => r.category === 'sleep').map((r) => r.at));
    const asleep = hr.filter((r) => sleeping.has(r.at));
    expect(mean(during.map((r) => r.data.bpm as number))).toBeGreaterThan(mean(asleep.map((r) => r.data.bpm as number)) + 30);
    expect(hr.filter((r) => workoutTimes.has(r.at)).length).toBeGreaterThan(hr.filter((r) => r.at % MINUTE !== 0).length * 0.9);
  });

  it('sleep stages are reported at night only, with deep, light and REM', () => {
    const sleep = readings.filter((r) => r.category === 'sleep');
    expect(sleep.every((r) => hourOfDay(r.at) >= 20 || hourOfDay(r.at) < 10)).toBe(true);
    expect(new Set(sleep.map((r) => r.data.stage))).toEqual(new Set(['awake', 'light', 'deep', 'rem']));
  });

  it('steps accrue while awake, SpO2 stays physiological', () => {
    const steps = readings.filter((r) => r.category === 'activity').reduce((n, r) => n + (r.data.steps as number), 0);
    expect(steps / 7).toBeGreaterThan(2000);
    expect(steps / 7).toBeLessThan(30000);
    const spo2 = readings.filter((r) => r.category === 'spo2').map((r) => r.data.percent as number);
    expect(Math.min(...spo2)).toBeGreaterThan(88);
    expect(Math.max(...spo2)).toBeLessThanOrEqual(100);
  });

  it('every GPS track starts and ends at home, leaves the 500 m zone, at walking or running pace', () => {
    expect(tracks.size).toBeGreaterThanOrEqual(4);
    for (const points of tracks.values()) {
      const pts = points.map((p) => p.data as { lat: number; lon: number });
      expect(metres(pts[0] ?? DEFAULT_HOME, DEFAULT_HOME)).toBeLessThan(40);
      expect(metres(pts[pts.length - 1] ?? DEFAULT_HOME, DEFAULT_HOME)).toBeLessThan(60);
      expect(Math.max(...pts.map((p) => metres(p, DEFAULT_HOME)))).toBeGreaterThan(500);
      for (let i = 1; i < points.length; i++) {
        expect((points[i]?.at ?? 0) - (points[i - 1]?.at ?? 0)).toBe(10_000);
        expect(metres(pts[i] ?? DEFAULT_HOME, pts[i - 1] ?? DEFAULT_HOME) / 10).toBeLessThan(6);
      }
    }
  });

  it('tracks start at the home location the scenario gives', () => {
    const home = { lat: 48.8566, lon: 2.3522 };
    const parisTracks = run('fitness-tracker', 8, 2, { homeLocation: home }).filter((r) => r.category === 'location');
    expect(parisTracks.length).toBeGreaterThan(0);
    expect(metres(parisTracks[0]?.data as { lat: number; lon: number }, home)).toBeLessThan(40);
  });
});
