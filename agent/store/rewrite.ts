import { TrustError } from '../errors.js';
import type { StoreContext } from './context.js';
import type { PurgeReport } from './contract.js';
import { openFrame, type RecordBody } from './frames.js';
import { categoryTag, newDataKey } from './sealed-files.js';
import { persistKeyFile } from './rollback.js';
import { epochKeyOf, type Entry, type EpochState } from './store-index.js';
import { writeRecords, type PendingRecord } from './writer.js';
import { removeUnkeyed } from './maintenance.js';

/** Decide for one live record: undefined drops it, a number is its (never later) new expiry. */
export type RewriteRule = (entry: Entry) => number | undefined;

/**
 * Rewrite a category when single records must go (queued purge) or expiries shrink (narrowed retention).
 * Survivors are re-sealed under fresh keys of a new generation and made durable; then ONE atomic key-file
 * write swaps the old keys for the new ones (shredding everything old, including the dropped records); then
 * the old segments are deleted. A crash before the swap leaves unkeyed new segments, after it unkeyed old
 * ones: either way the next open deletes what has no key, and no record is lost or doubled.
 */
export async function rewriteCategory(ctx: StoreContext, category: string, rule: RewriteRule, reason: PurgeReport['reason']): Promise<PurgeReport> {
  const oldEpochs = [...ctx.index.epochs.values()].filter((e) => e.category === category);
  const entries = ctx.index.liveEntries(category);
  const decisions = entries.map((entry) => ({ entry, expiresAt: rule(entry) }));
  const changed = decisions.some((d) => d.expiresAt !== d.entry.expiresAt);
  if (!changed) return { category, removed: 0, reason };
  ctx.outbox.clear();
  const survivors = await openSurvivors(ctx, decisions);
  const gen = ctx.nextGen++;
  const fresh = new Map<number, EpochState>();
  const pending: PendingRecord[] = survivors.map(({ body, entry }) => ({
    body, acked: entry.acked, epoch: epochFor(ctx, fresh, category, gen, Math.ceil(body.expiresAt / ctx.epochMs)),
  }));
  const staged = await stage(ctx, pending, [...fresh.values()]);
  for (const epoch of oldEpochs) ctx.index.epochs.delete(epochKeyOf(category, epoch.epoch));
  for (const epoch of fresh.values()) ctx.index.epochs.set(epochKeyOf(category, epoch.epoch), epoch);
  try {
    await persistKeyFile(ctx);
  } catch (cause) {
    // The swap did not happen: the old keys rule, the staged copies are unkeyed and go.
    for (const epoch of fresh.values()) ctx.index.epochs.delete(epochKeyOf(category, epoch.epoch));
    for (const epoch of oldEpochs) ctx.index.epochs.set(epochKeyOf(category, epoch.epoch), epoch);
    for (const epoch of fresh.values()) for (const part of epoch.parts) await removeUnkeyed(ctx, part.name);
    throw cause;
  }
  let removed = 0;
  for (const epoch of oldEpochs) {
    for (const part of epoch.parts) {
      ctx.commit.forget(part.name);
      await removeUnkeyed(ctx, part.name);
      removed += ctx.index.killPart(part).live;
    }
    epoch.key.fill(0);
  }
  ctx.index.bytes += staged.bytes;
  for (const entry of staged.entries) ctx.index.addEntry(entry);
  ctx.index.sortQueue();
  const dropped = removed - survivors.length;
  ctx.counters.purged += dropped;
  return { category, removed: dropped, reason };
}

async function openSurvivors(ctx: StoreContext, decisions: { entry: Entry; expiresAt: number | undefined }[]): Promise<{ body: RecordBody; entry: Entry }[]> {
  const files = new Map<string, Uint8Array | undefined>();
  const out: { body: RecordBody; entry: Entry }[] = [];
  for (const { entry, expiresAt } of decisions) {
    if (expiresAt === undefined) continue;
    if (!files.has(entry.part.name)) files.set(entry.part.name, await ctx.storage.read(entry.part.name));
    const bytes = files.get(entry.part.name);
    const body = bytes === undefined ? undefined : openFrame(bytes, entry, entry.part.epoch.key);
    if (body === undefined) throw new TrustError('CORRUPT', 'a record to keep could not be read; rewrite aborted');
    out.push({ body: { ...body, expiresAt: Math.min(body.expiresAt, expiresAt) }, entry });
  }
  return out;
}

function epochFor(ctx: StoreContext, fresh: Map<number, EpochState>, category: string, gen: number, epoch: number): EpochState {
  let state = fresh.get(epoch);
  if (state === undefined) {
    state = { category, epoch, gen, key: newDataKey(ctx.random), tag: categoryTag(ctx.secrets, category), parts: [] };
    fresh.set(epoch, state);
  }
  return state;
}

/** Write the survivors into new-generation segments and sync them; their entries join the index after the swap. */
async function stage(ctx: StoreContext, pending: PendingRecord[], epochs: EpochState[]): Promise<{ entries: Entry[]; bytes: number }> {
  const staged = { entries: [] as Entry[], bytes: 0 };
  try {
    const names = await writeRecords(ctx, pending, (entries, bytes) => {
      staged.entries.push(...entries);
      staged.bytes += bytes;
    });
    for (const name of names) await ctx.storage.sync(name);
  } catch (cause) {
    for (const epoch of epochs) for (const part of epoch.parts) await ctx.storage.remove(part.name).catch(() => undefined);
    throw cause;
  }
  return staged;
}
