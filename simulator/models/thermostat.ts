import { HouseholdRoutine } from './household.js';
import { gaussian, mixSeed, mulberry32, type Prng } from './prng.js';
import { FixedTickStepper } from './stepper.js';
import {
  DEFAULT_HOUSEHOLD, HOUR, MINUTE, hourOfDay, round,
  type DeviceModel, type ModelOptions, type Reading,
} from './types.js';

type Comfort = 'home' | 'away' | 'sleep';
const SETPOINT: Record<Comfort, number> = { home: 21, sleep: 18, away: 16 };
/** Cooling starts this far above the heating setpoint ('auto' mode keeps a dead band). */
const COOL_BAND = 5;
const ROOMS = ['living', 'kitchen', 'bedroom'] as const;

/** Outdoor air: a daily cycle (coldest near 05:00, warmest near 15:00) on top of slowly drifting weather. */
class Weather {
  private drift = 0;
  constructor(private readonly rng: Prng, private readonly meanC: number) {}

  /** Advance one minute; an Ornstein-Uhlenbeck drift with a time scale of about two days. */
  next(t: number): number {
    this.drift += -this.drift / (48 * 60) + gaussian(this.rng, 0, 0.06);
    const daily = 4.5 * Math.cos((2 * Math.PI * (hourOfDay(t) - 15)) / 24);
    return this.meanC + daily + this.drift;
  }
}

/**
 * A house as a first-order thermal model: it loses heat to the outside with a time constant of about 10 hours,
 * gains it from the furnace (about 3 °C/h) and from occupants; 'auto' mode heats below the setpoint and cools
 * above setpoint + 5, with hysteresis so the furnace cycles like a real one.
 */
export function createThermostatModel(options: ModelOptions): DeviceModel {
  const rng = mulberry32(mixSeed(options.seed, 'thermostat'));
  const household = new HouseholdRoutine(options.seed, options.household ?? DEFAULT_HOUSEHOLD);
  const weather = new Weather(rng, 6 + 4 * rng());
  let indoor = 19 + rng() * 2;
  let heating = false;
  let cooling = false;
  let comfort: Comfort | undefined;
  let lastHvac = '';
  let lastHvacAt = -Infinity;

  const tick = (t: number, out: Reading[]): void => {
    const outdoor = weather.next(t);
    const people = household.homeCount(t);
    const next: Comfort = people === 0 ? 'away' : household.allAsleep(t) ? 'sleep' : 'home';
    if (next !== comfort) {
      comfort = next;
      out.push({ category: 'comfort', data: { setting: next }, at: t });
    }
    const setpoint = SETPOINT[next];
    if (heating ? indoor > setpoint + 0.3 : indoor < setpoint - 0.3) heating = !heating;
    if (cooling ? indoor < setpoint + COOL_BAND - 0.3 : indoor > setpoint + COOL_BAND + 0.3) cooling = !cooling;
    indoor += (outdoor - indoor) / 600 + (heating ? 0.05 : 0) - (cooling ? 0.05 : 0) + people * 0.0015;
    const running = heating || cooling;
    const hvacKey = `${running}:${setpoint}`;
    if (hvacKey !== lastHvac || t - lastHvacAt >= 30 * MINUTE) {
      lastHvac = hvacKey;
      lastHvacAt = t;
      out.push({ category: 'hvac', data: { mode: 'auto', running, setpointC: setpoint }, at: t });
    }
    if (t % (5 * MINUTE) === 0) {
      // Relative humidity falls as the air warms (same moisture, more capacity), plus sensor noise.
      const humidity = 45 - (indoor - 20) * 2.5 + 6 * Math.sin(t / (9 * HOUR)) + gaussian(rng, 0, 0.8);
      out.push({
        category: 'climate',
        data: { temperatureC: round(indoor + gaussian(rng, 0, 0.05), 2), humidityPct: round(clamp(humidity, 20, 80), 1) },
        at: t,
      });
    }
    if (t % (15 * MINUTE) === 0) emitOccupancy(t, out, people, next, rng);
    if (t % (24 * HOUR) === 0 || t === options.startMs) {
      out.push({ category: 'labels', data: { deviceName: 'Hallway thermostat', roomName: 'Hallway' }, at: t });
    }
  };
  const stepper = new FixedTickStepper(alignToMinute(options.startMs), MINUTE, tick);
  return { type: 'thermostat', step: (from, to) => stepper.step(from, to) };
}

function emitOccupancy(t: number, out: Reading[], people: number, comfort: Comfort, rng: Prng): void {
  const hour = hourOfDay(t);
  const mealtime = (hour >= 6.5 && hour < 8) || (hour >= 12 && hour < 13) || (hour >= 18 && hour < 19.5);
  const awakeHome = people > 0 && comfort === 'home';
  const state: Record<string, boolean> = {
    living: awakeHome && hour >= 8 && rng() < 0.75,
    kitchen: awakeHome && (mealtime ? rng() < 0.8 : rng() < 0.1),
    bedroom: comfort === 'sleep' || (awakeHome && rng() < 0.1),
  };
  for (const room of ROOMS) out.push({ category: 'occupancy', data: { room, occupied: state[room] ?? false }, at: t });
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function alignToMinute(t: number): number {
  return Math.ceil(t / MINUTE) * MINUTE;
}
