import { TrustError } from '../../errors.js';
import type { StoragePort } from '../../ports/storage.js';

/**
 * In-memory storage with a model of power loss. Each file keeps the bytes readers see and the length known to
 * be durable; `crash()` throws away whatever was appended since the last `sync` (optionally keeping a torn,
 * partial piece of it, as a real disk might), exactly the failures the store must survive.
 */
export interface CrashOptions {
  /** Keep a random prefix of the unsynced tail of each file (a torn write). Default false. */
  tornTail?: boolean;
  /** Source of randomness for the torn length, in [0, 1). Default: a fixed sequence (repeatable). */
  random?: () => number;
}

export interface MemoryStorage extends StoragePort {
  crash(options?: CrashOptions): void;
  /** Current content of every file (copies), for tests that inspect the raw bytes. */
  files(): Map<string, Uint8Array>;
}

interface MemoryFile {
  buffer: Uint8Array;
  length: number;
  synced: number;
}

const NAME = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export function checkStorageName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name) || name.split('/').some((part) => part === '.' || part === '..')) {
    throw new TrustError('INVALID_ARGUMENT', 'storage name must be a relative path of [A-Za-z0-9._-] segments');
  }
}

export function memoryStorage(): MemoryStorage {
  const files = new Map<string, MemoryFile>();
  let seed = 0x2545f491;
  const fallbackRandom = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 0x1_0000_0000;
  };
  const content = (file: MemoryFile): Uint8Array => file.buffer.slice(0, file.length);

  return {
    async read(name) {
      checkStorageName(name);
      const file = files.get(name);
      return file === undefined ? undefined : content(file);
    },
    async writeAtomic(name, data) {
      checkStorageName(name);
      const copy = data.slice();
      files.set(name, { buffer: copy, length: copy.length, synced: copy.length });
    },
    async append(name, data) {
      checkStorageName(name);
      let file = files.get(name);
      if (file === undefined) files.set(name, (file = { buffer: new Uint8Array(Math.max(64, data.length)), length: 0, synced: 0 }));
      if (file.length + data.length > file.buffer.length) {
        const grown = new Uint8Array(Math.max(file.buffer.length * 2, file.length + data.length));
        grown.set(file.buffer.subarray(0, file.length));
        file.buffer = grown;
      }
      file.buffer.set(data, file.length);
      file.length += data.length;
    },
    async sync(name) {
      checkStorageName(name);
      const file = files.get(name);
      if (file !== undefined) file.synced = file.length;
    },
    async truncate(name, length) {
      checkStorageName(name);
      const file = files.get(name);
      if (file === undefined) return;
      file.length = Math.min(file.length, Math.max(0, length));
      file.synced = Math.min(file.synced, file.length);
    },
    async remove(name) {
      checkStorageName(name);
      files.delete(name);
    },
    async list(prefix) {
      return [...files.keys()].filter((name) => name.startsWith(prefix)).sort();
    },
    crash(options = {}) {
      const random = options.random ?? fallbackRandom;
      for (const file of files.values()) {
        const unsynced = file.length - file.synced;
        const kept = options.tornTail === true && unsynced > 0 ? Math.floor(random() * unsynced) : 0;
        file.length = file.synced + kept;
        file.synced = file.length;
      }
    },
    files() {
      return new Map([...files].map(([name, file]) => [name, content(file)]));
    },
  };
}
