import { mkdtemp, mkdir, open, readFile, readdir, rename, rm, truncate, appendFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Aedes } from 'aedes';
import { TrustError } from '../agent/errors.js';
import { generateIdentity, type DeviceIdentity } from '../agent/crypto/keys.js';
import { OwnerChannel, type OwnerChannelOptions } from '../agent/owner/channel.js';
import type { OwnerActions } from '../agent/owner/contract.js';
import { sealForOwner } from '../agent/owner/seal.js';
import { encodeCbor } from '../agent/codec/cbor.js';
import type { ClockPort } from '../agent/ports/clock.js';
import type { LoggerPort } from '../agent/ports/logger.js';
import type { StoragePort } from '../agent/ports/storage.js';
import type { Transport } from '../agent/ports/transport.js';
import { testMqttTransport, type TestTransport } from './helpers/mqtt-transport.js';
import { verifyDocument } from '../agent/crypto/sign.js';
import { topics } from '../agent/topics.js';

export const silentLogger: LoggerPort = { debug() {}, info() {}, warn() {}, error() {} };

/** Real files under a temp directory, atomic by write-then-rename with fsync. */
export async function fileStorage(): Promise<{ storage: StoragePort; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'owner-test-'));
  const path = (name: string): string => join(dir, name);
  const storage: StoragePort = {
    read: async (name) => {
      try { return new Uint8Array(await readFile(path(name))); } catch { return undefined; }
    },
    writeAtomic: async (name, data) => {
      await mkdir(dirname(path(name)), { recursive: true });
      const tmp = `${path(name)}.tmp`;
      const handle = await open(tmp, 'w');
      await handle.writeFile(data);
      await handle.sync();
      await handle.close();
      await rename(tmp, path(name));
    },
    append: async (name, data) => appendFile(path(name), data),
    sync: async () => undefined,
    truncate: async (name, length) => truncate(path(name), length),
    remove: async (name) => rm(path(name), { force: true }),
    list: async (prefix) => (await readdir(dir)).filter((n) => n.startsWith(prefix)).sort(),
  };
  return { storage, dir };
}

/** A settable wall clock (tests move it for expiry) with a real monotonic clock under it. */
export function testClock(start = Date.now()): ClockPort & { offset: number } {
  const base = start - Date.now();
  const clock = { offset: 0, now: () => Date.now() + base + clock.offset, monotonic: () => performance.now() + clock.offset };
  return clock;
}

export type Preferences = Record<string, 'off' | 'minimised' | 'full'>;
export const CATEGORIES = ['temperature', 'occupancy', 'names'] as const;
export const DEFAULTS: Preferences = { temperature: 'minimised', occupancy: 'off', names: 'off' };

/**
 * A small real OwnerActions: a versioned preference map with validation, a data store per category, an audit list.
 * Stands in for the lead's agent until it exists; nothing here is a mock of something that could run for real.
 */
export class PreferenceActions implements OwnerActions {
  version = 0;
  prefs: Preferences = { ...DEFAULTS };
  data: Record<string, number> = { temperature: 3, occupancy: 2, names: 1 };
  audits: Array<{ type: string; details: Record<string, string | number | boolean> }> = [];
  transfers = 0;

  preferencesVersion(): number { return this.version; }

  async applyPatch(patch: unknown): Promise<{ version: number; enforced: unknown }> {
    this.prefs = applyPreferencePatch(this.prefs, patch);
    this.version += 1;
    return { version: this.version, enforced: this.enforcedState() };
  }

  async reset(): Promise<{ version: number; enforced: unknown }> {
    this.prefs = { ...DEFAULTS };
    this.version += 1;
    return { version: this.version, enforced: this.enforcedState() };
  }

  async acceptTerms(categories: unknown): Promise<{ version: number; enforced: unknown }> {
    if (!Array.isArray(categories) || categories.length === 0) throw new TrustError('INVALID_PREFERENCE', 'desired: must list categories');
    this.version += 1;
    return { version: this.version, enforced: this.enforcedState() };
  }

  corroborated: number[] = [];

  corroborateTime(wallMs: number): void {
    this.corroborated.push(wallMs);
  }

  selfAssessment(): unknown {
    return { version: this.version, paired: true };
  }

  async eraseAll(): Promise<unknown> {
    const erased = Object.values(this.data).reduce((a, b) => a + b, 0);
    for (const key of Object.keys(this.data)) this.data[key] = 0;
    return { erased };
  }

  async eraseUser(userId: unknown): Promise<unknown> {
    if (typeof userId !== 'string') throw new TrustError('INVALID_PREFERENCE', 'desired.userId: must be a string');
    return { userErased: true };
  }

