/**
 * Fleet scale bench (issue 6 item 7): N simulated devices in real time, each a real agent with its own keys,
 * store and TLS connection, recording one reading per second; the product collector opens and verifies every
 * envelope. Baseline measured in the same run: the same N devices as bare mqtt.js clients publishing the same
 * readings as plain CBOR (also TLS, also QoS 1). N ramps up in steps; a phase stops ramping at the first step
 * that does not sustain 1 reading/s per device with zero loss. Settings (environment): FLEET_STEPS,
 * FLEET_STEP_SECONDS, FLEET_VARIANTS, FLEET_WORKERS, FLEET_COLLECTOR_SHARD, FLEET_BROKER=aedes (docs/benchmarks.md).
 */
import { availableParallelism } from 'node:os';
import { startFleetBroker, type FleetBroker } from './fleet-broker.js';
import { startAgentCollector, startPlainCollector } from './fleet-collector.js';
import { buildWorkerBundle, DevicePool } from './fleet-pool.js';
import type { FleetMode } from './fleet-protocol.js';
import { MAX_EXTRA_DELAY_MS, printGrow, printHeader, printStep, printSummary, type StepResult } from './fleet-report.js';
import { growFleet, measurePhase, memoryMark, type FleetPhase } from './fleet-step.js';

interface Fleet {
  label: string;
  mode: FleetMode;
  batchDelayMs: number;
  maxBatch: number;
  phases: FleetPhase[];
}

/** The agents' fleet tuning: a reading may wait up to 5 s for companions, so an envelope carries about 5. */
const AGENT_BATCH_DELAY_MS = 5_000;
const AGENT_MAX_BATCH = 32;
/** Devices start recording over the first 5 s of a phase (fleet-worker.ts STAGGER_SECONDS); warm-ups cover it. */
const STAGGER_MS = 5_000;

const PHASES: Record<string, FleetPhase> = {
  baseline: { name: 'baseline: mqtt.js, plain CBOR, 1 reading/message', flushEach: false, warmupMs: STAGGER_MS + 1_000, delayLimitMs: MAX_EXTRA_DELAY_MS },
  batched: {
    name: `agent, batched (batchDelayMs ${AGENT_BATCH_DELAY_MS}, maxBatch ${AGENT_MAX_BATCH})`, flushEach: false,
    warmupMs: STAGGER_MS + AGENT_BATCH_DELAY_MS, delayLimitMs: AGENT_BATCH_DELAY_MS + MAX_EXTRA_DELAY_MS,
  },
  immediate: { name: 'agent, immediate (flush() after each reading)', flushEach: true, warmupMs: STAGGER_MS + 1_000, delayLimitMs: MAX_EXTRA_DELAY_MS },
};

export interface FleetSettings {
  /** Fleet sizes to ramp through, ascending. */
  steps: number[];
  windowSeconds: number;
  /** Phases to run, by key: 'baseline', 'batched', 'immediate'. */
  variants: string[];
  workers: number;
  /** Devices per Collector instance (a Collector's shared-key cache holds 4,096 devices). */
  shardSize: number;
}

/** The settings `npm run bench -- fleet` uses, from the environment (FLEET_*). */
export function fleetSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): FleetSettings {
  const steps = (env.FLEET_STEPS ?? '1000,3000,6000,10000').split(',').map(Number).filter((n) => Number.isSafeInteger(n) && n > 0);
  return {
    steps,
    windowSeconds: Math.max(3, Number(env.FLEET_STEP_SECONDS ?? 8)),
    variants: (env.FLEET_VARIANTS ?? 'baseline,batched,immediate').split(',').map((name) => name.trim()),
    workers: Math.max(1, Number(env.FLEET_WORKERS ?? availableParallelism())),
    shardSize: Math.max(1, Number(env.FLEET_COLLECTOR_SHARD ?? 4_000)),
  };
}

function fleetsFor(variants: readonly string[]): Fleet[] {
  const pick = (names: string[]) => names.filter((name) => variants.includes(name)).map((name) => PHASES[name] as FleetPhase);
  const fleets: Fleet[] = [
    { label: 'baseline fleet: bare mqtt.js clients', mode: 'plain', batchDelayMs: 1, maxBatch: 1, phases: pick(['baseline']) },
    { label: 'agent fleet', mode: 'agent', batchDelayMs: AGENT_BATCH_DELAY_MS, maxBatch: AGENT_MAX_BATCH, phases: pick(['batched', 'immediate']) },
  ];
  return fleets.filter((fleet) => fleet.phases.length > 0);
}

export async function runFleetBench(): Promise<void> {
  await runFleet(fleetSettingsFromEnv());
}

/** Runs the ramp and prints as it goes; returns every step's result per phase name (for tests and tools). */
export async function runFleet(settings: FleetSettings): Promise<Map<string, StepResult[]>> {
  const config = { ...settings, steps: [...new Set(settings.steps)].sort((a, b) => a - b) };
  const started = performance.now();
  const script = await buildWorkerBundle();
  const broker = await startFleetBroker();
  const results = new Map<string, StepResult[]>();
  // Ctrl-C or a kill must not leave a broker process and its key files behind.
  const onSignal = (signal: NodeJS.Signals) => {
    broker.kill();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    printHeader(broker.kind, config.workers, config.windowSeconds);
    for (const fleet of fleetsFor(config.variants)) await ramp(fleet, config, broker, script, results);
    printSummary(results);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    const log = broker.log().trim();
    await broker.stop();
    // 'unexpected eof' lines are the connections of devices cut off when their worker thread was terminated.
    if (log !== '') console.log(`  broker log (last lines kept, warnings and errors): ${log.split('\n').length}; last: ${log.split('\n').at(-1)}`);
    console.log(`  fleet bench took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  return results;
}

/** One fleet, grown step by step (devices keep their connection into the next step); each phase is measured at every size it sustains. */
async function ramp(fleet: Fleet, config: FleetSettings, broker: FleetBroker, script: string, results: Map<string, StepResult[]>): Promise<void> {
  console.log(`\n  -- ${fleet.label}`);
  const collector = fleet.mode === 'agent' ? await startAgentCollector(broker.url, broker.caPem, config.shardSize) : await startPlainCollector(broker.url, broker.caPem);
  const pool = await DevicePool.start(script, config.workers, {
    mode: fleet.mode, brokerUrl: broker.url, caPem: broker.caPem, collectorPublicKey: collector.publicKey,
    batchDelayMs: fleet.batchDelayMs, maxBatch: fleet.maxBatch, connectConcurrency: 64,
  });
  let active = [...fleet.phases];
  try {
    const base = await memoryMark(pool, broker);
    for (const target of config.steps) {
      if (active.length === 0) break;
      const grow = await growFleet(target, pool, collector, broker, base);
      printGrow(target, grow);
      for (const phase of active) {
        const result = await measurePhase(phase, target, grow, pool, collector, broker, config.windowSeconds);
        results.set(phase.name, [...(results.get(phase.name) ?? []), result]);
        printStep(result);
      }
      active = active.filter((phase) => results.get(phase.name)?.at(-1)?.sustained === true);
    }
  } finally {
    const closed = await pool.close(5_000);
    await collector.close();
    console.log(`  devices stopped cleanly: ${closed.stopped}${closed.timedOut ? ' (5 s budget ran out; the rest were cut off)' : ''}`);
  }
}
