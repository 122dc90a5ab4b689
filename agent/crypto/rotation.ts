import nacl from 'tweetnacl';
import { asRecord, decodeCbor, encodeCbor, fieldBytes, fieldString, fieldUint } from '../codec/cbor.js';
import { assertBytes, isTrustError, TrustError } from '../errors.js';
import type { StoragePort } from '../ports/storage.js';
import { equalBytes, keyId, type DeviceIdentity } from './keys.js';
import { parseSignedDocument, signDocument, verifyDocument } from './sign.js';
import { assertStrongX25519 } from './weak-keys.js';

/**
 * Key rotation messages (R7), both directions:
 * - recipient rotation: the vendor's trust root (Ed25519, its public key in AgentConfig.trustRootPublicKey) signs the
 *   collector's next X25519 public key with a serial; the device applies a higher serial and seals to the new key;
 * - device key announcement: after an ownership transfer the device's new keys, signed by its previous signing key
 *   (so a collector that knew the old keys can follow) and by the new one (proof the device holds it).
 * Both are signed CBOR documents (crypto/sign.ts); docs/protocol.md, "Key rotation", gives the fields.
 */
const LIMITS = { maxBytes: 4096, maxDepth: 4 };

export interface RecipientRotation {
  /** The collector's next X25519 public key. */
  recipientPublicKey: Uint8Array;
  /** Increases with every rotation the vendor issues; a device applies only a higher one. */
  serial: number;
  issuedAt: number;
  /** When set, only this device applies it (the message is also delivered on the device's own topic). */
  deviceId?: string;
}

export function signRecipientRotation(rotation: RecipientRotation, trustRootSecretKey: Uint8Array): Uint8Array {
  assertStrongX25519(rotation.recipientPublicKey, 'recipientPublicKey');
  assertBytes(trustRootSecretKey, 'trustRootSecretKey', nacl.sign.secretKeyLength);
  const body = { v: 1, kind: 'recipient-rotation', key: rotation.recipientPublicKey, serial: rotation.serial, at: rotation.issuedAt,
    ...(rotation.deviceId === undefined ? {} : { device: rotation.deviceId }) };
  return signDocument(body, trustRootSecretKey);
}

/**
 * Verifies a rotation against the configured trust root. Throws TrustError: BAD_SIGNATURE or UNKNOWN_KEY (not signed
 * by the root), MALFORMED, WEAK_KEY, WRONG_DEVICE (addressed to another device).
 */
export function verifyRecipientRotation(bytes: Uint8Array, trustRoot: Uint8Array, deviceId: string): RecipientRotation {
  const { body } = verifyDocument(bytes, trustRoot, LIMITS);
  const record = asRecord(body, 'recipient rotation');
  if (record['v'] !== 1 || record['kind'] !== 'recipient-rotation') throw new TrustError('MALFORMED', 'not a recipient rotation (v 1)');
  const recipientPublicKey = fieldBytes(record, 'key', 32);
  assertStrongX25519(recipientPublicKey, 'rotation key');
  const device = record['device'] === undefined ? undefined : fieldString(record, 'device', 64);
  if (device !== undefined && device !== deviceId) throw new TrustError('WRONG_DEVICE', 'the rotation is addressed to another device');
  return { recipientPublicKey, serial: fieldUint(record, 'serial'), issuedAt: fieldUint(record, 'at'), ...(device === undefined ? {} : { deviceId: device }) };
}

/** The recipient the device seals to, as persisted after a rotation (absent: the firmware's configured key). */
export const RECIPIENT_FILE = 'keys/recipient.cbor';

export interface RecipientKey {
  publicKey: Uint8Array;
  serial: number;
}

export async function loadRecipient(storage: StoragePort, configured: Uint8Array): Promise<RecipientKey> {
  const bytes = await storage.read(RECIPIENT_FILE);
  if (bytes === undefined) return { publicKey: configured, serial: 0 };
  const record = asRecord(decodeCbor(bytes, LIMITS), 'recipient');
  return { publicKey: fieldBytes(record, 'key', 32), serial: fieldUint(record, 'serial') };
}

