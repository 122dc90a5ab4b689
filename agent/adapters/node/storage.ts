import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { TrustError } from '../../errors.js';
import type { StoragePort } from '../../ports/storage.js';
import { checkStorageName } from '../memory/storage.js';

/**
 * The storage port on a POSIX file system, with the durability the store relies on:
 * - writeAtomic: write a temporary file, fsync it, rename over the target, fsync the directory;
 * - append: through a cached file handle (an LRU of open handles per file), durable after sync;
 * - sync: fsync the file, and its directory the first time (so a new file's name survives power loss too);
 * - truncate and remove: durable when they resolve (file or directory fsynced).
 * Temporary files carry a `~`, a character no valid name can contain, so `list` never shows them.
 */
export interface NodeFileStorage extends StoragePort {
  /** Close every cached handle. */
  close(): Promise<void>;
}

const MAX_OPEN = 32;

interface Handle {
  file: FileHandle;
  busy: number;
}

export function nodeFileStorage(rootDir: string): NodeFileStorage {
  const handles = new Map<string, Handle>();
  const newFiles = new Set<string>();
  const pathOf = (name: string): string => {
    checkStorageName(name);
    return join(rootDir, ...name.split('/'));
  };

  const closeHandle = async (name: string): Promise<void> => {
    const handle = handles.get(name);
    if (handle === undefined) return;
    handles.delete(name);
    await handle.file.close().catch(() => undefined);
  };

  const evictIdle = async (): Promise<void> => {
    for (const [name, handle] of handles) {
      if (handles.size < MAX_OPEN) return;
      if (handle.busy === 0) await closeHandle(name);
    }
  };

  /** Borrow a handle for appending; least recently used idle handles are closed past MAX_OPEN. */
  const withHandle = async <T>(name: string, create: boolean, fn: (file: FileHandle) => Promise<T>): Promise<T | undefined> => {
    let handle = handles.get(name);
    if (handle === undefined) {
      const path = pathOf(name);
      let file: FileHandle;
      try {
        if (create) await mkdir(dirname(path), { recursive: true });
        // Always O_APPEND: a cached handle may serve a later append, which must land at the end.
        file = await open(path, create ? 'a' : constants.O_WRONLY | constants.O_APPEND);
      } catch (cause) {
        if (!create && (cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw storageError('open', cause);
      }
      const raced = handles.get(name);
      if (raced !== undefined) {
        await file.close();
        handle = raced;
      } else {
        if (create) newFiles.add(name);
        await evictIdle();
        handle = { file, busy: 0 };
        handles.set(name, handle);
      }
    } else {
      handles.delete(name); // re-insert: Map order is the LRU order
      handles.set(name, handle);
    }
    handle.busy++;
    try {
      return await fn(handle.file);
    } finally {
      handle.busy--;
    }
  };

  const syncDir = async (name: string): Promise<void> => {
    const dir = await open(dirname(pathOf(name)), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  };

  return {
    async read(name) {
      try {
        return new Uint8Array(await readFile(pathOf(name)));
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw storageError('read', cause);
      }
    },
    async writeAtomic(name, data) {
      const path = pathOf(name);
      await closeHandle(name);
      const temp = `${path}.~${randomBytes(6).toString('hex')}`;
      try {
        await mkdir(dirname(path), { recursive: true });
        const file = await open(temp, 'w');
        try {
          await file.writeFile(data);
          await file.sync();
        } finally {
          await file.close();
        }
        await rename(temp, path);
        await syncDir(name);
      } catch (cause) {
        await rm(temp, { force: true }).catch(() => undefined);
        throw storageError('writeAtomic', cause);
      }
      newFiles.delete(name);
    },
    async append(name, data) {
      await withHandle(name, true, async (file) => {
        let written = 0;
        while (written < data.length) {
          const { bytesWritten } = await file.write(data, written, data.length - written);
          written += bytesWritten;
        }
      }).catch((cause: unknown) => {
        throw storageError('append', cause);
      });
    },
    async sync(name) {
      const synced = await withHandle(name, false, (file) => file.sync().then(() => true));
      if (synced === true && newFiles.delete(name)) await syncDir(name);
    },
    async truncate(name, length) {
      await closeHandle(name);
      const found = await withHandle(name, false, async (file) => {
        await file.truncate(Math.max(0, length));
        await file.sync();
        return true;
      });
      if (found === true) await closeHandle(name);
    },
    async remove(name) {
      const path = pathOf(name);
      await closeHandle(name);
      newFiles.delete(name);
      try {
        await rm(path, { force: true });
        await syncDir(name);
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw storageError('remove', cause);
      }
    },
    async list(prefix) {
      const cut = prefix.lastIndexOf('/');
      const start = cut < 0 ? rootDir : join(rootDir, ...prefix.slice(0, cut).split('/'));
      const names: string[] = [];
      await walk(start, rootDir, names);
      return names.filter((name) => name.startsWith(prefix) && !name.includes('~')).sort();
    },
    async close() {
      for (const name of [...handles.keys()]) await closeHandle(name);
    },
  };
}

async function walk(dir: string, root: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT' || (cause as NodeJS.ErrnoException).code === 'ENOTDIR') return;
    throw storageError('list', cause);
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, root, out);
    else if (entry.isFile()) out.push(relative(root, path).split(sep).join('/'));
  }
}

function storageError(operation: string, cause: unknown): TrustError {
  if (cause instanceof TrustError) return cause;
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  // No space, a file-size limit (EFBIG) or a quota: the flash cannot take the bytes (docs/storage.md, "Overflow rule").
  if (code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT') return new TrustError('STORE_FULL', `storage full during ${operation}`, { cause });
  return new TrustError('STORAGE', `storage ${operation} failed${code === undefined ? '' : ` (${code})`}`, { cause });
}
