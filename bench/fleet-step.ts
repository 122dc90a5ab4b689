/** One ramp step of the fleet bench: connect the new devices, then measure each phase at that size. */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { FleetBroker } from './fleet-broker.js';
import { delayPercentile, type FleetCollector } from './fleet-collector.js';
import { totalSample, type DevicePool } from './fleet-pool.js';
import { MAX_DRAIN_SECONDS, MAX_SCHEDULE_LAG_MS, type StepResult } from './fleet-report.js';

const MAX_FIRST_CONTACT_MS = 30_000;

export interface FleetPhase {
  name: string;
  /** Call `flush()` after every reading instead of letting the batch delay gather several per envelope. */
  flushEach: boolean;
  /** Recording before the measuring window starts: long enough for the first envelopes to land. */
  warmupMs: number;
  /** Delivery delay p99 allowed (the batch delay plus slack). */
  delayLimitMs: number;
}

export interface GrowResult {
  held: number;
  devices: number;
  failures: number;
  firstError: string | undefined;
  connectRate: number;
  connectSeconds: number;
  connectCpuPerDeviceMs: number;
  rssPerDevice: number;
  heapPerDevice: number;
  brokerRssPerDevice: number;
}

export interface MemoryMark {
  rss: number;
  heap: number;
  brokerRss: number;
}

export async function memoryMark(pool: DevicePool, broker: FleetBroker): Promise<MemoryMark> {
  (globalThis as { gc?: () => void }).gc?.();
  const heap = totalSample(await pool.sample()).heapUsed; // the workers collect garbage first while paused
  return { rss: process.memoryUsage().rss, heap, brokerRss: broker.rssBytes() ?? 0 };
}

interface CpuMark {
  own: number;
  broker: number;
  /** Whole machine, from /proc/stat (0 where unavailable): busy and total CPU seconds over all cores. */
  machineBusy: number;
  machineTotal: number;
}

function cpuSeconds(broker: FleetBroker): CpuMark {
  const usage = process.cpuUsage();
  const machine = machineCpu();
  return { own: (usage.user + usage.system) / 1e6, broker: broker.cpuSeconds() ?? 0, machineBusy: machine.busy, machineTotal: machine.total };
}

