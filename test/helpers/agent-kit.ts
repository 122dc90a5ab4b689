import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../simulator/broker.js';
import { createCollector, type Collector } from '../../collector/index.js';
import { createCompanion, generateOwnerKeys, type Companion, type OwnerKeys } from '../../companion/index.js';
import { createMemoryBroker, createVirtualTime, memoryLogger, memoryStorage, seededRandom } from '../../agent/adapters/memory/index.js';
import type { MemoryBroker, MemoryLogger, MemoryStorage, VirtualTime } from '../../agent/adapters/memory/index.js';
import { nodeFileStorage, nodeMqttTransport, nodeRandom, nodeScheduler, systemClock } from '../../agent/adapters/node/index.js';
import type { NodeFileStorage, NodeMqttTransport } from '../../agent/adapters/node/index.js';
import { createAgent, type Agent } from '../../agent/agent.js';
import { registryFor } from '../../agent/policy/devices/index.js';
import type { AgentConfig, DeviceType } from '../../agent/config.js';
import type { EnvelopeReading } from '../../agent/codec/envelope.js';
import type { ClockPort, Ports, SchedulerPort, StoragePort, TimerHandle, TransportFactory, TransportOptions } from '../../agent/ports/index.js';

/**
 * A small harness around the REAL agent: real policy, store, owner channel, audit, sealer and publisher, wired by
 * createAgent. Two worlds: `memory` (in-process broker, virtual time, memory files; for scenarios that need time to
 * pass) and `broker` (a real MQTT broker over TLS through the Node mqtt adapter, real files, the system clock).
 */
export interface World {
  readonly kind: 'memory' | 'broker';
  readonly clock: ClockPort;
  /** The scheduler agents get; counts live timers so tests can find leaks. */
  readonly scheduler: TrackedScheduler;
  readonly logger: MemoryLogger;
  /** Transport factory for agents. */
  agentTransport(options?: { allowInsecureTransport?: boolean; url?: string }): TransportFactory;
  /** Transport factory for collectors, companions and observers (a different client id each). */
  clientTransport(): TransportFactory;
  readonly time?: VirtualTime;
  readonly memoryBroker?: MemoryBroker;
  /** Node-mqtt transports made by this world, by client id (for dropLink). */
  readonly links: Array<{ clientId: string; link: NodeMqttTransport }>;
  /** The latest node-mqtt link opened with this client id. */
  link(clientId: string): NodeMqttTransport;
  close(): Promise<void>;
}

export interface TrackedScheduler extends SchedulerPort {
  pending(): number;
}

export function trackScheduler(inner: SchedulerPort): TrackedScheduler {
  const live = new Set<TimerHandle>();
  return {
    setTimeout(callback, delayMs) {
      const handle: TimerHandle = inner.setTimeout(() => {
        live.delete(handle);
        callback();
      }, delayMs);
      live.add(handle);
      return handle;
    },
    clearTimeout(handle) {
      live.delete(handle);
      inner.clearTimeout(handle);
    },
    pending: () => live.size,
  };
}

export const START_WALL = Date.UTC(2026, 0, 1, 8, 0, 0);

export function memoryWorld(options: { insecure?: boolean } = {}): World {
  const time = createVirtualTime(START_WALL);
  const broker = createMemoryBroker(options.insecure === true ? { insecure: true } : {});
  return {
    kind: 'memory', clock: time, scheduler: trackScheduler(time), logger: memoryLogger(), time, memoryBroker: broker, links: [],
    link: () => { throw new Error('no node links in the memory world'); },
    agentTransport: () => broker.transport,
    clientTransport: () => broker.transport,
    close: async () => undefined,
  };
}

