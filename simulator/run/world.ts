import { createVirtualTime, type VirtualTime } from '../../agent/adapters/memory/index.js';
import type { Agent } from '../../agent/agent.js';
import { createCollector, type Collector } from '../../collector/index.js';
import type { StoredRecord } from '../../agent/store/index.js';
import type { Transport } from '../../agent/ports/index.js';
import { mixSeed, mulberry32 } from '../models/prng.js';
import { modelFor } from '../scenario/devices.js';
import type { Scenario } from '../scenario/types.js';
import { recordKey, type Evidence } from '../verdicts/evidence.js';
import { SimDevice } from './device.js';
import { Network, quietLogger, type BrokerHandle } from './infra.js';
import { SimOwner } from './owner.js';
import { nextMacrotask, waitUntil } from './traffic.js';
import nacl from 'tweetnacl';

/** Real-time cap for one wait on the network (a healthy loopback broker answers in milliseconds). */
const SETTLE_CAP_MS = 10_000;
/**
 * How long (real time) a reachable device may take to answer an owner request before the run stops holding virtual
 * time for it. A healthy device answers in milliseconds; one that never answers (a reply the app cannot accept)
 * must not freeze the simulation: the request is left to its own timeout and the verdicts see it unanswered.
 */
const ANSWER_CAP_MS = 3_000;

export interface WorldOptions {
  /** Called after every boot of an agent (tests use it to build a deliberately broken agent). */
  afterBoot?: (agent: Agent, device: { id: string; type: string }) => void;
}

/** Everything alive during a run: virtual time, network, collector, the devices and their owners, the evidence. */
export class World {
  readonly time: VirtualTime;
  readonly network: Network;
  readonly devices = new Map<string, SimDevice>();
  readonly owners = new Map<string, SimOwner>();
  readonly evidence: Evidence;
  readonly partitioned = new Set<string>();
  outage = false;
  collector!: Collector;
  collectorTransport!: Transport;
  wireTransport!: Transport;
  attacker!: Transport;
  /** Owner requests not yet answered, by device (requests to offline devices wait on the broker). */
  readonly pending = new Map<string, Set<Promise<unknown>>>();
  /** Last genuine owner request seen on the wire per device (what an attacker would replay). */
  readonly lastRequest = new Map<string, Uint8Array>();
  readonly delivered = new Set<string>();
  readonly rng: () => number;
  readonly stats = { readings: 0, recordErrors: 0, stalls: 0, unanswered: 0 };
  private readonly collectorSecret: Uint8Array;

  constructor(readonly scenario: Scenario, broker: BrokerHandle, private readonly options: WorldOptions = {}) {
    this.time = createVirtualTime(scenario.startMs, { flush: () => this.afterTimer() });
    this.network = new Network(broker);
    this.rng = mulberry32(mixSeed(scenario.seed, 'run-loop'));
    // The collector's key is the vendor's; derived from the seed so a run is repeatable (simulation only).
    this.collectorSecret = nacl.hash(new TextEncoder().encode(`sim-collector/${scenario.seed}`)).slice(0, 32);
    this.evidence = { scenario, runEndMs: scenario.endMs, delivered: [], accepted: [], wire: [], stores: [], hostile: [], acks: [], rights: [], auditTrails: [] };
  }

  /** Collector, raw subscriber and attacker on the shared link; then every device boots and is paired. */
  async setUp(): Promise<void> {
    const factory = await this.network.factory(undefined);
    this.wireTransport = factory({ clientId: `sim-wire-${this.scenario.seed}`, cleanSession: false });
    this.wireTransport.onMessage((message) => {
      this.network.traffic.countWire(message);
      this.evidence.wire.push({ topic: message.topic, payload: message.payload, at: this.time.now() });
      const match = /^ta\/v1\/([^/]+)\/cmd\/req$/.exec(message.topic);
      if (match?.[1] !== undefined && !this.hostileInFlight) this.lastRequest.set(match[1], message.payload);
    });
    await this.wireTransport.connect();
    await this.wireTransport.subscribe('ta/v1/#', 1);
    this.collector = createCollector({ secretKey: this.collectorSecret, now: () => this.time.now() });
    this.collectorTransport = factory({ clientId: `sim-collector-${this.scenario.seed}`, cleanSession: false });
    this.collectorTransport.onMessage((message) => this.network.traffic.countCollector(message));
    await this.collectorTransport.connect();
    await this.collector.attach(this.collectorTransport);
    this.collector.onReading((deviceId, reading, meta) => {
      const id = recordKey(reading.id);
      this.delivered.add(`${deviceId}|${id}`);
      this.evidence.delivered.push({ deviceId, id, category: reading.category, at: reading.at, expiresAt: reading.expiresAt, data: reading.data, receivedAt: meta.receivedAt });
    });
    this.attacker = factory({ clientId: `sim-attacker-${this.scenario.seed}`, cleanSession: true });
    await this.attacker.connect();
    for (const spec of this.scenario.devices) {
      const device = new SimDevice({
        id: spec.id, type: spec.type, seed: this.scenario.seed, model: modelFor(this.scenario, spec), time: this.time,
        recipientPublicKey: this.collector.publicKey, transport: await this.network.factory(spec.id), logger: quietLogger,
        hooks: { onStored: (d, records) => this.onStored(d, records) },
      });
      this.devices.set(spec.id, device);
      await this.boot(device);
      const owner = new SimOwner(device, this.time, factory);
      this.owners.set(spec.id, owner);
      await owner.pair();
    }
    await this.settle();
  }