/** The bench shares the machine: the other processes' share of the cores is part of every figure. */
function machineCpu(): { busy: number; total: number } {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((sum, value) => sum + value, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: (total - idle) / 100, total: total / 100 };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Connects devices up to `target` while the rest of the fleet stays connected and idle. */
export async function growFleet(target: number, pool: DevicePool, collector: FleetCollector, broker: FleetBroker, base: MemoryMark): Promise<GrowResult> {
  const before = totalSample(await pool.sample());
  const start = performance.now();
  const cpu = cpuSeconds(broker);
  const grown = await pool.grow(target - before.devices);
  const seconds = (performance.now() - start) / 1000;
  const cpuEnd = cpuSeconds(broker);
  collector.addDevices(grown.keys);
  const mark = await memoryMark(pool, broker);
  const held = totalSample(await pool.sample(true));
  const perDevice = (bytes: number) => bytes / Math.max(1, held.devices);
  return {
    held: held.connected, devices: held.devices, failures: grown.failures, firstError: grown.firstError,
    connectRate: grown.keys.length / seconds, connectSeconds: seconds,
    connectCpuPerDeviceMs: ((cpuEnd.own - cpu.own + cpuEnd.broker - cpu.broker) * 1000) / Math.max(1, grown.keys.length),
    rssPerDevice: perDevice(mark.rss - base.rss), heapPerDevice: perDevice(mark.heap - base.heap), brokerRssPerDevice: perDevice(mark.brokerRss - base.brokerRss),
  };
}

/**
 * Records at 1/s per device, measures a window after the warm-up, then stops, flushes every queue and waits until
 * the collector has delivered every reading the devices accepted (count and content checksum).
 */
export async function measurePhase(
  phase: FleetPhase, target: number, grow: GrowResult, pool: DevicePool, collector: FleetCollector, broker: FleetBroker, windowSeconds: number,
): Promise<StepResult> {
  const atRun = { at: performance.now(), sent: totalSample(await pool.sample()).sent };
  await pool.run(phase.flushEach);
  // Warm-up: the collector's first envelope from a device costs a key agreement (box.before, ~0.6 ms), a one-off
  // burst when thousands of devices join at once; the window starts once every device has been heard from.
  const heardBy = performance.now() + MAX_FIRST_CONTACT_MS;
  while (collector.devicesHeard() < grow.devices && performance.now() < heardBy) await sleep(250);
  await sleep(phase.warmupMs);
  const t0 = await mark(pool, collector, broker);
  const windowStart = Date.now();
  collector.setWindow(windowStart, windowStart + windowSeconds * 1000, phase.delayLimitMs);
  await sleep(windowSeconds * 1000);
  const t1 = await mark(pool, collector, broker);
  const seconds = (t1.at - t0.at) / 1000;

  const pauseAt = performance.now();
  const paused = totalSample(await pool.pause());
  const drainStart = performance.now();
  let final = collector.tally();
  while (final.readings < paused.sent && performance.now() - drainStart < 30_000) {
    await sleep(100);
    final = collector.tally();
  }
  const drainSeconds = (performance.now() - drainStart) / 1000;
  const result: StepResult = {
    ...grow, variant: phase.name, target, failures: grow.failures + paused.failed, firstError: grow.firstError ?? paused.firstWarning,
    sentRate: (t1.workers.sent - t0.workers.sent) / seconds,
    // Readings recorded in the window and delivered within the delay limit, per second of window: insensitive to
    // how envelopes bunch up at the window's edges.
    deliveredRate: final.inWindowOnTime / windowSeconds,
    receivedRate: (t1.tally.readings - t0.tally.readings) / seconds, inWindow: final.inWindow,
    stepSentRate: (paused.sent - atRun.sent) / ((pauseAt - atRun.at) / 1000),
    envelopesPerSecond: (t1.tally.envelopes - t0.tally.envelopes) / seconds, seconds,
    sent: paused.sent, delivered: final.readings, lost: paused.sent - final.readings, checksumOk: final.checksum === paused.checksum,
    rejected: final.rejected, duplicates: final.duplicates, delayLimitMs: phase.delayLimitMs,
    drainSeconds, pauseSeconds: (drainStart - pauseAt) / 1000, delays: final.delays,
    cpuCores: (t1.cpu.own - t0.cpu.own) / seconds, brokerCores: (t1.cpu.broker - t0.cpu.broker) / seconds,
    machineCores: t1.cpu.machineTotal > t0.cpu.machineTotal
      ? ((t1.cpu.machineBusy - t0.cpu.machineBusy) / (t1.cpu.machineTotal - t0.cpu.machineTotal)) * availableParallelism() : Number.NaN,
    workerElu: t1.workers.elu, gcShare: (t1.workers.gcMs - t0.workers.gcMs) / (seconds * 1000 * pool.size), inFlight: t1.workers.inFlight, maxTickLagMs: t1.workers.maxTickLagMs, sustained: false,
  };
  // Sustained: every device connected and kept its 1/s schedule, the collector kept pace, and nothing was missing.
  // A worker that fell behind and caught up inside the window records more than N/s there: the lag check catches it.
  result.sustained = result.failures === 0 && grow.held === target && result.sentRate >= 0.97 * target && result.deliveredRate >= 0.97 * target
    && result.maxTickLagMs <= MAX_SCHEDULE_LAG_MS
    && result.lost === 0 && result.checksumOk && result.rejected === 0 && drainSeconds <= MAX_DRAIN_SECONDS
    && delayPercentile(result.delays, 0.99) <= phase.delayLimitMs;
  return result;
}

/** Worker counters first (a busy worker answers late), then clock, collector and CPU read together. */
async function mark(pool: DevicePool, collector: FleetCollector, broker: FleetBroker) {
  const workers = totalSample(await pool.sample());
  return { workers, at: performance.now(), tally: collector.tally(), cpu: cpuSeconds(broker) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
