import type { Scenario, ScenarioEvent } from './types.js';

/**
 * The same scenario squeezed into `durationMs`: event times and event durations scale by the same factor; clock
 * jumps, retention choices and the enforcement bound keep their size. Every event still happens, for real, in the
 * same order. Tests use it to run the whole library quickly; it never lengthens a scenario.
 */
export function compressScenario(scenario: Scenario, durationMs: number): Scenario {
  if (durationMs >= scenario.durationMs) return scenario;
  const f = durationMs / scenario.durationMs;
  const at = (ms: number): number => scenario.startMs + Math.round(((ms - scenario.startMs) * f) / 1000) * 1000;
  const span = (ms: number): number => Math.max(1000, Math.round((ms * f) / 1000) * 1000);
  const events = scenario.events.map((e): ScenarioEvent => {
    const moved = { ...e, atMs: at(e.atMs) };
    if ('durationMs' in moved && moved.durationMs !== undefined) return { ...moved, durationMs: span(moved.durationMs) } as ScenarioEvent;
    return moved;
  });
  return { ...scenario, durationMs, endMs: scenario.startMs + durationMs, events };
}
