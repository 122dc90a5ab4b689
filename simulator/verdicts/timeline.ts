import type { Scenario, ScenarioDevice } from '../scenario/types.js';
import { rulesOf, transmits, type Setting } from './data-model.js';

/** One stretch of time during which a device/category had one setting and retention. */
export interface Segment {
  from: number;
  to: number;
  setting: Setting;
  retentionMs: number;
}

export type Timeline = Map<string, Map<string, Segment[]>>;

/**
 * The preference timeline the checker expects, from the registry defaults and the owner's own actions only.
 * Policy updates are ignored ON PURPOSE: widening must not apply without consent, so the old terms stay expected.
 */
export function buildTimeline(scenario: Scenario): Timeline {
  const timeline: Timeline = new Map();
  for (const device of scenario.devices) {
    const categories = new Map<string, Segment[]>();
    for (const [category, rule] of Object.entries(rulesOf(device))) {
      categories.set(category, [{ from: -Infinity, to: Infinity, setting: rule.default, retentionMs: rule.maxRetentionMs }]);
    }
    timeline.set(device.id, categories);
  }
  for (const event of scenario.events) {
    if (event.type === 'preference') {
      for (const [category, change] of Object.entries(event.patch)) {
        const max = ruleOf(scenario, event.device, category)?.maxRetentionMs ?? Infinity;
        setFrom(timeline, event.device, category, event.atMs, change.setting, Math.min(max, change.retentionMs ?? max));
      }
    } else if (event.type === 'reset' || event.type === 'transfer' || (event.type === 'erase' && event.user === undefined)) {
      // Erasing everything resets the preferences too (docs/companion.md, R10), as a reset and a transfer do.
      for (const [category, rule] of Object.entries(rulesOf(deviceOf(scenario, event.device)))) {
        setFrom(timeline, event.device, category, event.atMs, rule.default, rule.maxRetentionMs);
      }
    }
  }
  return timeline;
}

function setFrom(timeline: Timeline, device: string, category: string, at: number, setting: Setting, retentionMs: number): void {
  const segments = timeline.get(device)?.get(category);
  if (!segments) return;
  const last = segments[segments.length - 1];
  if (!last) return;
  last.to = at;
  segments.push({ from: at, to: Infinity, setting, retentionMs });
}

export function deviceOf(scenario: Scenario, deviceId: string): ScenarioDevice {
  const device = scenario.devices.find((d) => d.id === deviceId);
  if (!device) throw new RangeError(`unknown device ${deviceId}`);
  return device;
}

export function ruleOf(scenario: Scenario, deviceId: string, category: string) {
  const device = scenario.devices.find((d) => d.id === deviceId);
  return device ? rulesOf(device)[category] : undefined;
}

/** Segments of a device/category overlapping [from, to]. */
export function segmentsIn(timeline: Timeline, device: string, category: string, from: number, to: number): Segment[] {
  return (timeline.get(device)?.get(category) ?? []).filter((s) => s.from <= to && s.to > from);
}

/** True when the category could not leave the device at any moment of [from, to]. */
export function neverTransmitting(timeline: Timeline, device: string, category: string, from: number, to: number): boolean {
  const segments = segmentsIn(timeline, device, category, from, to);
  return segments.length > 0 && segments.every((s) => !transmits(s.setting));
}

export function alwaysSetting(timeline: Timeline, device: string, category: string, from: number, to: number, setting: Setting): boolean {
  const segments = segmentsIn(timeline, device, category, from, to);
  return segments.length > 0 && segments.every((s) => s.setting === setting);
}

/** The shortest retention in force at any moment of [from, to] (narrowing caps what is already stored). */
export function tightestRetention(timeline: Timeline, device: string, category: string, from: number, to: number): number {
  const segments = segmentsIn(timeline, device, category, from, Math.max(from, to));
  return segments.length === 0 ? Infinity : Math.min(...segments.map((s) => s.retentionMs));
}

/** Intervals in which a device could not reach the broker (outage, partition, power loss). */
export function offlineWindows(scenario: Scenario, device: string): Array<{ from: number; to: number }> {
  const windows: Array<{ from: number; to: number }> = [];
  for (const e of scenario.events) {
    if (e.type === 'broker-outage' || ((e.type === 'partition' || e.type === 'power-loss') && e.device === device)) {
      windows.push({ from: e.atMs, to: e.atMs + e.durationMs });
    }
  }
  return windows;
}

/** The largest clock jump a device experiences: device timestamps may be off by this much. */
export function clockSlack(scenario: Scenario, device: string): number {
  let slack = 0;
  for (const e of scenario.events) if (e.type === 'clock' && e.device === device) slack = Math.max(slack, Math.abs(e.jumpMs));
  return slack;
}
