import type { Agent } from '../../agent/agent.js';
import type { ProgressSample } from '../progress.js';
import { buildReport, deliveredByCategory, type SimulationReport } from '../report/index.js';
import type { Scenario, ScenarioEvent } from '../scenario/types.js';
import { checkVerdicts, type Evidence, type Verdict } from '../verdicts/index.js';
import { verifyExportedTrail, writeDeviceFiles } from './device-report.js';
import type { ComplianceReport } from '../../agent/audit/index.js';
import { runEvent, type Deferred } from './events.js';
import { openBroker, type BrokerChoice, type BrokerHandle } from './infra.js';
import type { ShardContext } from '../shard/context.js';
import { World } from './world.js';
import { writeAttachFiles, type AttachFiles } from './attach.js';
import { toHex } from '../../agent/crypto/keys.js';

export type { BrokerChoice } from './infra.js';

export interface RunOptions {
  /** Default: the embedded TLS broker. */
  broker?: BrokerChoice;
  /** Overrides the scenario's speed. */
  speed?: 'virtual' | 'realtime';
  /** Virtual time per loop step (readings are recorded per step; events split steps). Default 5 min (15 min past 7 days). */
  stepMs?: number;
  /** How often device stores are sampled for the retention and withdrawal verdicts. Default: 6 h, or 1/60 of longer runs. */
  snapshotEveryMs?: number;
  /** Where device reports (compliance, audit trail) are written; none when omitted. */
  outDir?: string;
  onProgress?: (sample: ProgressSample) => void;
  onLog?: (line: string) => void;
  /** Called with every booted agent: tests use it to build a deliberately broken agent. */
  afterBoot?: (agent: Agent, device: { id: string; type: string }) => void;
  /** Write the attach files (broker URL, CA, collector keys, device keys, pairing QR) here once the world is up. */
  keysOut?: string;
  /** Devices left unpaired (pairing window open) for an outside companion; their owner events must be removed first. */
  unpaired?: readonly string[];
  /** Told where the attach files are, before the loop starts (the run may take hours in real time). */
  onAttach?: (files: AttachFiles) => void | Promise<void>;
  /** Run as one shard of a fleet (simulator/shard/run.ts): needs an external broker. */
  shard?: ShardContext;
}

export interface DeviceOutcome {
  id: string;
  type: string;
  /** Effective setting per category at the end of the run, as the device enforces it. */
  settings: Record<string, string>;
  /** Readings the collector delivered per category. */
  collected: Record<string, number>;
  boots: number;
  trailVerified: boolean;
  page?: string;
}

export interface RunResult {
  evidence: Evidence;
  verdicts: Verdict[];
  report: SimulationReport;
  devices: DeviceOutcome[];
  runtime: { wallMs: number; readings: number; stalls: number; recordErrors: number; unanswered: number; wireCopies: number; phases: Record<string, number> };
}

const MINUTE = 60_000;

/**
 * Brings up the broker and the world, runs the scenario to its end (agents stopped, evidence complete) and hands
 * the world to `judge`; tears everything down afterwards. Shared by a whole run and one shard of a run.
 */
export async function withRunWorld<T>(given: Scenario, options: RunOptions, judge: (world: World, outcomes: DeviceOutcome[], broker: BrokerHandle) => Promise<T>): Promise<T> {
  const url = options.broker?.url;
  // The report names the broker the run really used.
  const scenario: Scenario = url === undefined ? given : { ...given, broker: { kind: 'external', url } };
  const broker = await openBroker(options.broker ?? brokerOf(scenario), { websocket: options.keysOut !== undefined });
  const world = new World(scenario, broker, {
    ...(options.afterBoot === undefined ? {} : { afterBoot: options.afterBoot }),
    ...(options.unpaired === undefined ? {} : { unpaired: new Set(options.unpaired) }),
    ...(options.shard === undefined ? {} : { shard: options.shard }),
  });
  try {
    await world.setUp();
    if (options.keysOut !== undefined) await options.onAttach?.(await writeAttachFiles(world, options.keysOut));
    await mainLoop(world, options);
    const outcomes = await world.phases.time('finish', () => finish(world, options));
    // Counted after the agents stopped (their last drain delivers too): the count the report shows everywhere.
    for (const o of outcomes) o.collected = deliveredByCategory(world.evidence, o.id);
    world.evidence.runEndMs = world.time.now();
    return await judge(world, outcomes, broker);
  } finally {
    await world.tearDown().catch(() => undefined);
    await broker.close().catch(() => undefined);
  }
}

