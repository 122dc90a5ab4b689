import { TrustError, isTrustError } from '../errors.js';
import { segmentName, type StoreContext } from './context.js';
import { sealFrame, type RecordBody } from './frames.js';
import { newPart, type Entry, type EpochState, type Part } from './store-index.js';

export interface PendingRecord {
  body: RecordBody;
  epoch: EpochState;
  acked: boolean;
}

interface PartBatch {
  part: Part;
  isNew: boolean;
  chunks: Uint8Array[];
  length: number;
  entries: Entry[];
}

/**
 * Seal records into the current part of their epoch (a new part once it reaches `segmentBytes`), one append
 * per part. Entries join the index only after their bytes were handed to storage. Returns the touched names,
 * which the caller must commit before telling anyone the records are stored.
 */
export type Admit = (entries: readonly Entry[], bytes: number) => void;

export async function writeRecords(ctx: StoreContext, records: readonly PendingRecord[], admit?: Admit): Promise<string[]> {
  const admitEntries: Admit = admit ?? ((entries, bytes) => {
    ctx.index.bytes += bytes;
    for (const entry of entries) ctx.index.addEntry(entry);
  });
  const batches = new Map<Part, PartBatch>();
  for (const record of records) {
    const batch = batchFor(ctx, record.epoch, batches);
    const frame = sealFrame(record.body, record.epoch.key, ctx.nonces);
    const b = record.body;
    batch.entries.push({
      ord: b.ord, session: b.session, seq: b.seq, category: b.category, at: b.at, expiresAt: b.expiresAt,
      transmit: b.transmit, essential: b.essential, acked: record.acked,
      part: batch.part, offset: batch.part.bytes + batch.length, length: frame.length,
    });
    batch.chunks.push(frame);
    batch.length += frame.length;
  }
  const touched: string[] = [];
  const written: Entry[] = [];
  let bytes = 0;
  try {
    for (const batch of batches.values()) {
      await appendBatch(ctx, batch);
      touched.push(batch.part.name);
      written.push(...batch.entries);
      bytes += batch.length;
    }
  } finally {
    // Admit in ord order (batches go part by part) so the queue stays sorted without re-sorting.
    admitEntries(written.sort((a, b) => a.ord - b.ord), bytes);
  }
  return touched;
}

function batchFor(ctx: StoreContext, epoch: EpochState, batches: Map<Part, PartBatch>): PartBatch {
  const last = epoch.parts[epoch.parts.length - 1];
  if (last !== undefined && !last.gone) {
    const pending = batches.get(last);
    const size = last.bytes + (pending?.length ?? 0);
    if (size < ctx.segmentBytes) {
      if (pending !== undefined) return pending;
      const batch: PartBatch = { part: last, isNew: false, chunks: [], length: 0, entries: [] };
      batches.set(last, batch);
      return batch;
    }
  }
  const number = last === undefined ? 0 : last.number + 1;
  const part = newPart(segmentName(ctx.names, epoch.tag, epoch.epoch, epoch.gen, number), number, epoch);
  epoch.parts.push(part);
  const batch: PartBatch = { part, isNew: true, chunks: [], length: 0, entries: [] };
  batches.set(part, batch);
  return batch;
}

/** No space left, a file-size limit, a quota: the flash cannot take these bytes. */
const FULL_CODES = ['ENOSPC', 'EFBIG', 'EDQUOT'];

async function appendBatch(ctx: StoreContext, batch: PartBatch): Promise<void> {
  const data = batch.chunks.length === 1 && batch.chunks[0] !== undefined ? batch.chunks[0] : concatChunks(batch);
  try {
    await ctx.storage.append(batch.part.name, data);
  } catch (cause) {
    await undoPartial(ctx, batch);
    if (isTrustError(cause, 'STORE_FULL')) throw cause;
    const full = FULL_CODES.includes(String((cause as { code?: unknown } | null)?.code));
    throw new TrustError(full ? 'STORE_FULL' : 'STORAGE', full ? 'storage is full' : 'segment append failed', { cause });
  }
  batch.part.bytes += batch.length;
}

/** One append per part: a single frame goes as it is, several are joined. */
function concatChunks(batch: PartBatch): Uint8Array {
  const data = new Uint8Array(batch.length);
  let at = 0;
  for (const chunk of batch.chunks) {
    data.set(chunk, at);
    at += chunk.length;
  }
  return data;
}

/** A failed append may have left part of a frame behind; cut it so later frames do not follow garbage. */
async function undoPartial(ctx: StoreContext, batch: PartBatch): Promise<void> {
  try {
    if (batch.isNew) {
      await ctx.storage.remove(batch.part.name);
      const parts = batch.part.epoch.parts;
      parts.splice(parts.indexOf(batch.part), 1);
    } else await ctx.storage.truncate(batch.part.name, batch.part.bytes);
  } catch {
    ctx.logger.error('store: could not undo a failed append; the next open will cut the torn tail');
  }
}
