import { createVirtualTime, type VirtualTime } from '../../agent/adapters/memory/index.js';
import type { Agent } from '../../agent/agent.js';
import { createCollector, type Collector } from '../../collector/index.js';
import type { StoredRecord } from '../../agent/store/index.js';
import type { Transport } from '../../agent/ports/index.js';
import { mixSeed, mulberry32 } from '../models/prng.js';
import { modelFor } from '../scenario/devices.js';
import type { Scenario } from '../scenario/types.js';
import { recordKey, type Evidence } from '../verdicts/evidence.js';
import { StoreSamples } from './samples.js';
import { SimDevice } from './device.js';
import { Network, quietLogger, type BrokerHandle } from './infra.js';
import { SimOwner } from './owner.js';
import { messageKey, nextMacrotask, waitUntil } from './traffic.js';
import { Phases } from './phases.js';
import { fleetIdentity } from '../shard/identity.js';
import type { ShardContext } from '../shard/context.js';
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
  /** Devices left unpaired, their pairing window open for an outside companion (no simulated owner). */
  unpaired?: ReadonlySet<string>;
  /** One shard of a fleet: collectors in a shared-subscription group, the fleet clock (simulator/shard/context.ts). */
  shard?: ShardContext;
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
  /** Pairing windows opened at set-up for the devices left unpaired. */
  readonly pairingWindows = new Map<string, { payload: string; setupCode: string; expiresInMs: number }>();
  readonly delivered = new Set<string>();
  /** Per device: a shard draws the same numbers for its devices as a one-process run does (see rngFor). */
  private readonly rngs = new Map<string, () => number>();
  readonly stats = { readings: 0, recordErrors: 0, stalls: 0, unanswered: 0, wireCopies: 0 };
  /** Keys of the messages already in the wire log. */
  private readonly wireSeen = new Set<string>();
  readonly phases = new Phases();
  /** Devices whose timers fired at the current instant since the network last settled (see afterTimer). */
  private readonly firedNow = new Set<string>();
  private readonly samples = new StoreSamples();
  private readonly collectorSecret: Uint8Array;

  constructor(readonly scenario: Scenario, broker: BrokerHandle, private readonly options: WorldOptions = {}) {
    this.time = createVirtualTime(scenario.startMs, { flush: () => this.afterTimer() });
    this.network = new Network(broker);
    // The collector's key is the vendor's; derived from the seed so a run is repeatable (simulation only).
    this.collectorSecret = nacl.hash(new TextEncoder().encode(`sim-collector/${scenario.seed}`)).slice(0, 32);
    this.evidence = { scenario, runEndMs: scenario.endMs, delivered: [], accepted: [], wire: [], stores: [], hostile: [], acks: [], rights: [], auditTrails: [] };
  }

  /** Collector, raw subscriber and attacker on the shared link; then every device boots and is paired. */
  async setUp(): Promise<void> {
    const factory = await this.network.factory(undefined);
    const shard = this.options.shard;
    const tag = shard === undefined ? '' : `-${shard.tag}`;
    if (shard !== undefined) this.network.traffic.awaitsCollector = false;
    this.wireTransport = factory({ clientId: `sim-wire-${this.scenario.seed}${tag}`, cleanSession: false });
    this.wireTransport.onMessage((message) => {
      const key = messageKey(message.topic, message.payload);
      this.network.traffic.countWire(message, key);
      // One entry per distinct message: whether a QoS 1 copy is redelivered after a cut depends on real timing
      // (did the PUBACK cross before the socket died?), so copies are only counted, in the runtime section.
      if (this.wireSeen.has(key)) {
        this.stats.wireCopies++;
        return;
      }
      this.wireSeen.add(key);
      this.evidence.wire.push({ topic: message.topic, payload: message.payload, at: this.time.now() });
      const match = /^ta\/v1\/([^/]+)\/cmd\/req$/.exec(message.topic);
      if (match?.[1] !== undefined && !this.hostileInFlight) this.lastRequest.set(match[1], message.payload);
    });
    await this.wireTransport.connect();
    for (const filter of shard?.wireFilters(this.scenario) ?? ['ta/v1/#']) await this.wireTransport.subscribe(filter, 1);
    // A shard's collector may open any device's telemetry, sent at another shard's virtual time: it runs on the fleet clock.
    this.collector = createCollector({ secretKey: this.collectorSecret, now: () => shard?.clock.now() ?? this.time.now() });
    shard?.provision(this.collector);
    const collectorId = `sim-collector-${this.scenario.seed}${tag}`;
    if (shard !== undefined) await shard.dropSession(factory, collectorId);
    this.collectorTransport = factory({ clientId: collectorId, cleanSession: false });
    this.collectorTransport.onMessage((message) => {
      if (shard?.clock.receive(message.topic, message.payload) !== true) this.network.traffic.countCollector(message);
    });
    await this.collectorTransport.connect();
    if (shard !== undefined) await this.collectorTransport.subscribe(shard.clock.filter, 1);
    await this.collector.attach(this.collectorTransport, shard === undefined ? {} : { shareGroup: shard.group });
    this.collector.onReading((deviceId, reading, meta) => {
      const id = recordKey(reading.id);
      this.delivered.add(`${deviceId}|${id}`);
      this.evidence.delivered.push({ deviceId, id, category: reading.category, at: reading.at, expiresAt: reading.expiresAt, data: reading.data, receivedAt: meta.receivedAt, envelope: `${meta.envelopeSession}:${meta.envelopeSeq}` });
    });
    this.attacker = factory({ clientId: `sim-attacker-${this.scenario.seed}${tag}`, cleanSession: true });
    await this.attacker.connect();
    for (const spec of this.scenario.devices) {
      const device = new SimDevice({
        id: spec.id, type: spec.type, seed: this.scenario.seed, model: modelFor(this.scenario, spec), time: this.time,
        identity: fleetIdentity(this.scenario.seed, spec.id), ...(spec.registry === undefined ? {} : { registry: spec.registry }),
        recipientPublicKey: this.collector.publicKey, transport: await this.network.factory(spec.id), logger: quietLogger,
        hooks: { onStored: (d, records) => this.onStored(d, records), onTimer: (d) => this.firedNow.add(d.id) },
      });
      this.devices.set(spec.id, device);
      const agent = await this.boot(device);
      if (this.options.unpaired?.has(spec.id) === true) {
        this.pairingWindows.set(spec.id, agent.openPairingWindow());
        continue;
      }
      const owner = new SimOwner(device, this.time, factory, this.scenario.seed);
      this.owners.set(spec.id, owner);
      await owner.pair();
    }
    await this.settle();
  }

  hostileInFlight = false;

  /** The run loop's random numbers for events on one device (torn writes, hostile payloads), by device. */
  rngFor(deviceId: string): () => number {
    let rng = this.rngs.get(deviceId);
    if (rng === undefined) this.rngs.set(deviceId, (rng = mulberry32(mixSeed(this.scenario.seed, `run-loop/${deviceId}`))));
    return rng;
  }

  async boot(device: SimDevice): Promise<Agent> {
    const agent = await device.boot();
    // With the signing key the collector also follows the device's own key announcements (ownership transfer).
    this.collector.addDevice(device.id, agent.publicKeys.box, agent.publicKeys.sign);
    this.options.afterBoot?.(agent, { id: device.id, type: device.type });
    return agent;
  }

  /** The collector's key pair (derived from the seed: simulation only), for the attach files. */
  collectorKeys(): { publicKey: Uint8Array; secretKey: Uint8Array } {
    return { publicKey: this.collector.publicKey, secretKey: this.collectorSecret.slice() };
  }

  private onStored(device: SimDevice, records: readonly StoredRecord[]): void {
    for (const r of records) {
      if (!r.transmit) continue;
      this.evidence.accepted.push({ deviceId: device.id, id: recordKey(r.id), category: r.category, at: r.at, expiresAt: r.expiresAt, transmit: true });
    }
  }

  /**
   * Runs after every virtual timer: hold virtual time until the network is quiet. Every timer's consequences finish
   * before the next timer fires, so the interleaving of agents, broker and collector does not depend on real network
   * latency: same seed, same run. One exception keeps long runs fast: timers of *different* devices due at the same
   * instant (all batch timers after a step, all sweeps) fire back to back and the network settles once for the lot.
   * Devices share nothing but the network, each device's own order is unchanged, and the evidence is put in a
   * canonical order at the end (see canonicalOrder), so the run stays repeatable.
   */
  private async afterTimer(): Promise<void> {
    const start = performance.now();
    if (this.firedNow.size > 0 && this.nextTimerIsAnotherDevices()) return this.phases.add('timer-coalesced', performance.now() - start);
    this.firedNow.clear();
    // Fast path: one macrotask lets every promise chain the timer started run; most timers (sweeps) send nothing.
    await nextMacrotask();
    if (this.network.traffic.quiet() && this.answeredWhereReachable()) return this.phases.add('timer-fast', performance.now() - start);
    await this.phases.time('timer-settle', () => this.settle());
  }

  /**
   * True when another timer is due at this very instant, every pending timer belongs to a device (none to a
   * companion app or the loop), and no device that already fired at this instant has another one due now.
   */
  private nextTimerIsAnotherDevices(): boolean {
    const now = this.time.monotonic();
    if (this.time.nextDueAt() !== now) return false;
    let owned = 0;
    for (const device of this.devices.values()) {
      owned += device.pendingTimers();
      if (this.firedNow.has(device.id) && device.hasTimerDueAt(now)) return false;
    }
    return owned === this.time.pendingTimers();
  }

  /**
   * Messages of different devices that settled together reach the collector and the raw subscriber in whatever
   * order the sockets delivered them; sorted by virtual time and device (stable: each device's own order is kept),
   * the evidence is the same on every run.
   */
  canonicalOrder(): void {
    const byDevice = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    this.evidence.delivered.sort((a, b) => a.receivedAt - b.receivedAt || byDevice(a.deviceId, b.deviceId));
    this.evidence.wire.sort((a, b) => a.at - b.at || byDevice(a.topic, b.topic));
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

  /**
   * After links are cut (`deviceId`: that device's; none: every link): wait until the cut clients noticed. Noticing
   * takes real time (the socket's close event); a device timer that fired before would seal an envelope for a dead
   * link (a sequence number spent, the readings re-sent later), so a run would depend on how loaded the machine is.
   */
  async disconnected(deviceId?: string): Promise<void> {
    const noticed = (): boolean => {
      if (deviceId === undefined && (this.collectorTransport.connected || this.wireTransport.connected || this.attacker.connected)) return false;
      for (const d of this.devices.values()) if ((deviceId === undefined || d.id === deviceId) && d.online) return false;
      return true;
    };
    if (!(await waitUntil(noticed, SETTLE_CAP_MS))) this.stats.stalls++;
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
      // What the device's store holds by its own index (the same index every read and publish goes through).
      const records = agent.store.census();
      this.evidence.stores.push({ deviceId: device.id, takenAt, records: this.samples.rows(device.id, records, this.delivered) });
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
    // Leave no member behind in the shared-subscription group (see ShardContext.dropSession).
    const shard = this.options.shard;
    if (shard !== undefined) await shard.dropSession(await this.network.factory(undefined), `sim-collector-${this.scenario.seed}-${shard.tag}`).catch(() => undefined);
    await this.network.close();
  }
}
