import type { Registry } from '../../agent/policy/registry-types.js';
import type { TraceReading } from '../models/trace.js';
import type { DeviceType, GeoPoint } from '../models/types.js';
import type { Setting } from '../verdicts/data-model.js';

/** A validated scenario with every time resolved to absolute virtual ms and every device id expanded. */
export interface Scenario {
  name: string;
  description: string;
  seed: number;
  startMs: number;
  durationMs: number;
  endMs: number;
  speed: 'virtual' | 'realtime';
  broker: { kind: 'embedded' } | { kind: 'external'; url: string; ca?: string };
  home?: GeoPoint;
  fleet: Array<{ type: string; count: number; idPrefix: string }>;
  devices: ScenarioDevice[];
  /** How long after a change the agent may still emit or hold data in the old form. */
  enforcementBoundMs: number;
  /** Sorted by `atMs` (stable: file order for equal times). */
  events: ScenarioEvent[];
  /** Where it was loaded from, for reports. */
  source?: string;
}

export interface ScenarioDevice {
  id: string;
  /** A shipped type (DeviceType), or a firmware team's own type given with its registry and a trace. */
  type: string;
  /** Per-device model seed, derived from the scenario seed and the id. */
  seed: number;
  /** The fleet entry's trace file (as written in the scenario): the device replays it instead of its model. */
  traceFile?: string;
  /** The trace's readings, checked against the registry (set by loadScenarioFile). */
  trace?: readonly TraceReading[];
  /** The fleet entry's registry file (a custom device type's JSON registry, relative to the scenario file). */
  registryFile?: string;
  /** That registry, validated by loadRegistry (set by loadScenarioFile): the agent runs it, the verdicts derive from it. */
  registry?: Registry;
}

export interface PreferenceChange {
  setting: Setting;
  retentionMs?: number;
}

interface EventBase {
  /** Absolute virtual ms. */
  atMs: number;
  /** Index in the file's `events` array. */
  index: number;
  note?: string;
}

export type ScenarioEvent =
  | (EventBase & { type: 'preference'; device: string; patch: Record<string, PreferenceChange> })
  | (EventBase & { type: 'reset'; device: string })
  | (EventBase & { type: 'broker-outage'; durationMs: number })
  | (EventBase & { type: 'power-loss'; device: string; durationMs: number })
  | (EventBase & { type: 'partition'; device: string; durationMs: number })
  | (EventBase & { type: 'clock'; device: string; jumpMs: number; durationMs?: number })
  | (EventBase & { type: 'policy-update'; deviceType: DeviceType; category: string; widen: PolicyWidening })
  | (EventBase & { type: 'erase'; device: string; user?: string })
  | (EventBase & { type: 'export'; device: string })
  | (EventBase & { type: 'transfer'; device: string })
  | (EventBase & { type: 'hostile'; device: string; kind: HostileKind; count: number });

export type HostileKind = 'forged' | 'replayed' | 'garbage' | 'stale-version' | 'oversized';

export interface PolicyWidening {
  retentionMs?: number;
  recipients?: string[];
  default?: Setting;
}

export type ScenarioEventType = ScenarioEvent['type'];
