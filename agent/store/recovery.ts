import { scanAcks } from './ack-log.js';
import { baseName, parseSegmentBase, type StoreContext } from './context.js';
import { openFrame, scanSegment, type FrameSpan } from './frames.js';
import { categoryTag, loadKeyFile, type EpochKey } from './sealed-files.js';
import { checkRollback } from './rollback.js';
import { epochKeyOf, newPart, type EpochState, type Entry, type Part } from './store-index.js';

/**
 * Rebuilds the index from disk at open. The rules (docs/storage.md, "Recovery"):
 * - a torn tail (a write cut short) is cut; damage with good data after it quarantines a copy of the segment
 *   and keeps the good frames before the damage;
 * - with a readable key file, a segment without a key is garbage left by a crash between "destroy key" and
 *   "delete segment" (or an unfinished rewrite) and is deleted: its key is gone, nothing can read it;
 * - with the key file missing or unreadable, every segment is unreadable: all are quarantined, loudly, and the
 *   store starts empty rather than refusing to start (no crash loop).
 */
export async function recover(ctx: StoreContext): Promise<void> {
  const { storage, names, logger } = ctx;
  let keyState = await loadKeyFile(storage, names.keyFile, ctx.secrets);
  let segments = await storage.list(names.segPrefix);
  const rolledBack = await checkRollback(ctx, keyState);
  if (rolledBack !== undefined) {
    // An old copy of the flash was put back: what it holds was erased or shredded since. Erase wins.
    logger.error('store key file is older than the rollback counter; it and every segment are deleted', { ...rolledBack, segments: segments.length });
    for (const name of segments) await storage.remove(name);
    await storage.remove(names.keyFile);
    ctx.onRollback?.({ ...rolledBack, removedSegments: segments.length });
    keyState = { status: 'missing' };
    segments = [];
  }
  let keys: EpochKey[] = [];
  if (keyState.status === 'ok') keys = keyState.keys;
  else {
    if (keyState.status === 'corrupt') {
      logger.error('store key file unreadable; quarantined, starting with no keys');
      await quarantine(ctx, names.keyFile, undefined);
      await storage.remove(names.keyFile);
    }
    if (segments.length > 0) {
      logger.error('store key file missing; segments are unreadable and quarantined', { segments: segments.length });
      for (const name of segments) await quarantineAndRemove(ctx, name);
    }
  }
  const byPrefix = registerEpochs(ctx, keys);
  const byOrd = new Map<number, Entry>();
  if (keyState.status === 'ok') {
    for (const name of segments) await loadSegment(ctx, name, byPrefix, byOrd);
  }
  await loadAcks(ctx, byOrd);
  let maxOrd = -1;
  let maxSeq = -1;
  for (const entry of byOrd.values()) {
    maxOrd = Math.max(maxOrd, entry.ord);
    if (entry.session === ctx.sessionId) maxSeq = Math.max(maxSeq, entry.seq);
  }
  ctx.nextOrd = Math.max(ctx.nextOrd, maxOrd + 1);
  ctx.nextSeq = maxSeq + 1;
  ctx.index.sortQueue();
  ctx.hasQuarantine = (await storage.list(names.quarantinePrefix)).length > 0;
}

function registerEpochs(ctx: StoreContext, keys: EpochKey[]): Map<string, EpochState> {
  const byPrefix = new Map<string, EpochState>();
  for (const key of keys) {
    ctx.nextGen = Math.max(ctx.nextGen, key.gen + 1);
    const existing = ctx.index.epochs.get(epochKeyOf(key.category, key.epoch));
    if (existing !== undefined && existing.gen >= key.gen) continue;
    const state: EpochState = { ...key, tag: categoryTag(ctx.secrets, key.category), parts: [] };
    ctx.index.epochs.set(epochKeyOf(key.category, key.epoch), state);
    byPrefix.set(`${state.tag}.${state.epoch}.${state.gen}`, state);
  }
  return byPrefix;
}

