import { TrustError } from '../errors.js';
import type { StoragePort } from '../ports/storage.js';
import { concatBytes } from '../codec/bytes.js';
import { encodeFrame, type AuditCheckpoint, type AuditEntry, type Frame, type TrailBase } from './format.js';
import { checkTrail } from './verify.js';

/** The audit log on storage: opening (with torn-tail and corruption handling) and whole-log serialisation. */
export interface State {
  base: TrailBase | undefined;
  entries: AuditEntry[];
  checkpoints: AuditCheckpoint[];
  /** A checkpoint signed by an export and not yet written. */
  unpersisted: AuditCheckpoint | undefined;
  fileLength: number;
}

/** What an open found when the log did not chain: where it broke, and where the damaged bytes were kept. */
export interface CorruptTrail {
  kind: string;
  index: number;
  detail: string;
  /** Storage name of the preserved copy. */
  preservedAs: string;
}

export interface OpenedLog {
  state: State;
  torn: boolean;
  headerPublicKey: Uint8Array;
  corrupt: CorruptTrail | undefined;
}

/** Frames in trail order: each checkpoint right after the entry it covers. */
export function serialize(headerPublicKey: Uint8Array, base: TrailBase | undefined, entries: readonly AuditEntry[], checkpoints: readonly AuditCheckpoint[]): Uint8Array {
  const frames: Frame[] = [{ kind: 'header', publicKey: headerPublicKey }];
  const byIndex = new Map<number, AuditCheckpoint[]>();
  for (const cp of checkpoints) byIndex.set(cp.index, [...(byIndex.get(cp.index) ?? []), cp]);
  const pushCheckpoints = (index: number): void => {
    for (const checkpoint of byIndex.get(index) ?? []) frames.push({ kind: 'checkpoint', checkpoint });
  };
  if (base !== undefined) {
    frames.push({ kind: 'base', base });
    pushCheckpoints(base.index);
  }
  for (const entry of entries) {
    frames.push({ kind: 'entry', entry });
    pushCheckpoints(entry.index);
  }
  return concatBytes(frames.map(encodeFrame));
}

export async function openLog(storage: StoragePort, fileName: string, signPublicKey: Uint8Array, recover: { now: number } | undefined): Promise<OpenedLog> {
  const bytes = await storage.read(fileName);
  if (bytes === undefined || bytes.length === 0) {
    return { ...(await freshLog(storage, fileName, signPublicKey)), corrupt: undefined };
  }
  // Signatures are the verifier's job; at start the device only needs an intact chain to append to.
  const checked = checkTrail(bytes, { keys: undefined, requireSignedHead: false, allowTornTail: true });
  const problem = checked.result.firstBreak;
  if (problem !== undefined) {
    const message = `audit trail is ${problem.kind} from entry ${problem.index}: ${problem.detail}`;
    if (recover === undefined) throw new TrustError('CORRUPT', message);
    // Keep the damaged bytes as evidence, byte for byte, and start a new chain: never repair or truncate evidence.
    const preservedAs = `${fileName}.corrupt-${recover.now}`;
    await storage.writeAtomic(preservedAs, bytes);
    const fresh = await freshLog(storage, fileName, signPublicKey);
    return { ...fresh, corrupt: { kind: problem.kind, index: problem.index, detail: problem.detail, preservedAs } };
  }
  const fileLength = checked.tornAt ?? bytes.length;
  if (checked.tornAt !== undefined) await storage.truncate(fileName, checked.tornAt);
  const state: State = { base: checked.base, entries: checked.entries, checkpoints: checked.checkpoints, unpersisted: undefined, fileLength };
  return { state, torn: checked.tornAt !== undefined, headerPublicKey: checked.headerPublicKey ?? signPublicKey, corrupt: undefined };
}

async function freshLog(storage: StoragePort, fileName: string, signPublicKey: Uint8Array): Promise<Omit<OpenedLog, 'corrupt'>> {
  const header = encodeFrame({ kind: 'header', publicKey: signPublicKey });
  await storage.writeAtomic(fileName, header);
  const state: State = { base: undefined, entries: [], checkpoints: [], unpersisted: undefined, fileLength: header.length };
  return { state, torn: false, headerPublicKey: signPublicKey };
}
