import type { Registry } from '../registry-types.js';
import { batteryCategory, DAY, HOUR, MINUTE, RECIPIENTS } from './common.js';

// Pure: a firmware that does not import this registry does not carry it (tree shaking).
const BATTERY = /* @__PURE__ */ batteryCategory(['low-battery reminders in the app']);

/** Fitness-tracker data categories, following the agreed data model (docs/requirements.md, "Data models"). */
export const fitnessTrackerRegistry: Registry = {
  format: 1,
  deviceType: 'fitness-tracker',
  version: 1,
  sensors: ['optical heart-rate sensor', 'pulse oximeter', 'accelerometer', 'GPS receiver', 'battery monitor'],
  recipients: RECIPIENTS,
  categories: [
    {
      name: 'heart-rate',
      description: 'Heart rate in beats per minute.',
      fields: { bpm: { type: 'number', description: 'beats per minute', min: 20, max: 250 } },
      sensitivity: ['health'],
      purposes: ['heart-rate charts in the app', 'workout summaries'],
      recipients: ['vendor-cloud', 'third-party'],
      essential: false,
      safety: false,
      retentionMaxMs: 30 * DAY,
      settings: ['off', 'local', 'minimised', 'full'],
      default: 'off',
      minimise: [
        {
          name: 'per-minute',
          description: 'per minute: lowest, average (rounded) and highest heart rate',
          aggregate: {
            windowMs: MINUTE,
            offsetMs: 0,
            minReadings: 1,
            outputs: { bpmMin: { fn: 'min', field: 'bpm' }, bpmAvg: { fn: 'mean', field: 'bpm', round: 1 }, bpmMax: { fn: 'max', field: 'bpm' } },
          },
        },
        { name: 'buckets', description: 'each reading in 10 bpm steps', fields: { bpm: [{ op: 'bucket', size: 10 }] } },
      ],
      stopsWorkingWhenOff: ['heart-rate charts', 'workout intensity'],
    },
    {
      name: 'spo2',
      description: 'Blood oxygen saturation.',
      fields: { percent: { type: 'number', description: 'SpO2 in percent', min: 50, max: 100 } },
      sensitivity: ['health'],
      purposes: ['blood-oxygen charts in the app'],
      recipients: ['vendor-cloud'],
      essential: false,
      safety: false,
      retentionMaxMs: 30 * DAY,
      settings: ['off', 'local', 'minimised', 'full'],
      default: 'off',
      minimise: [{ name: 'rounded', description: 'rounded to 1 %', fields: { percent: [{ op: 'round', step: 1 }] } }],
      stopsWorkingWhenOff: ['blood-oxygen charts'],
    },
    {
      name: 'sleep',
      description: 'Sleep stages over the night.',
      fields: { stage: { type: 'enum', description: 'sleep stage', values: ['awake', 'light', 'deep', 'rem'] } },
      sensitivity: ['health', 'presence'],
      purposes: ['sleep reports in the app'],
      recipients: ['vendor-cloud'],
      essential: false,
      safety: false,
      retentionMaxMs: 30 * DAY,
      settings: ['off', 'local', 'minimised', 'full'],
      default: 'off',
      minimise: [
        {
          name: 'nightly-totals',
          description: 'per night (noon to noon, UTC): minutes in each stage',
          aggregate: {
            windowMs: DAY,
            offsetMs: 12 * HOUR,
            minReadings: 1,
            outputs: {
              awakeMin: { fn: 'duration', field: 'stage', equals: 'awake', maxGapMs: 30 * MINUTE, unitMs: MINUTE },
              lightMin: { fn: 'duration', field: 'stage', equals: 'light', maxGapMs: 30 * MINUTE, unitMs: MINUTE },
              deepMin: { fn: 'duration', field: 'stage', equals: 'deep', maxGapMs: 30 * MINUTE, unitMs: MINUTE },
              remMin: { fn: 'duration', field: 'stage', equals: 'rem', maxGapMs: 30 * MINUTE, unitMs: MINUTE },
            },
          },
        },
      ],
      stopsWorkingWhenOff: ['sleep reports'],
    },
    {
      name: 'activity',
      description: 'Steps and calories.',
      fields: {
        steps: { type: 'number', description: 'steps since the last reading', min: 0 },
        calories: { type: 'number', description: 'kcal since the last reading', min: 0 },
      },
      sensitivity: ['health'],
      purposes: ['activity charts in the app', 'goals'],
      recipients: ['vendor-cloud', 'third-party'],
      essential: false,
      safety: false,
      retentionMaxMs: 30 * DAY,
      settings: ['off', 'local', 'minimised', 'full'],
      default: 'off',
      minimise: [
        {
          name: 'hourly-sums',
          description: 'per hour: total steps and calories',
          aggregate: {
            windowMs: HOUR,
            offsetMs: 0,
            minReadings: 1,
            outputs: { steps: { fn: 'sum', field: 'steps' }, calories: { fn: 'sum', field: 'calories', round: 1 } },
          },
        },
      ],
      stopsWorkingWhenOff: ['activity charts', 'daily goals'],
    },
    {
      name: 'location',
      description: 'GPS position during workouts.',
      fields: {
        lat: { type: 'number', description: 'latitude in degrees', min: -90, max: 90 },
        lon: { type: 'number', description: 'longitude in degrees', min: -180, max: 180 },
        trackId: { type: 'string', description: 'workout track identifier', maxLength: 64 },
      },
      sensitivity: ['location', 'health'],
      purposes: ['workout maps in the app'],
      recipients: ['vendor-cloud'],
      essential: false,
      safety: false,
      retentionMaxMs: DAY,
      settings: ['off', 'local', 'minimised', 'full'],
      default: 'off',
      minimise: [
        {
          name: 'coarse-track',
          description: 'position coarsened to a grid of 0.01° (about 1 km); first and last 500 m of each track not sent; track id replaced by a daily pseudonym',
          fields: { lat: [{ op: 'grid', cell: 0.01 }], lon: [{ op: 'grid', cell: 0.01 }], trackId: [{ op: 'pseudonymise', epochMs: DAY }] },
          track: { lat: 'lat', lon: 'lon', trackId: 'trackId', suppressMeters: 500, maxGapMs: 10 * MINUTE },
        },
      ],
      stopsWorkingWhenOff: ['workout maps'],
    },
    BATTERY,
  ],
};
