import { HouseholdRoutine, type MemberDay } from './household.js';
import { chance, gaussian, mixSeed, mulberry32, uniform, type Prng } from './prng.js';
import { FixedTickStepper } from './stepper.js';
import {
  DAY, DEFAULT_HOME, DEFAULT_HOUSEHOLD, HOUR, MINUTE, SECOND, dayStart, round,
  type DeviceModel, type GeoPoint, type ModelOptions, type Reading,
} from './types.js';

type Activity = 'sleep' | 'rest' | 'walk' | 'run';
type Stage = 'awake' | 'light' | 'deep' | 'rem';

/** A workout is a loop that starts and ends at home: a circle through the home point, walked once. */
interface Workout {
  kind: 'walk' | 'run';
  startAt: number;
  endAt: number;
  trackId: string;
  /** Angle of the circle's centre seen from home, and the radius that makes the loop the workout's length. */
  heading: number;
  radiusM: number;
}

const TICK = 10 * SECOND;
const SPEED_MPS: Record<Workout['kind'], number> = { walk: 1.4, run: 2.9 };
const METRES_PER_DEG_LAT = 111_320;

/**
 * A wrist tracker worn by the first household member: sleeps at night through 90-minute sleep cycles, rests
 * through the day, and on most days walks or runs a GPS-tracked loop from home. Heart rate follows the activity
 * with a lag; steps and calories follow the pace; SpO2 is sampled sparsely; the battery drains and is recharged.
 */
export function createFitnessTrackerModel(options: ModelOptions): DeviceModel {
  const rng = mulberry32(mixSeed(options.seed, 'fitness-tracker'));
  const home = options.homeLocation ?? DEFAULT_HOME;
  const routine = new HouseholdRoutine(options.seed, options.household ?? DEFAULT_HOUSEHOLD);
  const restingHr = Math.round(uniform(rng, 56, 68));
  const state = { hr: restingHr, battery: uniform(rng, 70, 100), charging: false, stage: 'light' as Stage, stepsThisMinute: 0, kcalThisMinute: 0 };
  const workouts = new Map<number, Workout[]>();

  const workoutsOn = (start: number): Workout[] => {
    let list = workouts.get(start);
    if (!list) {
      list = planWorkouts(options.seed, start, routine.day(0, start));
      if (workouts.size > 8) workouts.clear();
      workouts.set(start, list);
    }
    return list;
  };

  const tick = (t: number, out: Reading[]): void => {
    const start = dayStart(t);
    const day = routine.day(0, start);
    const workout = workoutsOn(start).find((w) => t >= w.startAt && t < w.endAt);
    const activity: Activity = workout ? workout.kind : t < day.wakeAt || t >= day.sleepAt ? 'sleep' : 'rest';
    if (activity === 'sleep' && t % (5 * MINUTE) === 0) {
      state.stage = sleepStage(rng, t, day);
      out.push({ category: 'sleep', data: { stage: state.stage }, at: t });
    }
    updateHeartRate(state, rng, activity, restingHr);
    if (activity === 'walk' || activity === 'run' || t % MINUTE === 0) {
      out.push({ category: 'heart-rate', data: { bpm: Math.round(state.hr) }, at: t });
    }
    accumulateActivity(state, rng, activity);
    if (t % MINUTE === 0 && activity !== 'sleep') {
      out.push({ category: 'activity', data: { steps: state.stepsThisMinute, calories: round(state.kcalThisMinute, 1) }, at: t });
      state.stepsThisMinute = 0;
      state.kcalThisMinute = 0;
    }
    if (workout) out.push({ category: 'location', data: { ...trackPoint(home, workout, t, rng), trackId: workout.trackId }, at: t });
    const spo2Every = activity === 'sleep' ? 15 * MINUTE : HOUR;
    if (t % spo2Every === 0) out.push({ category: 'spo2', data: { percent: spo2(rng, activity) }, at: t });
    updateBattery(state, t, day, workout !== undefined, out);
  };
  const stepper = new FixedTickStepper(Math.ceil(options.startMs / TICK) * TICK, TICK, tick);
  return { type: 'fitness-tracker', step: (from, to) => stepper.step(from, to) };
}

function planWorkouts(seed: number, start: number, day: MemberDay): Workout[] {
  const rng = mulberry32(mixSeed(seed, 'workouts', start));
  const candidates: Array<{ kind: Workout['kind']; at: number; minutes: number }> = [];
  if (chance(rng, 0.45)) candidates.push({ kind: 'run', at: day.wakeAt + uniform(rng, 15, 40) * MINUTE, minutes: uniform(rng, 25, 45) });
  if (chance(rng, 0.35)) candidates.push({ kind: 'walk', at: start + uniform(rng, 12, 12.5) * HOUR, minutes: uniform(rng, 20, 40) });
  if (chance(rng, 0.6)) candidates.push({ kind: 'walk', at: start + uniform(rng, 19, 20.5) * HOUR, minutes: uniform(rng, 25, 60) });
  const home = (t: number): boolean => !day.outings.some((o) => t >= o.leaveAt && t < o.returnAt);
  return candidates
    .map((c) => {
      const startAt = Math.round(c.at / TICK) * TICK;
      const endAt = startAt + Math.round((c.minutes * MINUTE) / TICK) * TICK;
      const radiusM = (SPEED_MPS[c.kind] * (endAt - startAt)) / 1000 / (2 * Math.PI);
      const trackId = `trk-${Math.floor(rng() * 0xffffffff).toString(16).padStart(8, '0')}`;
      return { kind: c.kind, startAt, endAt, trackId, heading: rng() * 2 * Math.PI, radiusM };
    })
    .filter((w) => home(w.startAt) && home(w.endAt) && w.endAt < day.sleepAt && w.startAt >= day.wakeAt);
}

