import type { Registry } from 'iot-trust-agent';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/**
 * The data categories of a smart plug, written by its firmware team: nothing here is shipped by iot-trust-agent.
 * `loadRegistry` (run by `createAgent`) validates it and names the place of any contradiction. Bump `version` with
 * every change: narrowing reaches devices at once, anything wider waits for each owner's consent.
 */
export const smartPlugRegistry: Registry = {
  format: 1,
  deviceType: 'smart-plug',
  version: 1,
  sensors: ['power meter', 'relay state', 'internal temperature sensor'],
  recipients: {
    'vendor-cloud': "the manufacturer's cloud service, which runs the companion app",
    'third-party': 'an energy provider the owner connects explicitly',
  },
  categories: [
    {
      name: 'relay',
      description: 'Whether the plug is switched on.',
      fields: { on: { type: 'boolean', description: 'relay closed' } },
      sensitivity: ['technical'],
      purposes: ['remote switching from the app'],
      recipients: ['vendor-cloud'],
      essential: true,
      safety: false,
      retentionMaxMs: 30 * DAY,
      settings: ['off', 'local', 'full'],
      default: 'full',
      minimise: [],
      stopsWorkingWhenOff: ['switch state in the app'],
    },
    {
      name: 'overheat',
      description: 'The plug cut the power because it overheated.',
      fields: { celsius: { type: 'number', description: 'internal temperature', min: -40, max: 200 } },
      sensitivity: ['technical'],
      purposes: ['warning the owner of a fire risk'],
      recipients: ['vendor-cloud'],
      essential: true,
      safety: true,
      retentionMaxMs: 30 * DAY,
      settings: ['full'],
      default: 'full',
      minimise: [],
      stopsWorkingWhenOff: ['(cannot be turned off: safety data)'],
    },
    {
      name: 'power',
      description: 'Power drawn by the connected appliance.',
      fields: {
        watts: { type: 'number', description: 'power in watts', min: 0, max: 4000 },
        appliance: { type: 'string', description: 'appliance name chosen by the owner', maxLength: 64 },
      },
      sensitivity: ['technical'],
      purposes: ['energy reports in the app'],
      recipients: ['vendor-cloud', 'third-party'],
      essential: false,
      safety: false,
      retentionMaxMs: 7 * DAY,
      settings: ['off', 'local', 'minimised', 'full'],
      default: 'minimised',
      minimise: [
        {
          name: 'coarse',
          description: 'each reading in 100 W steps, no appliance name, time to 15 minutes',
          truncateTimeMs: 15 * 60_000,
          fields: { watts: [{ op: 'bucket', size: 100 }], appliance: [{ op: 'drop' }] },
        },
        {
          name: 'hourly-energy',
          description: 'per hour: average and peak power; hours with fewer than 4 readings are not reported',
          aggregate: {
            windowMs: HOUR,
            offsetMs: 0,
            minReadings: 4,
            outputs: { wattsAvg: { fn: 'mean', field: 'watts', round: 10 }, wattsMax: { fn: 'max', field: 'watts' } },
          },
        },
      ],
      stopsWorkingWhenOff: ['energy reports', 'energy provider tariffs'],
    },
    {
      // The sensitive one: appliance use tells when someone is at home. Off until the owner opts in.
      name: 'occupancy',
      description: 'Whether someone is at home, inferred on the plug from how the appliance is used.',
      fields: {
        occupied: { type: 'boolean', description: 'someone is at home' },
        confidence: { type: 'number', description: 'confidence of the inference in percent', min: 0, max: 100 },
      },
      sensitivity: ['presence'],
      purposes: ['away mode: switching the appliance off when nobody is at home'],
      recipients: ['vendor-cloud'],
      essential: false,
      safety: false,
      retentionMaxMs: 2 * DAY,
      settings: ['off', 'local', 'minimised', 'full'],
      default: 'off',
      minimise: [
        {
          name: 'hourly',
          description: 'per hour: how many readings said someone was home; hours with fewer than 3 readings are not reported',
          aggregate: { windowMs: HOUR, offsetMs: 0, minReadings: 3, outputs: { homeReadings: { fn: 'count', field: 'occupied', equals: true } } },
        },
      ],
      stopsWorkingWhenOff: ['away mode'],
    },
  ],
};
