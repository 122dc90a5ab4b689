/** What the fleet bench prints: connect and memory per step, one block per phase, then subject vs baseline. */
import { availableParallelism } from 'node:os';
import { delayPercentile } from './fleet-collector.js';
import type { GrowResult } from './fleet-step.js';

/** A step sustains only if the collector is never more than this far behind the devices. */
export const MAX_DRAIN_SECONDS = 5;
export const MAX_EXTRA_DELAY_MS = 5_000;
/** A device whose reading is due must get to record it within this much of its slot. */
export const MAX_SCHEDULE_LAG_MS = 1_000;

export interface StepResult extends GrowResult {
  variant: string;
  target: number;
  /** Readings recorded per second in the measuring window (after warm-up). */
  sentRate: number;
  /** Readings recorded in the window that the collector delivered within the delay limit, per second of window. */
  deliveredRate: number;
  /** Readings the collector delivered per second while the window ran (bursty when envelopes batch). */
  receivedRate: number;
  /** Readings recorded in the window and delivered at all (after the drain). */
  inWindow: number;
  /** Readings recorded per second over the whole recording period, warm-up included (shown, not judged: the edges cost a few %). */
  stepSentRate: number;
  seconds: number;
  envelopesPerSecond: number;
  sent: number;
  delivered: number;
  lost: number;
  checksumOk: boolean;
  rejected: number;
  duplicates: number;
  pauseSeconds: number;
  drainSeconds: number;
  delayLimitMs: number;
  /** Delivery delays in the window, 10 ms buckets. */
  delays: Uint32Array;
  cpuCores: number;
  brokerCores: number;
  /** Cores busy on the whole machine during the window (the bench, the broker and everything else running). */
  machineCores: number;
  workerElu: number;
  /** Share of the device workers' time spent in GC pauses during the window. */
  gcShare: number;
  /** record() calls still unresolved at the end of the window. */
  inFlight: number;
  maxTickLagMs: number;
  sustained: boolean;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const n0 = (value: number) => Math.round(value).toLocaleString('en-US');

export function printHeader(broker: string, workers: number, windowSeconds: number): void {
  console.log(`Fleet in real time on loopback. Broker: ${broker}. Device workers: ${workers}; collector on the main thread.`);
  console.log(`Each step connects the new devices, then per phase: 1 reading/s per device, a ${windowSeconds} s window after warm-up,`);
  console.log('then flush and check that every accepted reading reached the collector (count and content checksum).');
}

export function printGrow(target: number, g: GrowResult): void {
  console.log(`  N=${n0(target)}: held ${n0(g.held)} TLS connections; connected at ${n0(g.connectRate)}/s (${g.connectSeconds.toFixed(1)} s, ${g.connectCpuPerDeviceMs.toFixed(1)} ms CPU per new device incl. broker)${g.failures > 0 ? `; ${g.failures} failed (${g.firstError ?? '?'})` : ''}`);
  console.log(`    memory per device: RSS ${kb(g.rssPerDevice)} (bench process), heap ${kb(g.heapPerDevice)} (device workers), broker RSS ${kb(g.brokerRssPerDevice)}`);
}

export function printStep(r: StepResult): void {
  const p50 = delayPercentile(r.delays, 0.5);
  const p99 = delayPercentile(r.delays, 0.99);
  console.log(`    [${r.variant}] ${r.sustained ? 'SUSTAINED' : `NOT sustained: ${whyNot(r)}`}`);
  console.log(`      readings/s recorded ${n0(r.sentRate)} (${n0(r.stepSentRate)} over the whole step), delivered and verified within ${r.delayLimitMs / 1000} s ${n0(r.deliveredRate)} (target ${n0(r.target)}); ${n0(r.envelopesPerSecond)} messages/s at the collector (${(r.receivedRate / Math.max(1, r.envelopesPerSecond)).toFixed(1)} readings each)`);
  console.log(`      delivery delay p50 ${p50} ms, p99 ${p99} ms; schedule lag max ${r.maxTickLagMs} ms; device event loops ${(r.workerElu * 100).toFixed(0)}% busy (GC ${(r.gcShare * 100).toFixed(0)}%), ${n0(r.inFlight)} record() calls pending`);
  const others = r.machineCores - r.cpuCores - r.brokerCores;
  console.log(`      CPU cores: bench ${r.cpuCores.toFixed(2)} + broker ${r.brokerCores.toFixed(2)}; whole machine ${r.machineCores.toFixed(2)} of ${availableParallelism()} (other processes ${Math.max(0, others).toFixed(2)})`);
  console.log(`      end to end: ${n0(r.delivered)} of ${n0(r.sent)} accepted readings delivered, lost ${n0(r.lost)}, checksum ${r.checksumOk ? 'ok' : 'MISMATCH'}, rejected ${r.rejected}, duplicates dropped ${r.duplicates} (flush ${r.pauseSeconds.toFixed(1)} s, drain ${r.drainSeconds.toFixed(1)} s)`);
}

/** Largest sustained N per phase, and each agent phase against the baseline at the largest N both sustained. */
export function printSummary(results: Map<string, StepResult[]>): void {
  console.log('\n  -- summary');
  const baseline = [...results.entries()].find(([name]) => name.startsWith('baseline'))?.[1] ?? [];
  const cores = (r: StepResult) => r.cpuCores + r.brokerCores;
  const perReading = (r: StepResult) => (cores(r) * 1e6) / Math.max(1, r.deliveredRate);
  for (const [name, steps] of results) {
    const best = [...steps].reverse().find((s) => s.sustained);
    const failed = steps.find((s) => !s.sustained);
    console.log(`  ${name}: largest N sustained ${best === undefined ? 'none' : n0(best.target)}${failed !== undefined ? `; N=${n0(failed.target)} not (${whyNot(failed)})` : ''}`);
    if (best === undefined) continue;
    console.log(`    at N=${n0(best.target)}: ${n0(best.deliveredRate)} readings/s delivered, ${cores(best).toFixed(2)} cores, ${n0(perReading(best))} µs CPU per reading, RSS ${kb(best.rssPerDevice)} and heap ${kb(best.heapPerDevice)} per device`);
    const floor = [...baseline].reverse().find((b) => b.sustained && b.target <= best.target);
    if (name.startsWith('baseline') || floor === undefined) continue;
    console.log(`    vs baseline at N=${n0(floor.target)}: readings/s ratio ${(best.deliveredRate / floor.deliveredRate).toFixed(2)}x`
      + ` (N ${n0(best.target)} vs ${n0(floor.target)}); CPU per reading ${(perReading(best) / perReading(floor)).toFixed(1)}x (${n0(perReading(floor))} µs);`
      + ` RSS per device ${(best.rssPerDevice / floor.rssPerDevice).toFixed(1)}x (${kb(floor.rssPerDevice)})`);
  }
}

function whyNot(r: StepResult): string {
  const reasons: string[] = [];
  const p99 = delayPercentile(r.delays, 0.99);
  if (r.failures > 0) reasons.push(`${r.failures} failures`);
  if (r.held < r.target) reasons.push(`held ${r.held} of ${r.target}`);
  if (r.sentRate < 0.97 * r.target) reasons.push(`devices recorded only ${n0(r.sentRate)}/s`);
  if (r.maxTickLagMs > MAX_SCHEDULE_LAG_MS) reasons.push(`device schedule ${r.maxTickLagMs} ms behind`);
  if (r.deliveredRate < 0.97 * r.target) reasons.push(`only ${n0(r.deliveredRate)}/s delivered within ${r.delayLimitMs / 1000} s`);
  if (r.drainSeconds > MAX_DRAIN_SECONDS) reasons.push(`collector ${r.drainSeconds.toFixed(0)} s behind`);
  if (!(p99 <= r.delayLimitMs)) reasons.push(`delivery p99 ${p99} ms > ${r.delayLimitMs} ms`);
  if (r.lost !== 0) reasons.push(`${n0(r.lost)} lost`);
  if (!r.checksumOk) reasons.push('checksum mismatch');
  if (r.rejected > 0) reasons.push(`${r.rejected} rejected`);
  return reasons.join(', ') || '?';
}
