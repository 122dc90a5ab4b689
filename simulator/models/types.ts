/** Shapes shared by the device models. Categories and fields follow docs DATA-MODEL (the agreed data model). */
export type DeviceType = 'thermostat' | 'smart-lock' | 'fitness-tracker';
export const DEVICE_TYPES: readonly DeviceType[] = ['thermostat', 'smart-lock', 'fitness-tracker'];

export type ReadingValue = string | number | boolean;

/** One call to `agent.record(category, data, at)`. */
export interface Reading {
  category: string;
  data: Record<string, ReadingValue>;
  /** Wall-clock ms (virtual) the reading describes. */
  at: number;
}

export interface GeoPoint {
  lat: number;
  lon: number;
}

export interface HouseholdMember {
  /** Raw user id as the lock knows it (the agent must never let it leave the device when minimised). */
  id: string;
  name: string;
  role: 'adult' | 'child';
}

export interface ModelOptions {
  seed: number;
  startMs: number;
  homeLocation?: GeoPoint;
  household?: readonly HouseholdMember[];
  /** Chance that one lock operation jams (default 0.004: a rare event, a few per month per lock). */
  jamProbability?: number;
}

export interface DeviceModel {
  /** A shipped DeviceType, or a custom type replayed from a trace. */
  readonly type: string;
  /**
   * Readings with `fromMs <= at < toMs`, in time order. The world keeps running between calls: a gap (the
   * device was powered off) produces no readings for the gap. Calls must move forward in time.
   */
  step(fromMs: number, toMs: number): Reading[];
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const DEFAULT_HOME: GeoPoint = { lat: 52.37021, lon: 4.89517 };

export const DEFAULT_HOUSEHOLD: readonly HouseholdMember[] = [
  { id: 'u-7f3a91', name: 'Alice Martin', role: 'adult' },
  { id: 'u-2c84e0', name: 'Bruno Martin', role: 'adult' },
  { id: 'u-9d15b7', name: 'Chloe Martin', role: 'child' },
];

export function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** Hours since midnight UTC (the simulated household lives on UTC, which keeps replays timezone-free). */
export function hourOfDay(t: number): number {
  return ((t % DAY) + DAY) % DAY / HOUR;
}

export function dayStart(t: number): number {
  return Math.floor(t / DAY) * DAY;
}
