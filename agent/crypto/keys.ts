import nacl from 'tweetnacl';
import { boxKeyPair, hostRandom, signKeyPair, type RandomSource } from './random.js';
import { encodeCbor, decodeCbor, asRecord, fieldBytes } from '../codec/cbor.js';
import { TrustError } from '../errors.js';
import type { StoragePort } from '../ports/storage.js';
import { primitives } from './primitives.js';

export const KEY_ID_LENGTH = 8;

/** A key id is the first 8 bytes of SHA-512 of the public key: short on the wire, stable, not secret. */
export function keyId(publicKey: Uint8Array): Uint8Array {
  return nacl.hash(publicKey).subarray(0, KEY_ID_LENGTH).slice();
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

export function fromHex(hex: string, name = 'hex'): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TrustError('INVALID_ARGUMENT', `${name} must be an even-length hex string`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** The device's long-term identity: X25519 for sealing telemetry, Ed25519 for signing what it publishes. */
export interface DeviceIdentity {
  boxPublicKey: Uint8Array;
  boxSecretKey: Uint8Array;
  signPublicKey: Uint8Array;
  signSecretKey: Uint8Array;
  boxKeyId: Uint8Array;
  signKeyId: Uint8Array;
}

export const IDENTITY_FILE = 'identity.key';

/** New device keys from `random` (probed first: a dead or stuck source is NO_ENTROPY, never a weak identity). */
export function generateIdentity(random: RandomSource = hostRandom): DeviceIdentity {
  const box = boxKeyPair(random);
  const sign = signKeyPair(random);
  return identityFrom(box.secretKey, sign.secretKey);
}

function identityFrom(boxSecretKey: Uint8Array, signSecretKey: Uint8Array): DeviceIdentity {
  // Copies, as tweetnacl's fromSecretKey made them: the identity never shares memory with the decoded file.
  const boxPublicKey = primitives().scalarMultBase(boxSecretKey);
  const signPublicKey = signSecretKey.slice(32);
  return {
    boxPublicKey,
    boxSecretKey: boxSecretKey.slice(),
    signPublicKey,
    signSecretKey: signSecretKey.slice(),
    boxKeyId: keyId(boxPublicKey),
    signKeyId: keyId(signPublicKey),
  };
}

/**
 * Load the identity, or create and persist it on first start. Returns `created: true` the first time so the
 * caller can audit key generation. A corrupt identity file is an error, never silently replaced: replacing it
 * would orphan the owner pairing and every sealed record.
 */
export async function loadOrCreateIdentity(storage: StoragePort, random: RandomSource = hostRandom): Promise<{ identity: DeviceIdentity; created: boolean }> {
  const stored = await storage.read(IDENTITY_FILE);
  if (stored !== undefined) return { identity: decodeIdentity(stored), created: false };
  const identity = generateIdentity(random);
  await saveIdentity(storage, identity);
  return { identity, created: true };
}

export async function saveIdentity(storage: StoragePort, identity: DeviceIdentity): Promise<void> {
  await storage.writeAtomic(IDENTITY_FILE, encodeCbor({ v: 1, box: identity.boxSecretKey, sign: identity.signSecretKey }));
}

function decodeIdentity(bytes: Uint8Array): DeviceIdentity {
  try {
    const record = asRecord(decodeCbor(bytes), 'identity');
    return identityFrom(fieldBytes(record, 'box', 32), fieldBytes(record, 'sign', 64));
  } catch (cause) {
    throw new TrustError('CORRUPT', `${IDENTITY_FILE} is unreadable; refusing to generate a new identity over it`, { cause });
  }
}
