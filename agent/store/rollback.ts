import type { StoreContext } from './context.js';
import { saveKeyFile, type KeyFileState } from './sealed-files.js';

/**
 * Rollback protection of the key file (docs/storage.md, "Rollback of flash"). Every key-file rewrite (new epoch
 * keys, shredding, erase, rewrites) carries the next version number inside the sealed file, and then advances the
 * host's monotonic counter to it: file first, counter second, so a crash in between leaves a file AHEAD of the
 * counter (caught up at open), never behind. At open, a key file whose version is below the counter is an old copy
 * put back: it and every segment are deleted (erase wins), and the fault is reported.
 */
export async function persistKeyFile(ctx: StoreContext): Promise<void> {
  const version = ctx.keyVersion + 1;
  await saveKeyFile(ctx.storage, ctx.names.keyFile, ctx.secrets, ctx.index.epochs.values(), ctx.random, version);
  ctx.keyVersion = version;
  await advanceCounter(ctx);
}

/** A failing counter must not undo a durable key file: it is logged and caught up at the next write or open. */
async function advanceCounter(ctx: StoreContext): Promise<void> {
  if (ctx.counter === undefined) return;
  try {
    let value = await ctx.counter.read();
    for (let steps = 0; value < ctx.keyVersion && steps < 64; steps++) value = await ctx.counter.increment();
  } catch (cause) {
    ctx.logger.error('store: rollback counter could not be advanced', { code: (cause as { code?: string }).code });
  }
}

export interface RollbackReport {
  /** Version found in the key file on flash. */
  fileVersion: number;
  /** Value of the host counter: the version the newest key file had. */
  counter: number;
  /** Segments deleted with the rolled-back key file (set by recovery). */
  removedSegments?: number;
}

/** 'rolled-back' when the key file on flash is older than the counter says it must be. */
export async function checkRollback(ctx: StoreContext, state: KeyFileState): Promise<RollbackReport | undefined> {
  const fileVersion = state.status === 'ok' ? state.version : 0;
  if (ctx.counter === undefined) {
    ctx.keyVersion = fileVersion;
    return undefined;
  }
  const counter = await ctx.counter.read();
  if (state.status === 'ok' && fileVersion < counter) {
    ctx.keyVersion = counter;
    return { fileVersion, counter };
  }
  ctx.keyVersion = Math.max(fileVersion, counter);
  await advanceCounter(ctx);
  return undefined;
}