/** Run a scenario end to end against real agents, a real broker and the collector; judge it; build the report. */
export async function runSimulation(given: Scenario, options: RunOptions = {}): Promise<RunResult> {
  const wallStart = performance.now();
  return withRunWorld(given, options, async (world, outcomes, broker) => {
    world.canonicalOrder();
    const verdicts = world.phases.timeSync('verdicts', () => checkVerdicts(world.evidence));
    const wallMs = Math.round(performance.now() - wallStart);
    const deviceReports: Record<string, string> = {};
    for (const o of outcomes) if (o.page !== undefined) deviceReports[o.id] = o.page;
    const runtime = { wallMs, readings: world.stats.readings, stalls: world.stats.stalls + world.network.traffic.stalls, recordErrors: world.stats.recordErrors, unanswered: world.stats.unanswered, wireCopies: world.stats.wireCopies };
    const report = world.phases.timeSync('report', () => buildReport(world.evidence, verdicts, {
      deviceReports,
      runtime: {
        wallMs, readingsPerSecond: Math.round(world.stats.readings / Math.max(0.001, wallMs / 1000)),
        stalls: runtime.stalls, unanswered: runtime.unanswered, wireCopies: runtime.wireCopies, note: `broker ${broker.label}`,
      },
    }));
    return { evidence: world.evidence, verdicts, report, devices: outcomes, runtime: { ...runtime, phases: world.phases.totals() } };
  });
}

function brokerOf(scenario: Scenario): BrokerChoice {
  return scenario.broker.kind === 'embedded' ? {} : { url: scenario.broker.url };
}

async function mainLoop(world: World, options: RunOptions): Promise<void> {
  const { scenario } = world;
  const realtime = (options.speed ?? scenario.speed) === 'realtime';
  // Long runs use longer steps: fewer envelopes per device (each step's readings share one), same verdicts.
  const stepMs = realtime ? 1000 : options.stepMs ?? (scenario.durationMs > 7 * 1440 * MINUTE ? 15 * MINUTE : 5 * MINUTE);
  // About 60 samples per run, at least every 6 h: each sample reads every stored record of every device.
  const snapshotEvery = options.snapshotEveryMs ?? Math.max(6 * 60 * MINUTE, Math.ceil(scenario.durationMs / 60 / 3_600_000) * 3_600_000);
  const deferred: Deferred[] = [];
  const events = [...scenario.events];
  const boundaries = options.shard?.stepBoundaries() ?? [];
  let t = scenario.startMs;
  let nextSnapshot = scenario.startMs + snapshotEvery;
  const loopWallStart = performance.now();
  for (;;) {
    while ((boundaries[0] ?? Infinity) <= t) boundaries.shift();
    const nextDue = Math.min(events[0]?.atMs ?? Infinity, boundaries[0] ?? Infinity, ...deferred.map((d) => d.atMs));
    const target = Math.min(t + stepMs, nextDue, scenario.endMs, nextSnapshot);
    if (realtime) await sleep(target - scenario.startMs - (performance.now() - loopWallStart));
    await world.phases.time('timers', () => world.time.advanceTo(target - scenario.startMs));
    await world.phases.time('record', () => recordReadings(world, t, target));
    t = target;
    await world.phases.time('events', () => runDue(world, t, events, deferred, options));
    if (t >= nextSnapshot) {
      await world.phases.time('snapshots', () => world.snapshotStores());
      nextSnapshot += snapshotEvery;
    }
    // A shard tells the other shards' collectors how far it is (the fleet clock), once its traffic has settled.
    if (options.shard !== undefined && !world.outage) {
      await world.settle();
      await options.shard.announce(world.wireTransport, t);
    }
    options.onProgress?.({ virtualMs: t, devices: world.devices.size, online: world.online(), readings: world.stats.readings, delivered: world.evidence.delivered.length });
    if (t >= scenario.endMs) break;
  }
}

/** Follow-ups first (an outage that ends as another event starts), then scenario events, in time and file order. */
async function runDue(world: World, t: number, events: ScenarioEvent[], deferred: Deferred[], options: RunOptions): Promise<void> {
  for (;;) {
    deferred.sort((a, b) => a.atMs - b.atMs);
    if (deferred[0] !== undefined && deferred[0].atMs <= t) {
      await deferred.shift()?.run();
      continue;
    }
    const event = events[0];
    if (event === undefined || event.atMs > t) return;
    events.shift();
    options.onLog?.(`${new Date(t).toISOString().slice(0, 16).replace('T', ' ')}  ${describe(event)}`);
    await runEvent(world, event, (item) => deferred.push(item));
  }
}

function describe(event: ScenarioEvent): string {
  const who = 'device' in event ? `${event.device} ` : '';
  return `${event.type} ${who}${event.note === undefined ? '' : `(${event.note})`}`.trimEnd();
}

