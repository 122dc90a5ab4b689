import { TrustError } from '../../agent/errors.js';
import { compressScenario } from './compress.js';
import { formatDuration } from './duration.js';
import type { Scenario, ScenarioEvent } from './types.js';

/**
 * The scenario run for `durationMs` instead of its own duration. Longer: the same events. Shorter: an error naming
 * every event that would not run (or not finish) in the shorter run, unless `rescale` asks for every event time and
 * event duration to be scaled into it (compressScenario). The description says what was changed, so a report never
 * claims "7 virtual days" for a 2-hour run.
 */
export function withDuration(scenario: Scenario, durationMs: number, options: { rescale?: boolean } = {}): Scenario {
  if (durationMs === scenario.durationMs) return scenario;
  const was = formatDuration(scenario.durationMs);
  const now = formatDuration(durationMs);
  if (durationMs > scenario.durationMs) {
    return note({ ...scenario, durationMs, endMs: scenario.startMs + durationMs }, `run for ${now} instead of ${was}; events unchanged`);
  }
  if (options.rescale === true) {
    return note(compressScenario(scenario, durationMs), `rescaled from ${was} to ${now}: event times and durations scaled by the same factor`);
  }
  const endMs = scenario.startMs + durationMs;
  const lost = scenario.events.filter((e) => e.atMs >= endMs || endOf(e) > endMs);
  if (lost.length === 0) return note({ ...scenario, durationMs, endMs }, `run for ${now} instead of ${was}; every event fits`);
  const lines = lost.map((e) => `  ${describeEvent(scenario, e)}${e.atMs >= endMs ? '' : ` (still running at the end: ends at ${formatDuration(endOf(e) - scenario.startMs)})`}`);
  throw new TrustError('INVALID_ARGUMENT', `--duration ${now} is shorter than the scenario's events (it runs ${was}); ${lost.length} of ${scenario.events.length} events would be dropped or cut short:\n${lines.join('\n')}\nuse a longer --duration, or add --rescale to scale every event into ${now}`);
}

function endOf(e: ScenarioEvent): number {
  return 'durationMs' in e && e.durationMs !== undefined ? e.atMs + e.durationMs : e.atMs;
}

/** `events[4] at 2d3h: power-loss lock-1 (20m)` */
export function describeEvent(scenario: Scenario, e: ScenarioEvent): string {
  const who = 'device' in e ? ` ${e.device}` : 'deviceType' in e ? ` ${e.deviceType}` : '';
  const span = 'durationMs' in e && e.durationMs !== undefined ? ` (${formatDuration(e.durationMs)})` : '';
  return `events[${e.index}] at ${formatDuration(e.atMs - scenario.startMs)}: ${e.type}${who}${span}`;
}

function note(scenario: Scenario, text: string): Scenario {
  return { ...scenario, description: `${scenario.description} [${text}]` };
}

const OWNER_EVENTS = new Set(['preference', 'reset', 'erase', 'export', 'transfer', 'hostile']);

/**
 * The scenario with these devices left to an outside companion: the events that need the simulated owner (its
 * requests, its keys for hostile replays) are removed for them, and the description lists what was removed.
 */
export function leaveUnpaired(scenario: Scenario, deviceIds: readonly string[]): { scenario: Scenario; removed: string[] } {
  const known = new Set(scenario.devices.map((d) => d.id));
  const unknown = deviceIds.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new TrustError('INVALID_ARGUMENT', `--unpaired: no device ${unknown.join(', ')} in the fleet (devices: ${[...known].join(', ')})`);
  const unpaired = new Set(deviceIds);
  const removedEvents = scenario.events.filter((e) => OWNER_EVENTS.has(e.type) && 'device' in e && unpaired.has(e.device));
  const removed = removedEvents.map((e) => describeEvent(scenario, e));
  const events = scenario.events.filter((e) => !removedEvents.includes(e));
  const text = `unpaired for an outside companion: ${deviceIds.join(', ')}${removed.length === 0 ? '' : `; their owner events removed: ${removedEvents.map((e) => `events[${e.index}]`).join(', ')}`}`;
  return { scenario: note({ ...scenario, events }, text), removed };
}

/**
 * The same scenario starting at `startMs` (every event keeps its offset). A realtime run starts now: virtual time
 * follows the wall clock, so an outside companion's signed requests (checked against the device clock within a
 * couple of minutes) and an outside decoder's expiry checks agree with the devices.
 */
export function startingAt(scenario: Scenario, startMs: number): Scenario {
  const shift = startMs - scenario.startMs;
  if (shift === 0) return scenario;
  const events = scenario.events.map((e) => ({ ...e, atMs: e.atMs + shift }));
  return { ...scenario, startMs, endMs: scenario.endMs + shift, events };
}
