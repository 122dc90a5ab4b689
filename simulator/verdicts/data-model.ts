import type { DeviceType } from '../models/types.js';

/**
 * The checker's OWN copy of the agreed data model (docs/requirements.md, "Data models"): it is deliberately not imported from the agent's
 * registry, so a registry bug cannot make the verdicts agree with it.
 */
export type Setting = 'off' | 'local' | 'minimised' | 'full';
export const SETTINGS: readonly Setting[] = ['off', 'local', 'minimised', 'full'];

export interface CategoryRule {
  default: Setting;
  /** Safety data always goes out; owners cannot turn it off. */
  safety: boolean;
  /** The longest the data may live anywhere, from its timestamp (the published maxima). */
  maxRetentionMs: number;
  /**
   * The coarsest time granularity the minimised form may introduce (timestamp truncation or aggregation window):
   * a record's timestamp can sit this far from the moment the raw reading was taken.
   */
  windowMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TECH = 30 * DAY;
const PRESENCE = 7 * DAY;
const HEALTH = 30 * DAY;

const rule = (d: Setting, maxRetentionMs: number, windowMs = 0, safety = false): CategoryRule =>
  ({ default: d, safety, maxRetentionMs, windowMs });

export const DATA_MODEL: Record<DeviceType, Record<string, CategoryRule>> = {
  thermostat: {
    climate: rule('minimised', TECH),
    hvac: rule('full', TECH),
    comfort: rule('off', PRESENCE, 15 * MINUTE),
    occupancy: rule('off', PRESENCE, HOUR),
    labels: rule('off', PRESENCE),
  },
  'smart-lock': {
    'lock-state': rule('full', TECH),
    'safety-alert': rule('full', TECH, 0, true),
    battery: rule('minimised', TECH),
    door: rule('off', PRESENCE, 15 * MINUTE),
    access: rule('minimised', PRESENCE, 15 * MINUTE),
  },
  'fitness-tracker': {
    'heart-rate': rule('off', HEALTH, MINUTE),
    spo2: rule('off', HEALTH),
    sleep: rule('off', HEALTH, DAY),
    activity: rule('off', HEALTH, HOUR),
    location: rule('off', DAY),
    battery: rule('minimised', TECH),
  },
};

export function categoryRule(type: DeviceType, category: string): CategoryRule | undefined {
  return DATA_MODEL[type][category];
}

export function categoriesOf(type: DeviceType): string[] {
  return Object.keys(DATA_MODEL[type]);
}

/** Data leaves the device only under 'minimised' or 'full'; 'local' keeps it on the device. */
export function transmits(setting: Setting): boolean {
  return setting === 'minimised' || setting === 'full';
}