  hostileInFlight = false;

  async boot(device: SimDevice): Promise<void> {
    const agent = await device.boot();
    this.collector.addDevice(device.id, agent.publicKeys.box);
    this.options.afterBoot?.(agent, { id: device.id, type: device.type });
  }

  private onStored(device: SimDevice, records: readonly StoredRecord[]): void {
    for (const r of records) {
      if (!r.transmit) continue;
      this.evidence.accepted.push({ deviceId: device.id, id: recordKey(r.id), category: r.category, at: r.at, expiresAt: r.expiresAt, transmit: true });
    }
  }

  /**
   * Runs after every virtual timer: hold virtual time until the network is quiet. Every timer's consequences finish
   * before the next timer fires (even one due at the same instant), so the interleaving of agents, broker and
   * collector does not depend on real network latency: same seed, same run.
   */
  private async afterTimer(): Promise<void> {
    // Fast path: one macrotask lets every promise chain the timer started run; most timers (sweeps) send nothing.
    await nextMacrotask();
    if (this.network.traffic.quiet() && this.answeredWhereReachable()) return;
    await this.settle();
  }

  /** Wait until every publish is acknowledged and delivered and every answerable owner request is answered. */
  async settle(): Promise<void> {
    if (!(await waitUntil(() => this.network.traffic.quiet(), SETTLE_CAP_MS))) this.stats.stalls++;
    if (this.answeredWhereReachable()) return;
    if (await waitUntil(() => this.network.traffic.quiet() && this.answeredWhereReachable(), ANSWER_CAP_MS)) return;
    this.stats.unanswered += this.abandonReachable();
  }

  /** Stop waiting for requests a reachable device has not answered; returns how many. */
  private abandonReachable(): number {
    let n = 0;
    for (const [id, set] of this.pending) {
      if (this.devices.get(id)?.online !== true) continue;
      n += set.size;
      set.clear();
    }
    return n;
  }

  private answeredWhereReachable(): boolean {
    for (const [id, set] of this.pending) if (set.size > 0 && this.devices.get(id)?.online === true) return false;
    return true;
  }

  /** After a link comes back: wait for every client that can connect to be connected, then for the backlog. */
  async reconnected(): Promise<void> {
    const expected = (): boolean => {
      if (!this.collectorTransport.connected || !this.wireTransport.connected || !this.attacker.connected) return false;
      for (const d of this.devices.values()) if (d.powered && !this.partitioned.has(d.id) && !d.online) return false;
      return true;
    };
    if (!(await waitUntil(expected, SETTLE_CAP_MS))) this.stats.stalls++;
    await this.settle();
  }

  track(deviceId: string, request: Promise<unknown>): void {
    const set = this.pending.get(deviceId) ?? new Set<Promise<unknown>>();
    this.pending.set(deviceId, set);
    const entry: Promise<unknown> = request.finally(() => set.delete(entry)).catch(() => undefined);
    set.add(entry);
  }

  /** Store contents of every powered device, as the device holds them now. */
  async snapshotStores(): Promise<void> {
    const takenAt = this.time.now();
    for (const device of this.devices.values()) {
      const agent = device.agent;
      if (agent === undefined) continue;
      const records = await agent.store.query();
      this.evidence.stores.push({
        deviceId: device.id, takenAt,
        records: records.map((r) => {
          const id = recordKey(r.id);
          return { id, category: r.category, at: r.at, expiresAt: r.expiresAt, queued: r.transmit && !this.delivered.has(`${device.id}|${id}`) };
        }),
      });
    }
  }

  online(): number {
    let n = 0;
    for (const d of this.devices.values()) if (d.online) n++;
    return n;
  }

  async tearDown(): Promise<void> {
    for (const owner of this.owners.values()) await owner.close().catch(() => undefined);
    for (const device of this.devices.values()) await device.shutdown();
    for (const t of [this.attacker, this.collectorTransport, this.wireTransport]) await t?.close().catch(() => undefined);
    await this.network.close();
  }
}