/** The models' readings for [from, to), fed to each powered device's agent with the device's own clock error. */
async function recordReadings(world: World, from: number, to: number): Promise<void> {
  if (to <= from) return;
  const writes: Promise<unknown>[] = [];
  for (const device of world.devices.values()) {
    const readings = device.model.step(from, to);
    const agent = device.agent;
    if (agent === undefined) continue;
    for (const r of readings) {
      world.stats.readings++;
      writes.push(agent.record(r.category, r.data, r.at + device.clockOffsetMs).catch(() => void world.stats.recordErrors++));
    }
  }
  await Promise.all(writes);
}

const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

/** Drain, sample the stores, export and verify audit trails, write device reports, stop every agent. */
async function finish(world: World, options: RunOptions): Promise<DeviceOutcome[]> {
  await drain(world);
  if (options.shard !== undefined) {
    const waiting = (missing: number[]): void => options.onLog?.(`waiting for shard(s) ${missing.join(', ')} to drain their queues`);
    const end = await options.shard.agreeOnDrainEnd(world.wireTransport, world.time.now(), waiting);
    if (end > world.time.now()) await world.time.advanceTo(end - world.scenario.startMs);
  }
  await world.snapshotStores();
  const outcomes: DeviceOutcome[] = [];
  for (const device of world.devices.values()) {
    const outcome: DeviceOutcome = { id: device.id, type: device.type, settings: {}, collected: {}, boots: device.boots, trailVerified: false };
    const agent = device.agent;
    const owner = world.owners.get(device.id);
    if (agent !== undefined) {
      for (const [name, c] of Object.entries(agent.status().enforced.categories)) outcome.settings[name] = c.setting;
      // A device left unpaired for an outside companion has no simulated owner: its trail is read locally.
      const { bytes, source } = await exportTrail(world, device.id, agent);
      const { result, trail } = verifyExportedTrail(device.id, bytes, agent.publicKeys.sign, owner?.previousSignKeys ?? []);
      world.evidence.auditTrails?.push(trail);
      outcome.trailVerified = trail.ok;
      if (options.outDir !== undefined) {
        const report = await fetchReport(world, device.id, agent);
        outcome.page = await writeDeviceFiles(options.outDir, device.id, report, { bytes, source, verified: result, signKeyHex: toHex(agent.publicKeys.sign) });
      }
    }
    outcomes.push(outcome);
  }
  await stopAll(world);
  return outcomes;
}

/** The owner's companion fetches the trail over the channel; a trail too large for one reply is read locally. */
async function exportTrail(world: World, deviceId: string, agent: Agent): Promise<{ bytes: Uint8Array; source: string }> {
  const owner = world.owners.get(deviceId);
  if (owner !== undefined && world.devices.get(deviceId)?.online === true) {
    let got: { bytes: Uint8Array; source: string } | undefined;
    const fetched = owner.app.fetchAuditTrail().then((bytes) => void (got = { bytes, source: 'by the owner companion (get-audit)' }), () => undefined);
    world.track(deviceId, fetched);
    await world.settle();
    if (got !== undefined) return got;
  }
  return { bytes: agent.audit.exportTrail(), source: 'locally from the device (agent.audit.exportTrail)' };
}

/** The device's signed self-assessment, fetched by the owner's app (get-report); read locally if that fails. */
async function fetchReport(world: World, deviceId: string, agent: Agent): Promise<{ compliance: ComplianceReport; source: string }> {
  const owner = world.owners.get(deviceId);
  if (owner !== undefined && world.devices.get(deviceId)?.online === true) {
    let got: ComplianceReport | undefined;
    const fetched = owner.app.fetchReport().then((r) => void (got = r), () => undefined);
    world.track(deviceId, fetched);
    await world.settle();
    if (got !== undefined) return { compliance: got, source: 'by the owner companion (get-report, device signature verified)' };
  }
  return { compliance: agent.assess(), source: 'locally from the device (agent.assess)' };
}

/** Let queued data go out: advance virtual time in small steps until no online device has anything queued. */
async function drain(world: World): Promise<void> {
  for (let i = 0; i < 720; i++) {
    let queued = 0;
    for (const d of world.devices.values()) if (d.online && d.agent) queued += d.agent.status().store.queued;
    if (queued === 0) return;
    await world.time.advance(5_000);
  }
}

/** agent.stop() drains with paced (virtual) timers, so time keeps moving while the agents shut down. */
async function stopAll(world: World): Promise<void> {
  let done = false;
  const stopping = Promise.all([...world.devices.values()].map((d) => d.shutdown())).finally(() => (done = true));
  while (!done) {
    await world.time.advance(1_000);
    await new Promise((r) => setImmediate(r));
  }
  await stopping;
  await world.settle();
}
