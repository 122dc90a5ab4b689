import { asRecord, decodeCbor, encodeCbor, fieldBytes, fieldString, fieldUint } from './codec/cbor.js';
import { isTrustError, TrustError } from './errors.js';
import { decodePreferences, encodePreferences, type PreferenceState, type PurgeOrder } from './policy/index.js';
import type { StoragePort } from './ports/index.js';
import type { RecordId } from './store/index.js';

/**
 * The owner-request journal (write-ahead intent). An owner request that changes anything is first written here whole:
 * the preferences it puts in force, the purges it needs (each bounded to what was stored before it), whether it erases
 * everything. Every step after that is idempotent, and the file is removed only when all of them have finished; a
 * request interrupted by a storage fault is completed from this file at the next owner request or at boot. The
 * file is written with `writeAtomic`: after a power cut it holds the whole intent or none.
 */
export const INTENT_FILE = 'owner/intent.cbor';

export type IntentAction =
  | 'owner-change' | 'owner-reset' | 'manifest-reviewed' | 'consent-accepted' | 'policy-update' | 'erase-all' | 'erase-category';

export interface RegistryUpdateFacts {
  registryVersion: number;
  widened: number;
  narrowed: number;
  awaitingConsent: number;
}

export interface Intent {
  action: IntentAction;
  /** The preference version before the request: what the device reports until the request is complete. */
  baseVersion: number;
  /** The preferences in force after the request; absent when it changes none (erase-category). */
  target?: PreferenceState;
  purges: PurgeOrder[];
  /** Erase every record stored before `mark` (erase-all). */
  eraseAll: boolean;
  /** The store's next record id when the request was journaled. */
  mark: RecordId;
  /** Categories whose plan the request changes (for the trail). */
  changed: number;
  /** For the trail entry of a registry update. */
  update?: RegistryUpdateFacts;
}

const ACTIONS: readonly IntentAction[] = ['owner-change', 'owner-reset', 'manifest-reviewed', 'consent-accepted', 'policy-update', 'erase-all', 'erase-category'];

export async function saveIntent(storage: StoragePort, intent: Intent): Promise<void> {
  await storage.writeAtomic(INTENT_FILE, encodeIntent(intent));
}

export async function clearIntent(storage: StoragePort): Promise<void> {
  await storage.remove(INTENT_FILE);
}

/** undefined: no request is unfinished. 'corrupt': the file does not read back (the caller decides; see docs/storage.md). */
export async function loadIntent(storage: StoragePort): Promise<Intent | undefined | 'corrupt'> {
  const bytes = await storage.read(INTENT_FILE);
  if (bytes === undefined) return undefined;
  try {
    return decodeIntent(bytes);
  } catch (error) {
    if (isTrustError(error)) return 'corrupt';
    throw error;
  }
}

export function encodeIntent(intent: Intent): Uint8Array {
  return encodeCbor({
    v: 1, action: intent.action, base: intent.baseVersion, purges: intent.purges.map(encodeOrder), eraseAll: intent.eraseAll,
    mark: [intent.mark.session, intent.mark.seq], changed: intent.changed,
    ...(intent.target === undefined ? {} : { target: encodePreferences(intent.target) }),
    ...(intent.update === undefined ? {} : { update: intent.update }),
  });
}

export function decodeIntent(bytes: Uint8Array): Intent {
  const top = asRecord(decodeCbor(bytes, { maxBytes: 512 * 1024, maxDepth: 8 }), 'intent');
  if (top['v'] !== 1) throw new TrustError('CORRUPT', 'intent: unknown format');
  const action = fieldString(top, 'action', 32) as IntentAction;
  if (!ACTIONS.includes(action)) throw new TrustError('CORRUPT', 'intent: unknown action');
  const purges = top['purges'];
  if (!Array.isArray(purges) || purges.length > 256) throw new TrustError('CORRUPT', 'intent: purges must be a list');
  if (typeof top['eraseAll'] !== 'boolean') throw new TrustError('CORRUPT', 'intent: eraseAll must be a boolean');
  const intent: Intent = {
    action, baseVersion: fieldUint(top, 'base'), purges: purges.map(decodeOrder), eraseAll: top['eraseAll'], mark: decodeId(top['mark']),
    changed: fieldUint(top, 'changed'),
  };
  if (top['target'] !== undefined) intent.target = decodePreferences(fieldBytes(top, 'target', undefined, 256 * 1024));
  if (top['update'] !== undefined) {
    const u = asRecord(top['update'], 'intent.update');
    intent.update = {
      registryVersion: fieldUint(u, 'registryVersion'), widened: fieldUint(u, 'widened'), narrowed: fieldUint(u, 'narrowed'),
      awaitingConsent: fieldUint(u, 'awaitingConsent'),
    };
  }
  return intent;
}

function encodeOrder(order: PurgeOrder): Record<string, unknown> {
  return {
    c: order.category, s: order.scope, r: order.reason,
    ...(order.maxAgeMs === undefined ? {} : { m: order.maxAgeMs }),
    ...(order.before === undefined ? {} : { b: [order.before.session, order.before.seq] }),
  };
}

function decodeOrder(raw: unknown): PurgeOrder {
  const o = asRecord(raw, 'intent.purge');
  const scope = o['s'];
  const reason = o['r'];
  if (scope !== 'all' && scope !== 'queued') throw new TrustError('CORRUPT', 'intent.purge: unknown scope');
  if (reason !== 'withdrawn' && reason !== 'narrowed' && reason !== 'retention' && reason !== 'erase') {
    throw new TrustError('CORRUPT', 'intent.purge: unknown reason');
  }
  const order: PurgeOrder = { category: fieldString(o, 'c', 64), scope, reason };
  if (o['m'] !== undefined) order.maxAgeMs = fieldUint(o, 'm');
  if (o['b'] !== undefined) order.before = decodeId(o['b']);
  return order;
}

function decodeId(raw: unknown): RecordId {
  if (!Array.isArray(raw) || raw.length !== 2) throw new TrustError('CORRUPT', 'intent: a record id must be [session, seq]');
  const [session, seq] = raw as [unknown, unknown];
  if (typeof session !== 'string' || !/^[0-9a-f]{1,64}$/.test(session) || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    throw new TrustError('CORRUPT', 'intent: a record id must be [session, seq]');
  }
  return { session, seq };
}
