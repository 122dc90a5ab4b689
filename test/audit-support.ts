import nacl from 'tweetnacl';
import type { ClockPort } from '../agent/ports/clock.js';
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
