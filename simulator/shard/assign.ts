import type { Scenario, ScenarioEvent } from '../scenario/types.js';

/** One slice of a fleet: shard `index` (0-based) of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** `i/n` with 0 <= i < n: the form `simulate --shard` takes. */
export function parseShard(text: string): ShardSpec {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new Error(`--shard must be i/n with 0 <= i < n (e.g. 0/3), not ${JSON.stringify(text)}`);
  }
  return { index, count };
}

/**
 * The scenario's devices this shard runs: by position modulo the shard count, so the assignment depends only on
 * the scenario file (device order is the loader's expansion of the fleet), never on timing or host.
 */
export function devicesOfShard(scenario: Scenario, shard: ShardSpec): string[] {
  return scenario.devices.filter((_, position) => position % shard.count === shard.index).map((d) => d.id);
}

/**
 * The scenario as one shard runs it: its devices, the events about them, and every fleet-wide event
 * (broker outage, policy update by device type), which each shard replays on its own devices.
 */
export function sliceScenario(scenario: Scenario, shard: ShardSpec): Scenario {
  const mine = new Set(devicesOfShard(scenario, shard));
  return {
    ...scenario,
    devices: scenario.devices.filter((d) => mine.has(d.id)),
    events: scenario.events.filter((e) => appliesTo(e, mine)),
  };
}

function appliesTo(event: ScenarioEvent, devices: ReadonlySet<string>): boolean {
  return 'device' in event ? devices.has(event.device) : true;
}