  async eraseCategory(category: string): Promise<unknown> {
    if (!(category in this.data)) throw new TrustError('INVALID_PREFERENCE', `unknown category ${category}`);
    const erased = this.data[category] ?? 0;
    this.data[category] = 0;
    return { category, erased };
  }

  async exportData(ownerBoxPublicKey: Uint8Array): Promise<Uint8Array> {
    return sealForOwner(encodeCbor({ prefs: this.prefs, data: this.data }), ownerBoxPublicKey);
  }

  async transferOwnership(): Promise<unknown> {
    this.transfers += 1;
    await this.eraseAll();
    await this.reset();
    return { erased: true, rotated: true };
  }

  async auditTrail(): Promise<Uint8Array> {
    return encodeCbor(this.audits.map((a) => a.type));
  }

  enforcedState(): unknown {
    return { version: this.version, settings: { ...this.prefs } };
  }

  async audit(type: string, details: Record<string, string | number | boolean>): Promise<void> {
    this.audits.push({ type, details });
  }
}

/** Pure preference semantics, shared by the actions and the property test's model. */
export function applyPreferencePatch(prefs: Preferences, patch: unknown): Preferences {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw new TrustError('INVALID_PREFERENCE', 'desired must be a map');
  const next = { ...prefs };
  for (const [key, value] of Object.entries(patch)) {
    if (!(CATEGORIES as readonly string[]).includes(key)) throw new TrustError('INVALID_PREFERENCE', `unknown category ${key}`);
    if (value !== 'off' && value !== 'minimised' && value !== 'full') throw new TrustError('INVALID_PREFERENCE', `invalid setting for ${key}`);
    next[key] = value;
  }
  return next;
}

export interface BrokerHandle { url: string; close(): Promise<void> }

export async function startAedes(): Promise<BrokerHandle> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface DeviceUnderTest {
  channel: OwnerChannel;
  actions: PreferenceActions;
  identity: () => DeviceIdentity;
  transport: TestTransport;
  storage: StoragePort;
  clock: ClockPort & { offset: number };
}

export async function startDevice(url: string, deviceId: string, extra: Partial<OwnerChannelOptions> = {}, storage?: StoragePort): Promise<DeviceUnderTest> {
  const store = storage ?? (await fileStorage()).storage;
  let identity = generateIdentity();
  const actions = new PreferenceActions();
  const clock = testClock();
  const channel = await OwnerChannel.create({
    deviceId, deviceType: 'thermostat', identity: () => identity, actions, clock, storage: store, logger: silentLogger, ...extra,
  });
  const transport = testMqttTransport(url)({ clientId: `dev-${deviceId}`, cleanSession: false });
  await transport.connect();
  await channel.attach(transport);
  const rotate = actions.transferOwnership.bind(actions);
  actions.transferOwnership = async () => { const r = await rotate(); identity = generateIdentity(); return r; };
  return { channel, actions, identity: () => identity, transport, storage: store, clock };
}

/** A raw client that publishes crafted bytes and collects verified replies by client token. */
export interface RawClient {
  send(bytes: Uint8Array): Promise<void>;
  reply(clientToken: string): Promise<Record<string, unknown> & { outcome: string }>;
  /** Forget a reply already received, to wait for the next one with the same token. */
  forget(clientToken: string): void;
  close(): Promise<void>;
}

export async function rawClient(url: string, deviceId: string, deviceSignPublicKey: () => Uint8Array): Promise<RawClient> {
  const transport = testMqttTransport(url)({ clientId: `raw-${Math.random().toString(36).slice(2)}`, cleanSession: true });
  const replies = new Map<string, Record<string, unknown> & { outcome: string }>();
  const waiters = new Map<string, (r: Record<string, unknown> & { outcome: string }) => void>();
  transport.onMessage((message) => {
    let body: Record<string, unknown> & { outcome: string };
    try {
      body = verifyDocument<Record<string, unknown> & { outcome: string }>(message.payload, deviceSignPublicKey(), { maxBytes: 1 << 22, maxDepth: 12 }).body;
    } catch {
      return; // not signed by this device: ignored, as a companion would
    }
    const token = String(body['clientToken']);
    replies.set(token, body);
    waiters.get(token)?.(body);
  });
  await transport.connect();
  await transport.subscribe(`ta/v1/${deviceId}/cmd/res/+/+`, 1);
  return {
    send: (bytes) => transport.publish(topics.commandRequest(deviceId), bytes, { qos: 1 }),
    reply: (clientToken) => {
      const known = replies.get(clientToken);
      if (known !== undefined) return Promise.resolve(known);
      return new Promise((resolve) => waiters.set(clientToken, resolve));
    },
    forget: (clientToken) => void replies.delete(clientToken),
    close: () => transport.close(),
  };
}

/** Polls a condition that some asynchronous delivery will make true (never a timing assertion). */
export async function eventually(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
