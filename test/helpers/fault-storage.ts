import { memoryStorage, type MemoryStorage } from '../../agent/adapters/memory/index.js';
import type { StoragePort } from '../../agent/ports/storage.js';

/**
 * How write number N fails:
 * - 'eio': the call throws EIO and nothing of it lands (a transient error; later writes work).
 * - 'torn': an append lands only in part (a writeAtomic keeps the old content, as its contract says), then EIO.
 * - 'crash': the device loses power in the middle of the write: the call lands torn, every unsynced tail may be
 *   torn too, and from then on this storage view is dead (the old agent can touch nothing); reboot() gives the new
 *   agent a live view of the same bytes.
 */
export type FaultKind = 'eio' | 'torn' | 'crash';

/** Every call that changes storage: what the fault points are counted over. */
const WRITES = ['writeAtomic', 'append', 'sync', 'truncate', 'remove'] as const;

export interface FaultyStorage {
  /** The view to hand the agent. */
  readonly storage: StoragePort;
  readonly disk: MemoryStorage;
  /** Writes seen since the last arm() (or since creation). */
  readonly writes: number;
  /** Fail the `n`-th write from now on (1-based) in the given way; the others pass. */
  arm(n: number, kind: FaultKind): void;
  disarm(): void;
  /** Whether the armed fault has fired. */
  readonly fired: boolean;
  /** After a 'crash': a fresh, live view of the same (power-cut) bytes for the rebooted agent. */
  reboot(): StoragePort;
}

export function faultyStorage(disk: MemoryStorage = memoryStorage()): FaultyStorage {
  let writes = 0;
  let armed: { n: number; kind: FaultKind } | undefined;
  let fired = false;
  let epoch = 0;

  const view = (): StoragePort => {
    const mine = epoch;
    const alive = (): void => {
      if (mine !== epoch) throw eio('the device lost power');
    };
    const port: StoragePort = {
      read: async (name) => { alive(); return disk.read(name); },
      list: async (prefix) => { alive(); return disk.list(prefix); },
      writeAtomic: (name, data) => write('writeAtomic', () => disk.writeAtomic(name, data), async () => undefined),
      append: (name, data) => write('append', () => disk.append(name, data),
        () => disk.append(name, data.subarray(0, Math.floor(data.length / 2)))),
      sync: (name) => write('sync', () => disk.sync(name), async () => undefined),
      truncate: (name, length) => write('truncate', () => disk.truncate(name, length), async () => undefined),
      remove: (name) => write('remove', () => disk.remove(name), async () => undefined),
    };
    async function write(_op: (typeof WRITES)[number], run: () => Promise<void>, torn: () => Promise<void>): Promise<void> {
      alive();
      writes += 1;
      if (armed === undefined || fired || writes !== armed.n) return run();
      fired = true;
      if (armed.kind === 'eio') throw eio('injected write fault');
      await torn();
      if (armed.kind === 'crash') {
        disk.crash({ tornTail: true });
        epoch += 1;
      }
      throw eio('injected write fault');
    }
    return port;
  };

  let current = view();
  return {
    get storage() { return current; },
    disk,
    get writes() { return writes; },
    get fired() { return fired; },
    arm(n, kind) {
      writes = 0;
      fired = false;
      armed = { n, kind };
    },
    disarm() {
      armed = undefined;
    },
    reboot() {
      armed = undefined;
      current = view();
      return current;
    },
  };
}

function eio(message: string): Error {
  return Object.assign(new Error(`EIO: ${message}`), { code: 'EIO' });
}
