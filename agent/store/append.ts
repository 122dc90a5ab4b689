import { TrustError, isTrustError } from '../errors.js';
import type { StoreContext } from './context.js';
import type { StoredRecord } from './contract.js';
import type { GateOutput } from '../policy/contract.js';
import { categoryTag, newDataKey } from './sealed-files.js';
import { evictOverflow } from './maintenance.js';
import { persistKeyFile } from './rollback.js';
import { epochKeyOf, type EpochState } from './store-index.js';
import { writeRecords, type PendingRecord } from './writer.js';

/**
 * The write half of `append` (runs under the store mutex): validate everything first (bad input changes
 * nothing), drop what is already expired, make new epoch keys durable BEFORE any record sealed under them,
 * then write the frames. The caller commits the touched files before resolving.
 */
export async function prepareAppend(ctx: StoreContext, outputs: readonly GateOutput[]): Promise<{ stored: StoredRecord[]; touched: string[] }> {
  if (!Array.isArray(outputs)) throw new TrustError('INVALID_ARGUMENT', 'outputs must be an array');
  outputs.forEach(checkOutput);
  const now = ctx.clock.now();
  const fresh: EpochState[] = [];
  const pending: PendingRecord[] = [];
  const stored: StoredRecord[] = [];
  for (const output of outputs) {
    if (output.expiresAt <= now) {
      ctx.counters.expired++;
      if (output.transmit) ctx.counters.expiredUnsent++;
      continue;
    }
    const epoch = epochFor(ctx, output.category, Math.ceil(output.expiresAt / ctx.epochMs), fresh);
    const id = { session: ctx.sessionId, seq: ctx.nextSeq++ };
    const body = {
      ord: ctx.nextOrd++, session: id.session, seq: id.seq, category: output.category, at: output.at,
      expiresAt: output.expiresAt, transmit: output.transmit, essential: output.essential, data: output.data,
    };
    pending.push({ body, epoch, acked: false });
    ctx.outbox.remember(body);
    stored.push({ id, category: body.category, at: body.at, data: body.data, expiresAt: body.expiresAt, transmit: body.transmit, essential: body.essential });
  }
  if (fresh.length > 0) {
    for (const epoch of fresh) ctx.index.epochs.set(epochKeyOf(epoch.category, epoch.epoch), epoch);
    try {
      await persistKeyFile(ctx);
    } catch (cause) {
      for (const epoch of fresh) ctx.index.epochs.delete(epochKeyOf(epoch.category, epoch.epoch));
      throw new TrustError('STORAGE', 'key file write failed', { cause });
    }
  }
  const touched = await writeRecords(ctx, pending);
  return { stored, touched };
}

/**
 * A full flash follows the overflow rule (docs/storage.md, "Overflow rule"): when an append finds no room
 * (STORE_FULL), the part the rule would drop next goes (oldest first, parts with essential records last) and the
 * append is tried again, until it fits or nothing is left to drop. Only when the failed attempt stored nothing:
 * a call that stored some records before the flash filled rejects as before ("maybe stored").
 */
export async function appendMakingRoom(ctx: StoreContext, outputs: readonly GateOutput[]): Promise<{ stored: StoredRecord[]; touched: string[] }> {
  for (;;) {
    const before = ctx.index.records;
    try {
      return await prepareAppend(ctx, outputs);
    } catch (error) {
      if (!isFull(error) || ctx.index.records !== before || before === 0) throw error;
      await evictOverflow(ctx, { maxRecords: before - 1, maxBytes: Number.POSITIVE_INFINITY });
      if (ctx.index.records >= before) throw error;
      ctx.logger.warn('store: flash full; dropped the oldest part by the overflow rule', { dropped: before - ctx.index.records });
    }
  }
}

function isFull(error: unknown): boolean {
  return isTrustError(error, 'STORE_FULL') || (isTrustError(error) && isTrustError((error as { cause?: unknown }).cause, 'STORE_FULL'));
}

function epochFor(ctx: StoreContext, category: string, epoch: number, fresh: EpochState[]): EpochState {
  const existing = ctx.index.epochs.get(epochKeyOf(category, epoch)) ?? fresh.find((e) => e.category === category && e.epoch === epoch);
  if (existing !== undefined) return existing;
  const state: EpochState = { category, epoch, gen: ctx.nextGen++, key: newDataKey(ctx.random), tag: categoryTag(ctx.secrets, category), parts: [] };
  fresh.push(state);
  return state;
}

function checkOutput(output: GateOutput, index: number): void {
  const where = `outputs[${index}]`;
  if (output === null || typeof output !== 'object') throw new TrustError('INVALID_ARGUMENT', `${where} must be an object`);
  if (typeof output.category !== 'string' || output.category.length === 0 || output.category.length > 128) {
    throw new TrustError('INVALID_ARGUMENT', `${where}.category must be a non-empty string`);
  }
  if (!Number.isFinite(output.at) || !Number.isFinite(output.expiresAt)) {
    throw new TrustError('INVALID_ARGUMENT', `${where}.at and expiresAt must be finite numbers`);
  }
  if (typeof output.transmit !== 'boolean' || typeof output.essential !== 'boolean') {
    throw new TrustError('INVALID_ARGUMENT', `${where}.transmit and essential must be booleans`);
  }
  if (output.data === null || typeof output.data !== 'object' || Array.isArray(output.data)) {
    throw new TrustError('INVALID_ARGUMENT', `${where}.data must be a plain object`);
  }
  if (!plainData(output.data, 0)) {
    throw new TrustError('INVALID_ARGUMENT', `${where}.data must be plain values nested at most ${MAX_DATA_DEPTH} deep`);
  }
}

/** What the store can seal and read back unchanged; anything else would come back unreadable after a reboot. */
const MAX_DATA_DEPTH = 6;

function plainData(value: unknown, depth: number): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (value instanceof Uint8Array) return true;
  if (typeof value !== 'object' || depth >= MAX_DATA_DEPTH) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (Array.isArray(value)) return value.every((item) => plainData(item, depth + 1));
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(value).every((item) => plainData(item, depth + 1));
}
