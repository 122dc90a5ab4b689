import type { RecordFacts } from '../../agent/store/index.js';
import { recordKey, type StoreSnapshot } from '../verdicts/evidence.js';

type SnapshotRow = StoreSnapshot['records'][number] & { id: string; queued: boolean };
type RowCache = Map<string, Map<number, { row: SnapshotRow; transmit: boolean }>>;

const sameFacts = (old: { row: SnapshotRow; transmit: boolean }, r: RecordFacts): boolean =>
  old.transmit === r.transmit && old.row.category === r.category && old.row.at === r.at && old.row.expiresAt === r.expiresAt;

/** `delivered`: `deviceId|recordKey` of every reading the collector delivered so far. */
function newRow(deviceId: string, r: RecordFacts, delivered: ReadonlySet<string>): SnapshotRow {
  const id = recordKey(r.id);
  return { id, category: r.category, at: r.at, expiresAt: r.expiresAt, queued: r.transmit && !delivered.has(`${deviceId}|${id}`) };
}

/** The rows of the store samples, each device's previous sample kept to share unchanged rows (see rows). */
export class StoreSamples {
  private readonly lastRows = new Map<string, RowCache>();

  /**
   * One snapshot row per stored record. A record that is still stored with the same facts as at the previous sample
   * shares that sample's row object (rows are read-only evidence): a 30-day run holds each record in a dozen samples,
   * and a fresh object per sample made the garbage collector the largest single cost of the run.
   */
  rows(deviceId: string, records: readonly RecordFacts[], delivered: ReadonlySet<string>): SnapshotRow[] {
    const previous = this.lastRows.get(deviceId);
    const current: RowCache = new Map();
    const rows: SnapshotRow[] = [];
    for (const r of records) {
      let bySeq = current.get(r.id.session);
      if (bySeq === undefined) current.set(r.id.session, (bySeq = new Map()));
      const old = previous?.get(r.id.session)?.get(r.id.seq);
      // A queued row is reused only while the record is still undelivered; a delivered one never becomes queued again.
      const row = old !== undefined && sameFacts(old, r) && !(old.row.queued && delivered.has(`${deviceId}|${old.row.id}`))
        ? old.row
        : newRow(deviceId, r, delivered);
      bySeq.set(r.id.seq, { row, transmit: r.transmit });
      rows.push(row);
    }
    this.lastRows.set(deviceId, current);
    return rows;
  }
}
