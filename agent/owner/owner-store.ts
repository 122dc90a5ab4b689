import { asRecord, decodeCbor, encodeCbor, fieldBytes, fieldUint } from '../codec/cbor.js';
import { keyId } from '../crypto/keys.js';
import { TrustError } from '../errors.js';
import type { StoragePort } from '../ports/storage.js';

/** The paired owner: the only key whose signed requests the device obeys. */
export interface OwnerRecord {
  signPublicKey: Uint8Array;
  boxPublicKey: Uint8Array;
  /** keyId(signPublicKey): what signed requests name as their signer. */
  keyId: Uint8Array;
  pairedAt: number;
}

export const OWNER_FILE = 'owner.cbor';

/**
 * Persists the owner with `writeAtomic`, so a power cut leaves either the old owner or the new one, never a
 * half-written key that would lock the real owner out.
 */
export class OwnerStore {
  private owner: OwnerRecord | undefined;

  constructor(private readonly storage: StoragePort) {}

  async load(): Promise<OwnerRecord | undefined> {
    const bytes = await this.storage.read(OWNER_FILE);
    this.owner = bytes === undefined ? undefined : decodeOwner(bytes);
    return this.owner;
  }

  current(): OwnerRecord | undefined {
    return this.owner;
  }

  async register(signPublicKey: Uint8Array, boxPublicKey: Uint8Array, pairedAt: number): Promise<OwnerRecord> {
    const record: OwnerRecord = { signPublicKey, boxPublicKey, keyId: keyId(signPublicKey), pairedAt };
    await this.storage.writeAtomic(OWNER_FILE, encodeCbor({ v: 1, sign: signPublicKey, box: boxPublicKey, at: pairedAt }));
    this.owner = record;
    return record;
  }

  /** Ownership transfer or factory reset: the device becomes unowned and pairable again. */
  async clear(): Promise<void> {
    await this.storage.remove(OWNER_FILE);
    this.owner = undefined;
  }
}

function decodeOwner(bytes: Uint8Array): OwnerRecord {
  try {
    const record = asRecord(decodeCbor(bytes), 'owner');
    const signPublicKey = fieldBytes(record, 'sign', 32).slice();
    return {
      signPublicKey,
      boxPublicKey: fieldBytes(record, 'box', 32).slice(),
      keyId: keyId(signPublicKey),
      pairedAt: fieldUint(record, 'at'),
    };
  } catch (cause) {
    // Refuse to treat a corrupt owner file as "no owner": that would let anyone pair with the device.
    throw new TrustError('CORRUPT', `${OWNER_FILE} is unreadable`, { cause });
  }
}
