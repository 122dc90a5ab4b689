import type { Sensitivity, Setting } from './contract.js';

/**
 * The data-category registry of one device type: declarative, versioned, shipped with the firmware. It is the
 * single source both for what the gate enforces and for what the manifest discloses. Durations are milliseconds.
 * Raw registries are validated by `loadRegistry`, which rejects contradictions naming the place.
 */
export interface Registry {
  /** Registry format version (this file describes format 1). */
  format: 1;
  deviceType: string;
  /** Increases with every published change of the registry. */
  version: number;
  sensors: string[];
  /** Every recipient a category may name, with a plain description. */
  recipients: Record<string, string>;
  categories: CategoryDef[];
}

export type FieldDef =
  | { type: 'number'; description: string; min?: number; max?: number }
  | { type: 'boolean'; description: string }
  | { type: 'string'; description: string; maxLength: number }
  | { type: 'enum'; description: string; values: string[] };

export interface CategoryDef {
  name: string;
  description: string;
  /** Exactly the fields a reading carries; a reading with a missing, extra or mistyped field is rejected. */
  fields: Record<string, FieldDef>;
  sensitivity: Sensitivity[];
  purposes: string[];
  /** Recipients allowed for this category; the first is the default recipient. */
  recipients: string[];
  essential: boolean;
  /** Safety data: must be essential, and 'off' / 'local' are never allowed. */
  safety: boolean;
  retentionMaxMs: number;
  /** Settings the owner may choose, narrowest first is not required; 'minimised' requires at least one level. */
  settings: Setting[];
  default: Setting;
  /** Minimisation levels; the first is the default level. */
  minimise: MinimiseLevel[];
  stopsWorkingWhenOff: string[];
}

export interface MinimiseLevel {
  name: string;
  description: string;
  /** Per-field transform chains, applied in order. Fields not named pass unchanged. Exclusive with `aggregate`. */
  fields?: Record<string, FieldTransform[]>;
  /** Truncate the reading's timestamp down to a multiple of this. */
  truncateTimeMs?: number;
  /** Suppress the first and last `suppressMeters` of every track (path length). */
  track?: TrackRule;
  /** Replace individual readings by one summary per window. */
  aggregate?: AggregateRule;
}

export type FieldTransform =
  | { op: 'drop' }
  /** Round to the nearest multiple of `step` (numbers). */
  | { op: 'round'; step: number }
  /** Replace by the lower bound of its bucket of width `size` (numbers). */
  | { op: 'bucket'; size: number }
  /** Coarsen a coordinate to the lower edge of its grid cell of `cell` degrees (numbers). */
  | { op: 'grid'; cell: number }
  /** Map each value to a coarser class (strings, enums); every enum value must be mapped. */
  | { op: 'classify'; classes: Record<string, string> }
  /** Keyed hash with a key that rotates every `epochMs` (strings). */
  | { op: 'pseudonymise'; epochMs: number };

export interface TrackRule {
  lat: string;
  lon: string;
  trackId: string;
  suppressMeters: number;
  /** A track silent for longer than this has ended; its unreleased tail is discarded. */
  maxGapMs: number;
}

export interface AggregateRule {
  windowMs: number;
  /** Windows are [offset + k*windowMs, offset + (k+1)*windowMs) in UTC ms (e.g. 12 h: days closing at noon). */
  offsetMs: number;
  /** Small-count suppression: a window with fewer readings is not reported at all. */
  minReadings: number;
  /** Output field name -> how it is computed. These names are exactly the fields sent. */
  outputs: Record<string, AggregateOutput>;
}

export type AggregateOutput =
  | { fn: 'count'; field?: string; equals?: string | number | boolean }
  | { fn: 'sum' | 'mean' | 'min' | 'max'; field: string; round?: number }
  /** Time spent with `field === equals`, each reading lasting until the next (capped at maxGapMs), in `unitMs`. */
  | { fn: 'duration'; field: string; equals: string; maxGapMs: number; unitMs: number };
