import type { Registry } from '../registry-types.js';

/** Shared constants of the shipped registries: durations and the recipients every device type knows. */
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const RECIPIENTS: Record<string, string> = {
  'vendor-cloud': "the manufacturer's cloud service, which runs the companion app",
  analytics: "the manufacturer's product analytics (aggregate statistics, no individual support)",
  'third-party': 'partners the owner connects explicitly (e.g. an energy provider or a health app)',
};

/** Battery charge: the same category on every battery-powered device; only what stops working differs. */
export function batteryCategory(stopsWorkingWhenOff: string[]): Registry['categories'][number] {
  return {
    name: 'battery',
    description: 'Battery charge level.',
    fields: { percent: { type: 'number', description: 'charge in percent', min: 0, max: 100 } },
    sensitivity: ['technical'],
    purposes: ['low-battery warnings'],
    recipients: ['vendor-cloud'],
    essential: true,
    safety: false,
    retentionMaxMs: 30 * DAY,
    settings: ['off', 'local', 'minimised', 'full'],
    default: 'minimised',
    minimise: [{ name: 'bucketed', description: 'charge in 10 % steps', fields: { percent: [{ op: 'bucket', size: 10 }] } }],
    stopsWorkingWhenOff,
  };
}
