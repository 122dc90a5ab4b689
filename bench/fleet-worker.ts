/**
 * One fleet-bench worker thread: holds a slice of the simulated devices and makes each record one reading per
 * second, spread evenly over the second. Driven by the main thread (bench/fleet.ts) through fleet-protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { sharedPorts, startDevice, type SimDevice } from './fleet-devices.js';
import type { DeviceKey, FromWorker, ToWorker, WorkerInit, WorkerSample } from './fleet-protocol.js';

const TICK_MS = 50;
const SLOTS = 1000 / TICK_MS;
const STAGGER_SECONDS = 5;

const init = workerData as WorkerInit;
const port = parentPort;
if (port === null) throw new Error('fleet-worker must run as a worker thread');
const shared = sharedPorts();
const devices: SimDevice[] = [];
const counters = { sent: 0, failed: 0, checksum: 0, lateTicks: 0, maxTickLagMs: 0, inFlight: 0 };
let readingsPerDevice = 0;
let flushEach = false;
let ticker: NodeJS.Timeout | undefined;
let startedAt = 0;
let doneTicks = 0;
let eluMark = performance.eventLoopUtilization();
const inFlight = new Set<Promise<unknown>>();
// Garbage collection pauses, summed: with thousands of agents per isolate the heap is large and GC is a real cost.
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

const send = (message: FromWorker) => port.postMessage(message);

port.on('message', (message: ToWorker) => {
  void handle(message).catch((error: unknown) => {
    console.error(`fleet worker ${init.workerIndex}:`, error);
    process.exit(1);
  });
});
send({ type: 'ready' });

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'grow') return grow(message.count);
  if (message.type === 'run') {
    run(message.flushEach);
    return send({ type: 'ran' });
  }
  if (message.type === 'pause') return send({ type: 'paused', sample: await pause() });
  if (message.type === 'sample') return send({ type: 'sample', sample: sample(message.detail) });
  if (message.type === 'close') return close(message.budgetMs);
}

/** Starts `count` more devices, at most `connectConcurrency` handshakes at a time. */
async function grow(count: number): Promise<void> {
  const keys: DeviceKey[] = [];
  let failures = 0;
  let firstError: string | undefined;
  let next = devices.length;
  const end = devices.length + count;
  const lane = async () => {
    while (next < end) {
      const deviceId = `fleet-w${init.workerIndex}-d${next++}`;
      try {
        const device = await startDevice(deviceId, init, shared);
        devices.push(device);
        keys.push({ deviceId, boxPublicKey: device.boxPublicKey });
      } catch (error) {
        failures++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(init.connectConcurrency, count) }, lane));
  send({ type: 'grown', keys, failures, ...(firstError !== undefined ? { firstError } : {}) });
}

/**
 * Device i records in slot i mod SLOTS of every second, from second (i / SLOTS) mod STAGGER_SECONDS of the run on; a
 * late tick catches up every slot it missed, so the rate stays honest.
 */
function run(flush: boolean): void {
  if (ticker !== undefined) return;
  flushEach = flush;
  startedAt = performance.now();
  doneTicks = 0;
  counters.maxTickLagMs = 0;
  ticker = setInterval(tick, TICK_MS);
}

function tick(): void {
  const due = Math.floor((performance.now() - startedAt) / TICK_MS);
  const lag = (due - doneTicks) * TICK_MS;
  if (due - doneTicks > 1) counters.lateTicks++;
  if (lag > counters.maxTickLagMs) counters.maxTickLagMs = lag;
  const at = Date.now();
  while (doneTicks < due) {
    const slot = doneTicks % SLOTS;
    const second = Math.floor(doneTicks / SLOTS);
    doneTicks++;
    for (let i = slot; i < devices.length; i += SLOTS) {
      // Devices join over the first STAGGER_SECONDS, as a real fleet's would, so their batch timers do not fire in lockstep.
      if (second >= Math.floor(i / SLOTS) % STAGGER_SECONDS) recordOne(devices[i] as SimDevice, at);
    }
  }
}

function recordOne(device: SimDevice, at: number): void {
  // 15.0 .. 34.5 °C in 0.5 steps: survives the 'rounded' minimisation unchanged, so the checksum must match.
  const temperatureC = 15 + ((readingsPerDevice++ * 7 + device.deviceId.length) % 40) * 0.5;
  const pending = device.record(temperatureC, at).then(
    (queued) => {
      counters.sent += queued;
      if (queued > 0) counters.checksum += temperatureC * 2 * queued;
      // Not awaited: a publish waiting for its PUBACK must not hold up the schedule (pause() flushes anyway).
      if (flushEach) device.flush().catch(() => undefined);
    },
    () => void counters.failed++,
  );
  inFlight.add(pending);
  void pending.finally(() => inFlight.delete(pending));
}

/** Stops the schedule, waits for every accepted reading, then flushes every device's queue to the broker. */
async function pause(): Promise<WorkerSample> {
  if (ticker !== undefined) clearInterval(ticker);
  ticker = undefined;
  await Promise.all([...inFlight]);
  await Promise.all(devices.map((device) => device.flush().catch(() => void counters.failed++)));
  return sample(true);
}

/** The worst schedule lag since the previous sample, so a window's figure covers that window only. */
function takeMaxLag(): number {
  const lag = counters.maxTickLagMs;
  counters.maxTickLagMs = 0;
  return lag;
}

function sample(detail: boolean): WorkerSample {
  const elu = performance.eventLoopUtilization(eluMark);
  eluMark = performance.eventLoopUtilization();
  const gc = (globalThis as { gc?: () => void }).gc;
  if (ticker === undefined && gc !== undefined) gc();
  let connected = 0;
  let envelopes = 0;
  for (const device of detail ? devices : []) {
    if (device.connected()) connected++;
    envelopes += device.envelopes();
  }
  return {
    devices: devices.length, sent: counters.sent, failed: counters.failed, checksum: counters.checksum,
    lateTicks: counters.lateTicks, maxTickLagMs: takeMaxLag(), heapUsed: process.memoryUsage().heapUsed,
    elu: elu.utilization, connected, envelopes, inFlight: inFlight.size, gcMs,
    warnings: shared.logger.warnings + shared.logger.errors, ...(shared.logger.first !== undefined ? { firstWarning: shared.logger.first } : {}),
  };
}

/**
 * Stops devices (32 at a time) until the budget is spent; the main thread terminates the worker either way, which
 * closes the remaining sockets. Bounded lanes keep one stop's signing work from starving the deadline check.
 */
async function close(budgetMs: number): Promise<void> {
  if (ticker !== undefined) clearInterval(ticker);
  const deadline = performance.now() + budgetMs;
  let stopped = 0;
  let next = 0;
  const lane = async () => {
    while (next < devices.length && performance.now() < deadline) {
      const device = devices[next++] as SimDevice;
      await device.stop().then(() => void stopped++, () => undefined);
    }
  };
  await Promise.all(Array.from({ length: 32 }, lane));
  send({ type: 'closed', stopped, timedOut: stopped < devices.length });
}
