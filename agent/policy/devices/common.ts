/** Shared constants of the shipped registries: durations and the recipients every device type knows. */
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const RECIPIENTS: Record<string, string> = {
  'vendor-cloud': "the manufacturer's cloud service, which runs the companion app",
  analytics: "the manufacturer's product analytics (aggregate statistics, no individual support)",
  'third-party': 'partners the owner connects explicitly (e.g. an energy provider or a health app)',
};
