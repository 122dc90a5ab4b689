import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TrustError } from '../../errors.js';
import type { MonotonicCounterPort } from '../../ports/counter.js';

/**
 * A counter in a file, written atomically (temp file, fsync, rename, fsync of the directory). Honest limits
 * (docs/storage.md): it only protects against restoring the store's files WITHOUT this file, for instance when it
 * lives on another partition, removable medium or a host the attacker does not image. Restored together with the
 * data flash it rolls back with it and proves nothing. For real protection back the port with a secure element or
 * RPMB.
 */
export function nodeFileCounter(path: string): MonotonicCounterPort {
  const read = async (): Promise<number> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new TrustError('STORAGE', 'counter file unreadable', { cause });
    }
    const value = Number(text.trim());
    if (!Number.isSafeInteger(value) || value < 0) throw new TrustError('CORRUPT', 'counter file does not hold a counter');
    return value;
  };
  let chain: Promise<unknown> = Promise.resolve();
  const increment = async (): Promise<number> => {
    const next = (await read()) + 1;
    const temp = `${path}.~next`;
    const file = await open(temp, 'w');
    try {
      await file.writeFile(`${next}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return next;
  };
  return {
    read,
    // One increment at a time: two overlapping ones would both write read() + 1.
    increment: () => {
      const run = chain.then(increment, increment);
      chain = run.catch(() => undefined);
      return run;
    },
  };
}
