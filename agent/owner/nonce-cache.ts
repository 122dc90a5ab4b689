import { asRecord, decodeCbor, encodeCbor, fieldUint } from '../codec/cbor.js';
import { toHex } from '../crypto/keys.js';
import { TrustError } from '../errors.js';
import type { StoragePort } from '../ports/storage.js';

export const NONCE_FILE = 'owner-nonces.cbor';

interface Entry { issuedAt: number; forgetAt: number }

/**
 * Seen request nonces, persisted so a reboot does not reopen the replay window. Bounded: when full, or when an
 * entry outlives its request, it is forgotten and the `floor` rises to its issue time; any request issued at or
 * before the floor is then refused as a possible replay. So forgetting never lets an old request back in, even if
 * the wall clock is later set back.
 */
export class NonceCache {
  private entries = new Map<string, Entry>();
  private floor = -1;

  constructor(private readonly storage: StoragePort, private readonly maxEntries = 512) {}

  async load(): Promise<void> {
    const bytes = await this.storage.read(NONCE_FILE);
    if (bytes === undefined) return;
    try {
      const record = asRecord(decodeCbor(bytes, { maxBytes: 1 << 20, maxDepth: 4 }), 'nonce cache');
      this.floor = record['floor'] === -1 ? -1 : fieldUint(record, 'floor');
      const list = record['entries'];
      if (!Array.isArray(list)) throw new TrustError('MALFORMED', 'entries must be an array');
      for (const item of list) {
        const entry = asRecord(item, 'entry');
        const nonce = entry['n'];
        if (typeof nonce !== 'string') throw new TrustError('MALFORMED', 'nonce must be hex');
        this.entries.set(nonce, { issuedAt: fieldUint(entry, 'i'), forgetAt: fieldUint(entry, 'f') });
      }
    } catch (cause) {
      throw new TrustError('CORRUPT', `${NONCE_FILE} is unreadable`, { cause });
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** False if seen (or too old to tell); otherwise remembers it durably and returns true. */
  async checkAndRemember(nonce: Uint8Array, issuedAt: number, forgetAt: number, now: number): Promise<boolean> {
    const key = toHex(nonce);
    if (this.entries.has(key) || issuedAt <= this.floor) return false;
    this.forgetExpired(now);
    while (this.entries.size >= this.maxEntries) this.forgetOldest();
    this.entries.set(key, { issuedAt, forgetAt });
    await this.persist();
    return true;
  }

  private forgetExpired(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.forgetAt < now) this.forget(key, entry);
    }
  }

  private forgetOldest(): void {
    let oldestKey: string | undefined;
    let oldest: Entry | undefined;
    for (const [key, entry] of this.entries) {
      if (oldest === undefined || entry.issuedAt < oldest.issuedAt) { oldestKey = key; oldest = entry; }
    }
    if (oldestKey !== undefined && oldest !== undefined) this.forget(oldestKey, oldest);
  }

  private forget(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.floor = Math.max(this.floor, entry.issuedAt);
  }

  private async persist(): Promise<void> {
    const entries = [...this.entries].map(([n, e]) => ({ n, i: e.issuedAt, f: e.forgetAt }));
    await this.storage.writeAtomic(NONCE_FILE, encodeCbor({ v: 1, floor: this.floor, entries }));
  }
}