export async function saveRecipient(storage: StoragePort, recipient: RecipientKey): Promise<void> {
  await storage.writeAtomic(RECIPIENT_FILE, encodeCbor({ v: 1, key: recipient.publicKey, serial: recipient.serial }));
}

/** Announcements a device keeps and republishes (retained), newest last: a collector that missed one still follows. */
export const ANNOUNCEMENTS_FILE = 'keys/announcements.cbor';
export const MAX_ANNOUNCEMENTS = 8;

export interface DeviceKeys {
  deviceId: string;
  boxPublicKey: Uint8Array;
  signPublicKey: Uint8Array;
  at: number;
}

export function signKeyAnnouncement(deviceId: string, previous: DeviceIdentity, next: DeviceIdentity, at: number): Uint8Array {
  const inner = signDocument({ v: 1, kind: 'device-keys', device: deviceId, box: next.boxPublicKey, sign: next.signPublicKey, at }, next.signSecretKey);
  return signDocument({ v: 1, kind: 'device-keys-handover', keys: inner }, previous.signSecretKey);
}

/** The signing key id an announcement claims to come from (routing only; `verifyKeyAnnouncement` checks it). */
export function announcementSignerKeyId(bytes: Uint8Array): Uint8Array {
  return parseSignedDocument(bytes, LIMITS).k;
}

/**
 * Verifies that `previousSignPublicKey` handed the device over to the announced keys, and that the announced signing
 * key signed them too. Throws TrustError (BAD_SIGNATURE, UNKNOWN_KEY, MALFORMED, WRONG_DEVICE, WEAK_KEY).
 */
export function verifyKeyAnnouncement(bytes: Uint8Array, deviceId: string, previousSignPublicKey: Uint8Array): DeviceKeys {
  const outer = asRecord(verifyDocument(bytes, previousSignPublicKey, LIMITS).body, 'key announcement');
  if (outer['v'] !== 1 || outer['kind'] !== 'device-keys-handover') throw new TrustError('MALFORMED', 'not a device key announcement (v 1)');
  const innerBytes = fieldBytes(outer, 'keys', undefined, 2048);
  const claimed = asRecord(decodeCbor(parseSignedDocument(innerBytes, LIMITS).b, LIMITS), 'announced keys');
  const signPublicKey = fieldBytes(claimed, 'sign', 32);
  const inner = asRecord(verifyDocument(innerBytes, signPublicKey, LIMITS).body, 'announced keys');
  if (inner['v'] !== 1 || inner['kind'] !== 'device-keys') throw new TrustError('MALFORMED', 'not a device key announcement (v 1)');
  if (fieldString(inner, 'device', 64) !== deviceId) throw new TrustError('WRONG_DEVICE', 'the announcement names another device');
  const boxPublicKey = fieldBytes(inner, 'box', 32);
  assertStrongX25519(boxPublicKey, 'announced box key');
  if (equalBytes(keyId(signPublicKey), keyId(previousSignPublicKey))) throw new TrustError('MALFORMED', 'the announcement does not change the key');
  return { deviceId, boxPublicKey, signPublicKey: fieldBytes(inner, 'sign', 32), at: fieldUint(inner, 'at') };
}

export function encodeAnnouncements(list: readonly Uint8Array[]): Uint8Array {
  return encodeCbor({ v: 1, chain: list.slice(-MAX_ANNOUNCEMENTS) });
}

export function decodeAnnouncements(bytes: Uint8Array): Uint8Array[] {
  try {
    const record = asRecord(decodeCbor(bytes, { maxBytes: 32_768, maxDepth: 4 }), 'announcements');
    const chain = record['chain'];
    if (record['v'] !== 1 || !Array.isArray(chain) || chain.length > MAX_ANNOUNCEMENTS || !chain.every((a) => a instanceof Uint8Array)) {
      throw new TrustError('MALFORMED', 'not a device key announcement chain (v 1)');
    }
    return chain as Uint8Array[];
  } catch (error) {
    if (isTrustError(error)) throw error;
    throw new TrustError('MALFORMED', 'not a device key announcement chain', { cause: error });
  }
}