/** Position on the loop: the circle's centre lies `radiusM` from home along `heading`; home is at angle heading+pi. */
export function trackPoint(home: GeoPoint, w: Workout, t: number, rng: Prng): GeoPoint {
  const progress = (t - w.startAt) / (w.endAt - w.startAt);
  const angle = w.heading + Math.PI + 2 * Math.PI * progress;
  const jitter = (): number => gaussian(rng, 0, 3);
  const north = w.radiusM * (Math.sin(w.heading) + Math.sin(angle)) + jitter();
  const east = w.radiusM * (Math.cos(w.heading) + Math.cos(angle)) + jitter();
  const lat = home.lat + north / METRES_PER_DEG_LAT;
  const lon = home.lon + east / (METRES_PER_DEG_LAT * Math.cos((home.lat * Math.PI) / 180));
  return { lat: round(lat, 6), lon: round(lon, 6) };
}

/** 90-minute cycles: deep sleep dominates early in the night, REM late; brief awakenings happen. */
function sleepStage(rng: Prng, t: number, day: MemberDay): Stage {
  const bedtime = t >= day.sleepAt ? day.sleepAt : day.sleepAt - DAY;
  const sinceBed = t - bedtime;
  if (sinceBed < 10 * MINUTE || chance(rng, 0.03)) return 'awake';
  const cycle = Math.floor(sinceBed / (90 * MINUTE));
  const phase = (sinceBed % (90 * MINUTE)) / (90 * MINUTE);
  const deep = Math.max(0.05, 0.35 - 0.07 * cycle);
  const rem = Math.min(0.4, 0.12 + 0.06 * cycle);
  if (phase < 0.3) return 'light';
  if (phase < 0.3 + deep) return 'deep';
  if (phase < 1 - rem) return 'light';
  return 'rem';
}

interface TrackerState {
  hr: number;
  battery: number;
  charging: boolean;
  stage: Stage;
  stepsThisMinute: number;
  kcalThisMinute: number;
}

function updateHeartRate(state: TrackerState, rng: Prng, activity: Activity, resting: number): void {
  const stageOffset: Record<Stage, number> = { awake: 4, light: -5, deep: -9, rem: 2 };
  const target = activity === 'run' ? resting + 88 : activity === 'walk' ? resting + 38
    : activity === 'sleep' ? resting + stageOffset[state.stage] : resting + 6;
  // The heart speeds up faster than it recovers.
  const tau = target > state.hr ? 30 : 70;
  state.hr += (target - state.hr) * (1 - Math.exp(-10 / tau)) + gaussian(rng, 0, 1.2);
  state.hr = Math.min(195, Math.max(40, state.hr));
}

function accumulateActivity(state: TrackerState, rng: Prng, activity: Activity): void {
  // Asleep, nothing is counted: the minute totals are reported only while awake.
  if (activity === 'sleep') return;
  const perTick = { sleep: 0, rest: chance(rng, 0.05) ? uniform(rng, 5, 25) : 0, walk: uniform(rng, 16, 20), run: uniform(rng, 26, 30) }[activity];
  const kcalPerMinute = { sleep: 0.9, rest: 1.3, walk: 4.5, run: 11 }[activity];
  state.stepsThisMinute += Math.round(perTick);
  state.kcalThisMinute += kcalPerMinute / 6;
}

function spo2(rng: Prng, activity: Activity): number {
  const dip = activity === 'sleep' && chance(rng, 0.1) ? uniform(rng, 2, 4) : 0;
  return round(Math.min(100, gaussian(rng, 97.4, 0.7) - dip), 1);
}

/** About 0.7 %/h, more with GPS on; charged to full on the bedside table in the first hour after waking when low. */
function updateBattery(state: TrackerState, t: number, day: MemberDay, gps: boolean, out: Reading[]): void {
  const hours = TICK / HOUR;
  if (!state.charging && state.battery < 20 && t >= day.wakeAt && t < day.wakeAt + TICK) state.charging = true;
  if (state.charging) {
    state.battery = Math.min(100, state.battery + 90 * hours);
    if (state.battery >= 100) state.charging = false;
  } else {
    state.battery = Math.max(0, state.battery - (0.7 + (gps ? 4 : 0)) * hours);
  }
  if (t % HOUR === 0) out.push({ category: 'battery', data: { percent: Math.round(state.battery) }, at: t });
}