export function brokerWorld(url: string, caPem: string): World {
  const logger = memoryLogger();
  const links: Array<{ clientId: string; link: NodeMqttTransport }> = [];
  const factory = (endpoint: { url: string; allowInsecureTransport?: boolean }): TransportFactory => {
    const make = nodeMqttTransport({
      ...endpoint, ...(endpoint.url.startsWith('mqtts') ? { ca: caPem } : {}), logger,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 }, connectTimeoutMs: 3_000,
    });
    return (options: TransportOptions) => {
      const link = make(options);
      links.push({ clientId: options.clientId, link });
      return link;
    };
  };
  return {
    kind: 'broker', clock: systemClock(), scheduler: trackScheduler(nodeScheduler()), logger, links,
    link: (clientId) => {
      const found = links.filter((l) => l.clientId === clientId).at(-1);
      if (found === undefined) throw new Error(`no link for ${clientId}`);
      return found.link;
    },
    agentTransport: (options = {}) => factory({ url: options.url ?? url, ...(options.allowInsecureTransport === true ? { allowInsecureTransport: true } : {}) }),
    // Test clients (collector, companion, observers) may use a plaintext broker; the agent must opt in explicitly.
    clientTransport: () => factory({ url, allowInsecureTransport: url.startsWith('mqtt://') }),
    close: async () => {
      for (const { link } of links) await link.close().catch(() => undefined);
    },
  };
}

export interface KitAgent {
  agent: Agent;
  storage: StoragePort;
  ports: Ports;
  /** The data directory when the storage is on disk. */
  dir: string | undefined;
}

export interface AgentSpec {
  deviceId: string;
  deviceType?: DeviceType;
  recipientPublicKey: Uint8Array;
  /** Reuse storage (restart); otherwise a fresh memory store (memory world) or a temp dir (broker world). */
  storage?: StoragePort;
  dir?: string;
  config?: Partial<AgentConfig>;
  transport?: TransportFactory;
  random?: Ports['random'];
  /** Rollback counter (docs/storage.md, "Rollback of flash"). */
  counter?: Ports['counter'];
  /** Native primitives (agent/adapters/node/crypto.ts); tweetnacl when absent. */
  crypto?: Ports['crypto'];
}

const tempDirs: string[] = [];

export function tempDir(label = 'agent'): string {
  const dir = mkdtempSync(join(tmpdir(), `ta-${label}-`));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function makeAgent(world: World, spec: AgentSpec): Promise<KitAgent> {
  let dir = spec.dir;
  let storage = spec.storage;
  if (storage === undefined) {
    if (world.kind === 'broker' || dir !== undefined) {
      dir ??= tempDir(spec.deviceId);
      storage = nodeFileStorage(dir);
    } else {
      storage = memoryStorage();
    }
  }
  const ports: Ports = {
    random: spec.random ?? (world.kind === 'memory' ? seededRandom(`kit-${spec.deviceId}-${Math.random()}`) : nodeRandom()),
    clock: world.clock, scheduler: world.scheduler, storage, logger: world.logger,
    transport: spec.transport ?? world.agentTransport(),
    ...(spec.counter === undefined ? {} : { counter: spec.counter }),
    ...(spec.crypto === undefined ? {} : { crypto: spec.crypto }),
  };
  const config: AgentConfig = {
    deviceId: spec.deviceId, deviceType: spec.deviceType ?? 'thermostat', recipientPublicKey: spec.recipientPublicKey,
    registry: registryFor(spec.deviceType ?? 'thermostat'), telemetry: { batchDelayMs: 20, drainPerSecond: 100_000 }, ...spec.config,
  };
  const agent = await createAgent(config, ports);
  return { agent, storage, ports, dir };
}

export interface CollectorHarness {
  collector: Collector;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  readings: Array<{ deviceId: string; reading: EnvelopeReading }>;
  /** Readings of one device and category, data only. */
  data(deviceId: string, category?: string): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startCollector(world: World, clock: ClockPort = world.clock): Promise<CollectorHarness> {
  const keys = nacl.box.keyPair();
  const collector = createCollector({ secretKey: keys.secretKey, now: () => clock.now() });
  const readings: CollectorHarness['readings'] = [];
  collector.onReading((deviceId, reading) => readings.push({ deviceId, reading }));
  const transport = world.clientTransport()({ clientId: `collector-${Math.random().toString(36).slice(2, 10)}`, cleanSession: false });
  await transport.connect();
  await collector.attach(transport);
  return {
    collector, publicKey: keys.publicKey, secretKey: keys.secretKey, readings,
    data: (deviceId, category) => readings
      .filter((r) => r.deviceId === deviceId && (category === undefined || r.reading.category === category))
      .map((r) => r.reading.data),
    close: () => transport.close(),
  };
}

export async function startCompanion(world: World, deviceId: string, ownerKeys: OwnerKeys = generateOwnerKeys(),
  extra: { devicePublicKeys?: { signPublicKey: Uint8Array; boxPublicKey: Uint8Array }; requestLifetimeMs?: number } = {}): Promise<Companion> {
  return createCompanion({
    transport: world.clientTransport(), ownerKeys, deviceId, clock: world.clock, timeoutMs: 5_000, ...extra,
  });
}

/** Pair through the real flow: the device's button, then the companion proves the setup code. */
export async function pairOwner(world: World, kit: KitAgent, ownerKeys: OwnerKeys = generateOwnerKeys()): Promise<Companion> {
  const companion = await startCompanion(world, kit.agent.deviceId, ownerKeys);
  const { payload } = kit.agent.openPairingWindow();
  await companion.pair(payload);
  return companion;
}

/** Resolves when `check` holds, polling the event loop (and virtual time, if any); fails after `limitMs` real ms. */
export async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 5_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Every byte of every file under `dir`, for raw scans after erase. */
export function rawFiles(dir: string): Array<{ path: string; bytes: Uint8Array }> {
  const out: Array<{ path: string; bytes: Uint8Array }> = [];
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push({ path, bytes: new Uint8Array(readFileSync(path)) });
    }
  };
  walk(dir);
  return out;
}

