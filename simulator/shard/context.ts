import type { Transport, TransportOptions } from '../../agent/ports/index.js';
import type { Collector } from '../../collector/index.js';
import type { Scenario } from '../scenario/types.js';
import type { ShardSpec } from './assign.js';
import { fleetPublicKeys } from './identity.js';

const MINUTE = 60_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const DONE = 'done';

/** Shared-subscription group of one sharded run: the shards of the same scenario, seed and shard count. */
export function shareGroupOf(scenario: Scenario, count: number): string {
  return `sim-${scenario.name}-${scenario.seed}-${count}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
}

/**
 * The fleet clock: each shard announces its virtual time (QoS 1, after its own traffic settled) on
 * `sim/shard/<group>/clock/<i>`, on the same connection its collector reads telemetry from. The broker relays one
 * connection's messages in order, so when a telemetry envelope arrives, every clock value already received from its
 * shard is at most the virtual time it was sent at. The slowest shard's clock is therefore never ahead of any
 * sender: the collector's own clock checks (expired on arrival, forgetting expired reading ids) never refuse what a
 * one-process run delivers. A shard not heard from yet counts as the scenario start.
 */
export class FleetClock {
  private readonly latest: number[];
  private readonly done = new Set<number>();
  /** Where each shard's final drain ended (virtual ms), once it said. */
  readonly drained = new Map<number, number>();

  constructor(readonly group: string, private readonly count: number, startMs: number) {
    this.latest = Array.from({ length: count }, () => startMs);
  }

  get filter(): string {
    return `sim/shard/${this.group}/clock/+`;
  }

  topic(index: number): string {
    return `sim/shard/${this.group}/clock/${index}`;
  }

  /** True when the message was a clock announcement (and was taken into account). */
  receive(topic: string, payload: Uint8Array): boolean {
    const prefix = `sim/shard/${this.group}/clock/`;
    if (!topic.startsWith(prefix)) return false;
    const index = Number(topic.slice(prefix.length));
    if (!Number.isInteger(index) || index < 0 || index >= this.count) return true;
    const text = decoder.decode(payload);
    if (text === DONE) this.done.add(index);
    else if (text.startsWith('drained:')) this.drained.set(index, Number(text.slice('drained:'.length)));
    else if (/^\d+$/.test(text)) this.latest[index] = Math.max(this.latest[index] ?? 0, Number(text));
    return true;
  }

  now(): number {
    return Math.min(...this.latest);
  }

  missing(): number[] {
    return Array.from({ length: this.count }, (_, i) => i).filter((i) => !this.done.has(i));
  }

  notDrained(): number[] {
    return Array.from({ length: this.count }, (_, i) => i).filter((i) => !this.drained.has(i));
  }
}

/** What a World needs to run one shard of a fleet (see docs/simulator.md, "Fleets beyond one machine"). */
export class ShardContext {
  readonly clock: FleetClock;
  readonly group: string;
  /** Client id suffix: each shard's infrastructure clients have their own broker sessions. */
  readonly tag: string;

  /**
   * `whole` is the unsliced scenario: every shard's collector is provisioned with the whole fleet, since the
   * shared subscription hands it telemetry of any device. `waitMs` bounds the wait for the other shards at the end.
   */
  constructor(readonly whole: Scenario, readonly spec: ShardSpec, readonly waitMs = 60 * MINUTE) {
    this.group = shareGroupOf(whole, spec.count);
    this.clock = new FleetClock(this.group, spec.count, whole.startMs);
    this.tag = `s${spec.index}of${spec.count}`;
  }

  /**
   * Where a one-process run splits its loop steps: at every event of the whole scenario and at the end of every
   * event that lasts. Readings are recorded per step and batched by the agents per step, so a shard splits its
   * steps where the whole run does, also for events of other shards' devices: same batches, same envelopes.
   */
  stepBoundaries(): number[] {
    const at = this.whole.events.flatMap((e) => ('durationMs' in e && e.durationMs !== undefined ? [e.atMs, e.atMs + e.durationMs] : [e.atMs]));
    return [...new Set(at)].sort((a, b) => a - b);
  }

  /** The raw subscriber records this shard's devices only: each device's wire evidence comes from its shard. */
  wireFilters(slice: Scenario): string[] {
    return slice.devices.map((d) => `ta/v1/${d.id}/#`);
  }

  provision(collector: Collector): void {
    for (const d of this.whole.devices) {
      const keys = fleetPublicKeys(this.whole.seed, d.id);
      collector.addDevice(d.id, keys.boxPublicKey, keys.signPublicKey);
    }
  }

  /**
   * A broker session left by an earlier run with the same client id (a crashed shard) would still be a member of
   * the group, and Mosquitto hands shared messages round-robin to offline members too: connect once with a clean
   * session to drop it. Done at the start and again at the end of the shard's run.
   */
  async dropSession(factory: (options: TransportOptions) => Transport, clientId: string): Promise<void> {
    const transport = factory({ clientId, cleanSession: true });
    await transport.connect();
    await transport.close();
  }

  async announce(transport: Transport, virtualMs: number): Promise<void> {
    await transport.publish(this.clock.topic(this.spec.index), encoder.encode(String(virtualMs)), { qos: 1 });
  }

  /**
   * End of the shard: say so, then keep this collector in the group until every shard has said so. A shard says
   * `done` after its last publish was acknowledged, and its announcement reaches each collector after everything
   * the broker queued for it before, so nothing addressed to this collector is still on the way.
   */
  async finish(transport: Transport, onWait: (missing: number[]) => void): Promise<void> {
    await transport.publish(this.clock.topic(this.spec.index), encoder.encode(DONE), { qos: 1 });
    await this.waitFor(() => this.clock.missing(), 'finish', onWait);
  }

  /**
   * The end of the run's final drain, agreed by every shard. A one-process run drains until no device of the whole
   * fleet has anything queued, then samples the stores and fetches trails and reports at that instant: each shard
   * drains its own devices, says where it ended, and continues from the latest of them.
   */
  async agreeOnDrainEnd(transport: Transport, virtualMs: number, onWait: (missing: number[]) => void): Promise<number> {
    await transport.publish(this.clock.topic(this.spec.index), encoder.encode(`drained:${virtualMs}`), { qos: 1 });
    await this.waitFor(() => this.clock.notDrained(), 'drain its queues', onWait);
    return Math.max(virtualMs, ...this.clock.drained.values());
  }

  private async waitFor(missing: () => number[], what: string, onWait: (missing: number[]) => void): Promise<void> {
    const deadline = performance.now() + this.waitMs;
    let told = performance.now();
    while (missing().length > 0) {
      if (performance.now() > deadline) {
        throw new Error(`shard ${this.spec.index}/${this.spec.count}: shard(s) ${missing().map((i) => `${i}/${this.spec.count}`).join(', ')} did not ${what} within ${Math.round(this.waitMs / MINUTE)} min (is every shard running against this broker?)`);
      }
      if (performance.now() - told > 30_000) {
        onWait(missing());
        told = performance.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
