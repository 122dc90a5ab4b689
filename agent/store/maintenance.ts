import { encodeAcks } from './ack-log.js';
import { baseName, parseSegmentBase, type StoreContext } from './context.js';
import type { PurgeReport } from './contract.js';
import { openFrame } from './frames.js';
import { persistKeyFile } from './rollback.js';
import { toStoredRecord, type Entry, type EpochState, type Part } from './store-index.js';
import type { StoredRecord } from './contract.js';

type Reason = PurgeReport['reason'];

/** Every epoch whose last possible expiry has passed: whole epochs go at once, cost follows what expires. */
export async function sweepExpired(ctx: StoreContext, now: number): Promise<PurgeReport[]> {
  const expired: EpochState[] = [];
  for (const epoch of ctx.index.epochs.values()) if (epoch.epoch * ctx.epochMs <= now) expired.push(epoch);
  if (expired.length === 0) return [];
  return shredEpochs(ctx, expired, 'expired');
}

/**
 * Crypto-shredding in the one safe order: the key file without these keys is made durable FIRST, then the
 * segments are deleted. A crash in between leaves ciphertext nobody can open, which the next open deletes.
 */
export async function shredEpochs(ctx: StoreContext, victims: EpochState[], reason: Reason): Promise<PurgeReport[]> {
  for (const epoch of victims) ctx.index.epochs.delete(`${epoch.category}\u0000${epoch.epoch}`);
  try {
    await persistKeyFile(ctx);
  } catch (cause) {
    // Nothing was shredded: the index must still know these epochs, or their records would linger unpurgeable.
    for (const epoch of victims) ctx.index.epochs.set(`${epoch.category}\u0000${epoch.epoch}`, epoch);
    throw cause;
  }
  const removed = new Map<string, number>();
  for (const epoch of victims) {
    for (const part of epoch.parts) {
      const { live, unsent } = await removePart(ctx, part);
      removed.set(epoch.category, (removed.get(epoch.category) ?? 0) + live);
      if (reason === 'expired') {
        ctx.counters.expired += live;
        ctx.counters.expiredUnsent += unsent;
      } else ctx.counters.purged += live;
    }
    epoch.key.fill(0); // best effort: the destroyed key should not linger in memory either
  }
  return [...removed].map(([category, count]) => ({ category, removed: count, reason }));
}

async function removePart(ctx: StoreContext, part: Part): Promise<{ live: number; unsent: number }> {
  if (part.gone) return { live: 0, unsent: 0 };
  ctx.outbox.clear();
  ctx.commit.forget(part.name);
  await removeUnkeyed(ctx, part.name);
  return ctx.index.killPart(part);
}

/**
 * Delete a segment whose key is already durably destroyed. A failure leaves only ciphertext nobody can open (the next
 * open deletes it), so it does not undo the shred: the records are gone from the index either way.
 */
export async function removeUnkeyed(ctx: StoreContext, name: string): Promise<void> {
  try {
    await ctx.storage.remove(name);
  } catch {
    ctx.logger.warn('store: a shredded segment could not be deleted; the next open deletes it');
  }
}

export interface Limits {
  maxBytes: number;
  maxRecords: number;
}

/**
 * Overflow rule: while over a limit, delete the part (segment file) holding the oldest record among parts with
 * no essential record; only when none is left, the oldest part holding essential records. Dropped records are
 * counted in `dropped.overflow`. An epoch left without parts has its key destroyed.
 */
export async function evictOverflow(ctx: StoreContext, limits: Limits): Promise<void> {
  const emptied: EpochState[] = [];
  while (ctx.index.records > limits.maxRecords || ctx.index.bytes > limits.maxBytes) {
    const victim = pickVictim(ctx);
    if (victim === undefined) break;
    const { live } = await removePart(ctx, victim);
    ctx.counters.overflow += live;
    const epoch = victim.epoch;
    epoch.parts.splice(epoch.parts.indexOf(victim), 1);
    if (epoch.parts.length === 0) emptied.push(epoch);
  }
  if (emptied.length > 0) await shredEpochs(ctx, emptied, 'overflow');
  if (emptied.length > 0 || ctx.counters.overflow > 0) ctx.logger.debug('store overflow', { dropped: ctx.counters.overflow });
}

function pickVictim(ctx: StoreContext): Part | undefined {
  let best: Part | undefined;
  let bestEssential = true;
  let bestOrd = Number.POSITIVE_INFINITY;
  for (const epoch of ctx.index.epochs.values()) {
    for (const part of epoch.parts) {
      const first = firstLive(part);
      if (first === undefined) continue;
      const essential = part.hasEssential;
      const better = best === undefined || (bestEssential && !essential) || (essential === bestEssential && first.ord < bestOrd);
      if (better) {
        best = part;
        bestEssential = essential;
        bestOrd = first.ord;
      }
    }
  }
  return best;
}

function firstLive(part: Part): Entry | undefined {
  return part.gone ? undefined : part.entries[0];
}

/** Quarantined copies go when their epoch ends (segments) or after `quarantineKeepMs` (anything else). */
export async function sweepQuarantine(ctx: StoreContext, now: number): Promise<void> {
  if (!ctx.hasQuarantine) return;
  const names = await ctx.storage.list(ctx.names.quarantinePrefix);
  let left = 0;
  for (const name of names) {
    const match = /^(\d+)\.(.+)$/.exec(baseName(name));
    const stamp = match === null ? 0 : Number(match[1]);
    const segment = match === null ? undefined : parseSegmentBase(match[2] ?? '');
    const deadline = segment !== undefined ? segment.epoch * ctx.epochMs : stamp + ctx.quarantineKeepMs;
    if (deadline <= now) await ctx.storage.remove(name);
    else left++;
  }
  ctx.hasQuarantine = left > 0;
}

/** Rewrite the ack log with only the acks of live records once dead entries dominate it. */
export async function compactAcks(ctx: StoreContext, force = false): Promise<void> {
  if (!force && (ctx.ackEntries < 4096 || ctx.ackEntries < ctx.index.ackedLive * 2)) return;
  const live = ctx.index.ackedOrds();
  ctx.commit.forget(ctx.names.ackFile);
  await ctx.storage.writeAtomic(ctx.names.ackFile, encodeAcks(live));
  ctx.ackEntries = live.length;
}

/** Read and open the given entries' frames; entries whose frame cannot be read any more are skipped. */
export async function readRecords(ctx: StoreContext, entries: readonly Entry[]): Promise<StoredRecord[]> {
  const files = new Map<string, Uint8Array | undefined>();
  const out: StoredRecord[] = [];
  for (const entry of entries) {
    const cached = ctx.outbox.get(entry.ord);
    if (cached !== undefined) {
      out.push(toStoredRecord(cached, entry.expiresAt));
      continue;
    }
    const name = entry.part.name;
    if (!files.has(name)) files.set(name, await ctx.storage.read(name));
    const bytes = files.get(name);
    const body = bytes === undefined ? undefined : openFrame(bytes, entry, entry.part.epoch.key);
    if (body === undefined || body.ord !== entry.ord) {
      ctx.logger.warn('store: record unreadable, skipped');
      continue;
    }
    out.push(toStoredRecord(body, entry.expiresAt));
  }
  return out;
}