async function loadSegment(ctx: StoreContext, name: string, byPrefix: Map<string, EpochState>, byOrd: Map<number, Entry>): Promise<void> {
  const parsed = parseSegmentBase(baseName(name));
  if (parsed === undefined) {
    ctx.logger.warn('store: foreign file in segment directory quarantined');
    await quarantineAndRemove(ctx, name);
    return;
  }
  ctx.nextGen = Math.max(ctx.nextGen, parsed.gen + 1);
  const epoch = byPrefix.get(`${parsed.tag}.${parsed.epoch}.${parsed.gen}`);
  if (epoch === undefined) {
    await ctx.storage.remove(name); // key already destroyed: shredded leftovers
    return;
  }
  const bytes = (await ctx.storage.read(name)) ?? new Uint8Array(0);
  const scan = scanSegment(bytes);
  const part = newPart(name, parsed.part, epoch);
  let good = 0;
  let damaged = scan.status === 'corrupt';
  for (const span of scan.frames) {
    const entry = openEntry(ctx, bytes, span, part);
    if (entry === undefined) {
      damaged = true;
      break;
    }
    good = span.offset + span.length;
    if (byOrd.has(entry.ord)) continue; // the same record twice is never served twice
    byOrd.set(entry.ord, entry);
    ctx.index.addEntry(entry);
  }
  if (!damaged && scan.status === 'torn') {
    ctx.logger.warn('store: torn segment tail cut', { bytes: bytes.length - good });
    await ctx.storage.truncate(name, good);
  } else if (damaged) {
    ctx.logger.error('store: damaged segment quarantined; frames before the damage kept', { kept: part.entries.length });
    await quarantine(ctx, name, bytes);
    if (good === 0) await ctx.storage.remove(name);
    else await ctx.storage.writeAtomic(name, bytes.slice(0, good));
  }
  if (good === 0 && part.entries.length === 0) {
    if (!damaged) await ctx.storage.remove(name);
    return;
  }
  part.bytes = good;
  ctx.index.bytes += good;
  epoch.parts.push(part);
  epoch.parts.sort((a, b) => a.number - b.number);
}

function openEntry(ctx: StoreContext, bytes: Uint8Array, span: FrameSpan, part: Part): Entry | undefined {
  const body = openFrame(bytes, span, part.epoch.key);
  if (body === undefined || body.category !== part.epoch.category) return undefined;
  return {
    ord: body.ord, session: body.session, seq: body.seq, category: body.category, at: body.at,
    expiresAt: body.expiresAt, transmit: body.transmit, essential: body.essential,
    acked: false, part, offset: span.offset, length: span.length,
  };
}

async function loadAcks(ctx: StoreContext, byOrd: Map<number, Entry>): Promise<void> {
  const bytes = await ctx.storage.read(ctx.names.ackFile);
  if (bytes === undefined) return;
  const scan = scanAcks(bytes);
  if (scan.goodLength !== bytes.length) await ctx.storage.truncate(ctx.names.ackFile, scan.goodLength);
  if (scan.badEntries > 0) ctx.logger.warn('store: damaged ack entries skipped (records may be resent)', { entries: scan.badEntries });
  for (const ord of scan.ords) {
    const entry = byOrd.get(ord);
    if (entry !== undefined) ctx.index.markAcked(entry);
    ctx.nextOrd = Math.max(ctx.nextOrd, ord + 1);
  }
  ctx.ackEntries = scan.ords.length;
}

/** Keep a copy of a file we cannot use, named with the time, for `quarantineKeepMs` or until its epoch ends. */
export async function quarantine(ctx: StoreContext, name: string, bytes: Uint8Array | undefined): Promise<void> {
  const content = bytes ?? (await ctx.storage.read(name));
  if (content === undefined) return;
  const stamp = Math.max(0, Math.floor(ctx.clock.now()));
  await ctx.storage.writeAtomic(`${ctx.names.quarantinePrefix}${stamp}.${baseName(name)}`, content);
  ctx.counters.quarantined++;
  ctx.hasQuarantine = true;
}

async function quarantineAndRemove(ctx: StoreContext, name: string): Promise<void> {
  await quarantine(ctx, name, undefined);
  await ctx.storage.remove(name);
}
