import { registryFor } from '../../agent/policy/devices/index.js';
import type { CategoryDef, Registry } from '../../agent/policy/registry-types.js';

/**
 * What the checker knows about a device's data, derived from the device's registry: the one a scenario gives for a
 * firmware team's own type (`fleet[].registry`), or the shipped example registry of a shipped type. The registry is
 * the one source of truth the agent runs as well; the checker reads the same declarations and judges the agent's
 * behaviour against them (categories, consent defaults, retention maxima, minimisation levels, sensitivity).
 * That the shipped registries say what docs/requirements.md agreed ("Data models") is the job of
 * test/policy-registry.test.ts and test/simulator-data-model.test.ts, not of a second hand-written copy here.
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

/** A scenario device as the checker sees it: its type, and the registry a custom type brings. */
export interface TypedDevice {
  type: string;
  registry?: Registry;
}

const shipped = new Map<string, Registry>();
const derived = new WeakMap<Registry, Record<string, CategoryRule>>();

/** The registry a device runs: its own (a custom type's, from the scenario), else the shipped one of its type. */
export function registryOf(device: TypedDevice): Registry {
  if (device.registry !== undefined) return device.registry;
  let registry = shipped.get(device.type);
  if (registry === undefined) {
    registry = registryFor(device.type); // throws INVALID_CONFIG naming the type when nothing is shipped for it
    shipped.set(device.type, registry);
  }
  return registry;
}

/** A category's full declaration (fields, sensitivity, minimisation levels) from the device's registry. */
export function categoryDef(device: TypedDevice, category: string): CategoryDef | undefined {
  return registryOf(device).categories.find((c) => c.name === category);
}

/** The category rules of one device, in registry order. */
export function rulesOf(device: TypedDevice): Record<string, CategoryRule> {
  const registry = registryOf(device);
  let rules = derived.get(registry);
  if (rules === undefined) {
    rules = {};
    for (const c of registry.categories) {
      // Scenarios choose 'minimised', never a level: the agent then applies the first (default) level.
      const level = c.minimise[0];
      const windowMs = Math.max(level?.truncateTimeMs ?? 0, level?.aggregate?.windowMs ?? 0);
      rules[c.name] = { default: c.default, safety: c.safety, maxRetentionMs: c.retentionMaxMs, windowMs };
    }
    derived.set(registry, rules);
  }
  return rules;
}

export function categoryRule(device: TypedDevice, category: string): CategoryRule | undefined {
  return rulesOf(device)[category];
}

export function categoriesOf(device: TypedDevice): string[] {
  return Object.keys(rulesOf(device));
}

/** Data leaves the device only under 'minimised' or 'full'; 'local' keeps it on the device. */
export function transmits(setting: Setting): boolean {
  return setting === 'minimised' || setting === 'full';
}
