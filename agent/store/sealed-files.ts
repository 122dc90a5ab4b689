import nacl from 'tweetnacl';
import { keyMaterial, type RandomSource } from '../crypto/random.js';
import { decodeCbor, encodeCbor } from '../codec/cbor.js';
import { utf8Encode } from '../codec/utf8.js';
import { toHex } from '../crypto/keys.js';
import { TrustError } from '../errors.js';
import type { StoragePort } from '../ports/storage.js';
import { concatBytes } from '../codec/bytes.js';

/**
 * The small sealed files of the store: the key file (every live data key) and the time file (the trusted-time
 * high-water mark). Both are secretbox-sealed under sub-keys of the master key and replaced with writeAtomic,
 * so a crash leaves the old or the new version, never a mix.
 */
export interface StoreSecrets {
  keyFileKey: Uint8Array;
  timeFileKey: Uint8Array;
  /** Salts category tags in file names so names do not reveal which categories a device records. */
  nameKey: Uint8Array;
}

export interface EpochKey {
  category: string;
  /** Expiry epoch: every record under this key expires at or before `epoch * epochMs`. */
  epoch: number;
  /** Bumped when a category is rewritten (narrowed retention, queued purge): old generations are shredded. */
  gen: number;
  key: Uint8Array;
}

/** `version`: the rollback counter value the file was written under (0 for files written without one). */
export type KeyFileState = { status: 'ok'; keys: EpochKey[]; version: number } | { status: 'missing' } | { status: 'corrupt' };

const KEY_FILE_LIMITS = { maxBytes: 16 * 1024 * 1024, maxDepth: 4 };

export function deriveSecrets(masterKey: Uint8Array): StoreSecrets {
  const derive = (label: string): Uint8Array =>
    nacl.hash(concatBytes([utf8Encode(`iot-trust-agent/store/${label}`), masterKey])).slice(0, 32);
  return { keyFileKey: derive('keyfile'), timeFileKey: derive('time'), nameKey: derive('names') };
}

export function categoryTag(secrets: StoreSecrets, category: string): string {
  return toHex(nacl.hash(concatBytes([secrets.nameKey, utf8Encode(category)])).subarray(0, 8));
}

export function sealValue(key: Uint8Array, value: unknown, random: RandomSource): Uint8Array {
  const nonce = random.bytes(nacl.secretbox.nonceLength);
  return concatBytes([nonce, nacl.secretbox(encodeCbor(value), nonce, key)]);
}

/** Undefined when the bytes are not a box under this key (corrupt, truncated, or another key). */
export function openValue(key: Uint8Array, sealed: Uint8Array, limits = KEY_FILE_LIMITS): unknown {
  if (sealed.length < nacl.secretbox.nonceLength + nacl.secretbox.overheadLength) return undefined;
  const plain = nacl.secretbox.open(sealed.subarray(nacl.secretbox.nonceLength), sealed.subarray(0, nacl.secretbox.nonceLength), key);
  if (plain === null) return undefined;
  try {
    return decodeCbor(plain, limits);
  } catch {
    return undefined;
  }
}

export async function loadKeyFile(storage: StoragePort, name: string, secrets: StoreSecrets): Promise<KeyFileState> {
  const bytes = await storage.read(name);
  if (bytes === undefined) return { status: 'missing' };
  const value = openValue(secrets.keyFileKey, bytes);
  const keys = parseKeys(value);
  const version = (value as { c?: unknown } | undefined)?.c ?? 0;
  if (keys === undefined || !Number.isSafeInteger(version)) return { status: 'corrupt' };
  return { status: 'ok', keys, version: version as number };
}

function parseKeys(value: unknown): EpochKey[] | undefined {
  if (value === null || typeof value !== 'object' || (value as { v?: unknown }).v !== 1) return undefined;
  const list = (value as { k?: unknown }).k;
  if (!Array.isArray(list)) return undefined;
  const keys: EpochKey[] = [];
  for (const item of list) {
    if (!Array.isArray(item) || item.length !== 4) return undefined;
    const [category, epoch, gen, key] = item as unknown[];
    if (typeof category !== 'string' || !Number.isSafeInteger(epoch) || !Number.isSafeInteger(gen)) return undefined;
    if (!(key instanceof Uint8Array) || key.length !== 32) return undefined;
    keys.push({ category, epoch: epoch as number, gen: gen as number, key: Uint8Array.from(key) });
  }
  return keys;
}

export async function saveKeyFile(
  storage: StoragePort, name: string, secrets: StoreSecrets, keys: Iterable<EpochKey>, random: RandomSource, version: number,
): Promise<void> {
  const list = [...keys].map((k) => [k.category, k.epoch, k.gen, k.key]);
  await storage.writeAtomic(name, sealValue(secrets.keyFileKey, { v: 1, k: list, c: version }, random));
}

export async function loadHighWater(storage: StoragePort, name: string, secrets: StoreSecrets): Promise<number | undefined> {
  const bytes = await storage.read(name);
  if (bytes === undefined) return undefined;
  const value = openValue(secrets.timeFileKey, bytes);
  const hw = value !== null && typeof value === 'object' ? (value as { hw?: unknown }).hw : undefined;
  // An unreadable time file only loses the backwards-clock guard for this boot; it never blocks start.
  return typeof hw === 'number' && Number.isFinite(hw) ? hw : undefined;
}

export async function saveHighWater(storage: StoragePort, name: string, secrets: StoreSecrets, highWater: number, random: RandomSource): Promise<void> {
  await storage.writeAtomic(name, sealValue(secrets.timeFileKey, { v: 1, hw: highWater }, random));
}

/** A data key is key generation: the source is probed first (NO_ENTROPY on a dead or stuck port). */
export function newDataKey(random: RandomSource): Uint8Array {
  return keyMaterial(random, nacl.secretbox.keyLength);
}
