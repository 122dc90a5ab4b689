import { withRunWorld, type DeviceOutcome, type RunOptions } from '../run/index.js';
import type { Scenario } from '../scenario/types.js';
import { sliceScenario, type ShardSpec } from './assign.js';
import { ShardContext } from './context.js';
import { toShardFile, type ShardFile } from './file.js';

export interface ShardRunOptions extends Omit<RunOptions, 'shard' | 'keysOut' | 'unpaired' | 'onAttach'> {
  /** Real-time bound on waiting for the other shards at the end (default 60 min). */
  waitForShardsMs?: number;
}

export interface ShardResult {
  file: ShardFile;
  devices: DeviceOutcome[];
}

/**
 * Runs shard `spec` of `whole` against an external broker: this shard's devices and owners, every fleet-wide event,
 * a collector in the run's shared-subscription group. Judging needs every shard: see `trust-agent report merge`.
 */
export async function runShard(whole: Scenario, spec: ShardSpec, options: ShardRunOptions): Promise<ShardResult> {
  if (options.broker?.url === undefined) {
    throw new Error('a sharded run needs an external broker (--broker URL --ca FILE) that every shard connects to; the embedded broker lives in one process');
  }
  const wallStart = performance.now();
  const shard = new ShardContext(whole, spec, options.waitForShardsMs);
  return withRunWorld(sliceScenario(whole, spec), { ...options, shard }, async (world, outcomes, broker) => {
    await shard.finish(world.wireTransport, (missing) => options.onLog?.(`waiting for shard(s) ${missing.map((i) => `${i}/${spec.count}`).join(', ')} to finish`));
    world.canonicalOrder();
    const deviceReports: Record<string, string> = {};
    for (const o of outcomes) if (o.page !== undefined) deviceReports[o.id] = o.page;
    const runtime = {
      wallMs: Math.round(performance.now() - wallStart), readings: world.stats.readings, stalls: world.stats.stalls + world.network.traffic.stalls,
      unanswered: world.stats.unanswered, wireCopies: world.stats.wireCopies, broker: broker.label,
    };
    return { file: toShardFile(whole, spec, world.evidence, { deviceReports, runtime }), devices: outcomes };
  });
}
