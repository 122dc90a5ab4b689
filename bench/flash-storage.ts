import type { StoragePort } from '../agent/ports/storage.js';

/** What one kind of file cost: bytes handed to the storage and the calls that force them to flash. */
export interface FileTally {
  bytes: number;
  appends: number;
  atomicWrites: number;
  syncs: number;
  truncates: number;
  removes: number;
}

/**
 * A StoragePort over a real adapter that counts every byte and every durable call, by kind of file. A sync is
 * `sync()`; `writeAtomic`, `truncate` and `remove` are counted apart (on the Node adapter each costs one or two
 * fsyncs: the file and its directory).
 */
export interface CountingStorage extends StoragePort {
  readonly byKind: Map<string, FileTally>;
  total(): FileTally;
  reset(): void;
  /** Resolves once no call has been in flight for a few event-loop turns (virtual time runs ahead of real I/O). */
  settled(): Promise<void>;
}

/** The kind of a file, from its name: segments, the ack log, the time file, the key file, the audit trail... */
export function fileKind(name: string): string {
  if (name.startsWith('store/seg/')) return 'segments (sealed records)';
  if (name.startsWith('store/')) return name.split('/').slice(0, 2).join('/');
  return name.split('/')[0] ?? name;
}

export function countingStorage(inner: StoragePort): CountingStorage {
  const byKind = new Map<string, FileTally>();
  let inFlight = 0;
  const track = async <T>(op: Promise<T>): Promise<T> => {
    inFlight++;
    try {
      return await op;
    } finally {
      inFlight--;
    }
  };
  const tally = (name: string): FileTally => {
    const kind = fileKind(name);
    let found = byKind.get(kind);
    if (found === undefined) {
      found = { bytes: 0, appends: 0, atomicWrites: 0, syncs: 0, truncates: 0, removes: 0 };
      byKind.set(kind, found);
    }
    return found;
  };
  return {
    byKind,
    total() {
      const sum: FileTally = { bytes: 0, appends: 0, atomicWrites: 0, syncs: 0, truncates: 0, removes: 0 };
      for (const t of byKind.values()) for (const key of Object.keys(sum) as Array<keyof FileTally>) sum[key] += t[key];
      return sum;
    },
    reset: () => byKind.clear(),
    async settled() {
      for (let quiet = 0; quiet < 3;) {
        await new Promise((resolve) => setImmediate(resolve));
        quiet = inFlight === 0 ? quiet + 1 : 0;
      }
    },
    read: (name) => track(inner.read(name)),
    list: (prefix) => track(inner.list(prefix)),
    async writeAtomic(name, data) {
      const t = tally(name);
      t.atomicWrites++;
      t.bytes += data.length;
      await track(inner.writeAtomic(name, data));
    },
    async append(name, data) {
      const t = tally(name);
      t.appends++;
      t.bytes += data.length;
      await track(inner.append(name, data));
    },
    async sync(name) {
      tally(name).syncs++;
      await track(inner.sync(name));
    },
    async truncate(name, length) {
      tally(name).truncates++;
      await track(inner.truncate(name, length));
    },
    async remove(name) {
      tally(name).removes++;
      await track(inner.remove(name));
    },
  };
}
