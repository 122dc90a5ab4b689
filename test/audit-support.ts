import { encodeFrame, readFrame, type Frame } from '../agent/audit/format.js';
import { concatBytes } from '../agent/codec/bytes.js';
import nacl from 'tweetnacl';
import type { ClockPort } from '../agent/ports/clock.js';
import { toHex } from '../agent/crypto/keys.js';
import { createPolicyEngine, registryFor, type PolicyEngine } from '../agent/policy/index.js';
import type { AssessmentInput } from '../agent/audit/assess-types.js';
import { assessmentCategories, summarizeTrail } from '../agent/audit/report.js';
import type { StoragePort } from '../agent/ports/storage.js';
import { createAuditTrail, type AuditTrail, type AuditTrailOptions } from '../agent/audit/trail.js';

/** A StoragePort over a Map, with the same contract as the file adapter (append then sync). */
export class MapStorage implements StoragePort {
  readonly files = new Map<string, Uint8Array>();
  syncs = 0;
  failAppend = false;

  async read(name: string): Promise<Uint8Array | undefined> {
    return this.files.get(name)?.slice();
  }
  async writeAtomic(name: string, data: Uint8Array): Promise<void> {
    this.files.set(name, data.slice());
  }
  async append(name: string, data: Uint8Array): Promise<void> {
    const old = this.files.get(name) ?? new Uint8Array(0);
    // A failing append still leaves half the data behind, like a write cut by a full disk.
    const part = this.failAppend ? data.subarray(0, data.length >> 1) : data;
    const next = new Uint8Array(old.length + part.length);
    next.set(old);
    next.set(part, old.length);
    this.files.set(name, next);
    if (this.failAppend) throw new Error('disk full');
  }
  async sync(): Promise<void> {
    this.syncs++;
  }
  async truncate(name: string, length: number): Promise<void> {
    const old = this.files.get(name);
    if (old !== undefined) this.files.set(name, old.slice(0, length));
  }
  async remove(name: string): Promise<void> {
    this.files.delete(name);
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.files.keys()].filter((n) => n.startsWith(prefix)).sort();
  }
}

export class StepClock implements ClockPort {
  constructor(public wall = 1_750_000_000_000, public step = 1000) {}
  now(): number {
    this.wall += this.step;
    return this.wall;
  }
  monotonic(): number {
    return this.wall;
  }
}

export const deviceKeys = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(7));
export const otherKeys = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(9));

export async function openTrail(storage = new MapStorage(), extra: Partial<AuditTrailOptions> = {}): Promise<{ trail: AuditTrail; storage: MapStorage; clock: StepClock }> {
  const clock = (extra.clock as StepClock | undefined) ?? new StepClock();
  const trail = await createAuditTrail({
    storage,
    clock,
    signSecretKey: deviceKeys.secretKey,
    signPublicKey: deviceKeys.publicKey,
    ...extra,
  });
  return { trail, storage, clock };
}

/** A trail with `n` varied entries, exported. */
export async function sampleTrail(n: number, checkpointEvery = 4): Promise<{ trail: AuditTrail; bytes: Uint8Array; storage: MapStorage }> {
  const { trail, storage } = await openTrail(new MapStorage(), { checkpointEvery });
  await trail.record('agent.start', { version: '0.1.0', deviceType: 'thermostat', secure: true });
  for (let i = 1; i < n; i++) {
    if (i % 3 === 0) await trail.record('purge', { category: 'occupancy', removed: i, reason: 'expired' });
    else if (i % 3 === 1) await trail.record('consent.change', { category: 'occupancy', setting: 'off', previous: 'minimised', version: i });
    else await trail.record('command.rejected', { reason: 'bad-signature', command: 'set-preferences' });
  }
  return { trail, bytes: trail.exportTrail(), storage };
}

const logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A thermostat's real policy engine and audit trail, and the input the agent would build from them. */
export async function thermostat(): Promise<{ engine: PolicyEngine; trail: AuditTrail; input: AssessmentInput }> {
  const clock = new StepClock();
  const engine = await createPolicyEngine({ registry: registryFor('thermostat'), storage: new MapStorage(), clock, logger });
  const { trail } = await openTrail(new MapStorage(), { clock, checkpointEvery: 4 });
  await trail.record('agent.start', { version: '0.1.0', deviceType: 'thermostat', secure: true });
  await trail.record('pairing', { ownerKeyId: '0011223344556677', result: 'paired' });
  await engine.markManifestReviewed();
  const change = await engine.applyPatch({ categories: { occupancy: { setting: 'minimised' } } });
  await trail.record('consent.change', { category: 'occupancy', setting: 'minimised', version: change.version });
  engine.collect('climate', { temperatureC: 21.3, humidityPct: 41 });
  await trail.record('purge', { category: 'comfort', removed: 0, reason: 'withdrawn' });
  const manifest = engine.manifest();
  const now = clock.now();
  const input: AssessmentInput = {
    generatedAt: now,
    device: { id: 'thermo-1', type: 'thermostat', agentVersion: '0.1.0' },
    transport: { tls: true, insecureAllowed: false, connected: true },
    keys: { identityPresent: true, boxKeyId: 'aa00aa00aa00aa00', signKeyId: toHex(deviceKeys.publicKey.subarray(0, 8)), recipientKeyId: 'bb00bb00bb00bb00' },
    owner: { paired: true, ownerKeyId: '0011223344556677' },
    policy: {
      registryVersion: engine.registry().version,
      preferencesVersion: engine.currentVersion(),
      manifestHash: manifest.contentHash,
      manifestPublished: true,
      firstRunReviewed: manifest.manifestReviewed,
      categories: assessmentCategories(manifest),
      counters: engine.counters() as AssessmentInput['policy']['counters'],
    },
    store: {
      records: 1, queued: 1, bytes: 200, maxBytes: 8 << 20, maxRecords: 200_000,
      dropped: { overflow: 0, expired: 0, purged: 0, expiredUnsent: 0 },
      lastSweepAt: now - 1000, sweepIntervalMs: 60_000, epochsLive: 1, encryptedAtRest: true, durability: 'group', overflowRule: 'drop oldest',
    },
    telemetry: { algorithm: 'x25519-xsalsa20poly1305', supportedAlgorithms: ['x25519-xsalsa20poly1305'], endToEnd: true, published: 1 },
    commands: { accepted: 1, rejected: { BAD_SIGNATURE: 2 }, rateLimited: 0, signedOnly: true, listeningSockets: 0 },
    rights: { erase: true, eraseCategory: true, export: true, transfer: true, receiptsIssued: 0, signedReceipts: true },
    audit: summarizeTrail(trail, { verifyWith: deviceKeys.publicKey }),
  };
  return { engine, trail, input };
}

/** The frames of an exported trail, for tests that tamper with them. */
export function frames(bytes: Uint8Array): Frame[] {
  const out: Frame[] = [];
  for (let offset = 0; ; ) {
    const read = readFrame(bytes, offset);
    if (read.status !== 'frame') return out;
    out.push(read.frame);
    offset = read.next;
  }
}

/** Frames back into trail bytes. */
export function joinFrames(list: Frame[]): Uint8Array {
  return concatBytes(list.map(encodeFrame));
}