export { containsBytes } from './bytes.js';

export async function closeStorage(storage: StoragePort): Promise<void> {
  await (storage as Partial<NodeFileStorage>).close?.();
}

export type { MemoryStorage };

/**
 * A started agent with its own collector (provisioned with the agent's box key); stop, collector and storage go on
 * `cleanups`, which the caller runs after the test.
 */
export async function startDevice(
  world: World, cleanups: Array<() => Promise<unknown> | unknown>, deviceId: string, options: { dir?: string } = {},
): Promise<{ kit: KitAgent; col: CollectorHarness }> {
  const col = await startCollector(world);
  const kit = await makeAgent(world, { deviceId, recipientPublicKey: col.publicKey, ...(options.dir === undefined ? {} : { dir: options.dir }) });
  col.collector.addDevice(deviceId, kit.agent.publicKeys.box);
  cleanups.push(() => closeStorage(kit.storage), () => col.close(), () => kit.agent.stop());
  await kit.agent.start();
  return { kit, col };
}

/**
 * One embedded TLS broker and world per test file: per-test cleanups run in reverse after each test, then no agent
 * timer may be left; the broker, links and temp dirs go after the file. Register before the file's own hooks.
 */
export function useBrokerWorld(): { cleanups: Array<() => Promise<unknown> | unknown>; current: () => { broker: EmbeddedBroker; world: World } } {
  let broker: EmbeddedBroker | undefined;
  let world: World | undefined;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  beforeAll(async () => {
    broker = await startEmbeddedBroker({ tls: true });
    world = brokerWorld(broker.url, broker.caPem);
  });
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
    expect(world?.scheduler.pending(), 'agent timers left after stop').toBe(0);
  });
  afterAll(async () => {
    await world?.close();
    await broker?.close();
    removeTempDirs();
  });
  return {
    cleanups,
    current: () => {
      if (broker === undefined || world === undefined) throw new Error('useBrokerWorld: the broker is not up yet');
      return { broker, world };
    },
  };
}
