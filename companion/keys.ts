import nacl from 'tweetnacl';
import { fromHex, keyId, toHex } from '../agent/crypto/keys.js';
import { assertStrongX25519 } from '../agent/crypto/weak-keys.js';
import { TrustError } from '../agent/errors.js';
import { ensureRandom } from './host.js';
import { boxKeyPair, checkedRandom, hostRandom, signKeyPair } from '../agent/crypto/random.js';
import type { RandomPort } from '../agent/ports/random.js';

/** The owner's two key pairs: Ed25519 signs requests, X25519 receives sealed exports. */
export interface OwnerKeys {
  signPublicKey: Uint8Array;
  signSecretKey: Uint8Array;
  boxPublicKey: Uint8Array;
  boxSecretKey: Uint8Array;
  keyId: Uint8Array;
}

/** A device the owner has paired with (what the pairing payload told us). */
export interface KnownDevice {
  deviceType: string;
  signPublicKey: Uint8Array;
  boxPublicKey: Uint8Array;
  /** Where the device was paired (remembered so later commands need no --broker / --ca). */
  broker?: string;
  /** The CA certificate (PEM) that signed that broker's certificate. */
  caPem?: string;
  /** The owner opted into a plaintext or unverified link for this device at pairing. */
  insecure?: boolean;
}

/** New owner keys from `random` (checked and probed), or from the host's Web Crypto when none is given. */
export function generateOwnerKeys(random?: RandomPort): OwnerKeys {
  if (random === undefined) ensureRandom();
  const source = random === undefined ? hostRandom : checkedRandom(random);
  const sign = signKeyPair(source);
  const box = boxKeyPair(source);
  return ownerKeysFrom(sign.secretKey, box.secretKey);
}

export function ownerKeysFrom(signSecretKey: Uint8Array, boxSecretKey: Uint8Array): OwnerKeys {
  const sign = nacl.sign.keyPair.fromSecretKey(signSecretKey);
  const box = nacl.box.keyPair.fromSecretKey(boxSecretKey);
  return { signPublicKey: sign.publicKey, signSecretKey: sign.secretKey, boxPublicKey: box.publicKey, boxSecretKey: box.secretKey, keyId: keyId(sign.publicKey) };
}

/** The key file: JSON so people can see which devices it knows; secrets in hex. The CLI writes it with mode 0600. */
export interface OwnerKeyFile {
  keys: OwnerKeys;
  devices: Record<string, KnownDevice>;
}

export function encodeOwnerKeyFile(file: OwnerKeyFile): string {
  const devices: Record<string, unknown> = {};
  for (const [id, device] of Object.entries(file.devices)) {
    devices[id] = {
      deviceType: device.deviceType, signPublicKey: toHex(device.signPublicKey), boxPublicKey: toHex(device.boxPublicKey),
      ...(device.broker === undefined ? {} : { broker: device.broker }), ...(device.caPem === undefined ? {} : { caPem: device.caPem }),
      ...(device.insecure === true ? { insecure: true } : {}),
    };
  }
  return JSON.stringify({
    v: 1, keyId: toHex(file.keys.keyId), signSecretKey: toHex(file.keys.signSecretKey), boxSecretKey: toHex(file.keys.boxSecretKey), devices,
  }, null, 2) + '\n';
}

export function decodeOwnerKeyFile(text: string): OwnerKeyFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new TrustError('CORRUPT', 'key file is not JSON', { cause });
  }
  const record = raw as { v?: unknown; signSecretKey?: unknown; boxSecretKey?: unknown; devices?: unknown };
  if (record === null || typeof record !== 'object' || record.v !== 1) throw new TrustError('CORRUPT', 'key file version is not 1');
  const sign = fromHex(String(record.signSecretKey), 'signSecretKey');
  const box = fromHex(String(record.boxSecretKey), 'boxSecretKey');
  if (sign.length !== 64 || box.length !== 32) throw new TrustError('CORRUPT', 'key file holds keys of the wrong length');
  const devices: Record<string, KnownDevice> = {};
  const list = (record.devices ?? {}) as Record<string, { deviceType?: unknown; signPublicKey?: unknown; boxPublicKey?: unknown; broker?: unknown; caPem?: unknown; insecure?: unknown }>;
  for (const [id, device] of Object.entries(list)) {
    if (device === null || typeof device !== 'object') throw new TrustError('CORRUPT', `key file entry for ${id} is not an object`);
    const boxPublicKey = fromHex(String(device.boxPublicKey), 'boxPublicKey');
    assertStrongX25519(boxPublicKey, `devices.${id}.boxPublicKey`);
    const signPublicKey = fromHex(String(device.signPublicKey), 'signPublicKey');
    if (signPublicKey.length !== 32) throw new TrustError('CORRUPT', `key file holds a device sign key of the wrong length for ${id}`);
    if (device.broker !== undefined && typeof device.broker !== 'string') throw new TrustError('CORRUPT', `key file broker of ${id} is not text`);
    if (device.caPem !== undefined && typeof device.caPem !== 'string') throw new TrustError('CORRUPT', `key file CA of ${id} is not text`);
    devices[id] = {
      deviceType: String(device.deviceType ?? ''), signPublicKey, boxPublicKey,
      // Where pairing happened, so later commands need no --broker / --ca.
      ...(typeof device.broker === 'string' ? { broker: device.broker } : {}), ...(typeof device.caPem === 'string' ? { caPem: device.caPem } : {}),
      ...(device.insecure === true ? { insecure: true } : {}),
    };
  }
  return { keys: ownerKeysFrom(sign, box), devices };
}
