import { equalBytes, keyId, toHex } from '../agent/crypto/keys.js';
import { announcementSignerKeyId, decodeAnnouncements, verifyKeyAnnouncement, type DeviceKeys } from '../agent/crypto/rotation.js';
import { TrustError } from '../agent/errors.js';

/**
 * Follows devices whose keys rotate (ownership transfer) without re-provisioning: a device announces its new keys
 * signed by the previous signing key the collector knows, so the collector adopts them. The announcement is a chain
 * (newest last), so a collector that missed one transfer still walks from the key it knows to the newest.
 */
export class DeviceKeyFollower {
  private readonly signKeys = new Map<string, Uint8Array>();
  /** Signing key ids a device has handed over from: a repeated (retained) chain is recognised as already followed. */
  private readonly handedOver = new Set<string>();

  know(deviceId: string, signPublicKey: Uint8Array): void {
    this.signKeys.set(deviceId, signPublicKey.slice());
  }

  /** The keys adopted, oldest first (empty when the chain was followed already). Throws TrustError when it cannot be. */
  follow(deviceId: string, payload: Uint8Array): DeviceKeys[] {
    let current = this.signKeys.get(deviceId);
    if (current === undefined) throw new TrustError('UNKNOWN_KEY', 'no signing key is known for this device: provision it with its signing key');
    const chain = decodeAnnouncements(payload);
    const adopted: DeviceKeys[] = [];
    for (const announcement of chain) {
      if (!equalBytes(announcementSignerKeyId(announcement), keyId(current))) continue;
      const keys = verifyKeyAnnouncement(announcement, deviceId, current);
      this.handedOver.add(`${deviceId}:${toHex(keyId(current))}`);
      adopted.push(keys);
      current = keys.signPublicKey;
    }
    const newest = chain[chain.length - 1];
    if (adopted.length === 0 && (newest === undefined || !this.handedOver.has(`${deviceId}:${toHex(announcementSignerKeyId(newest))}`))) {
      throw new TrustError('UNKNOWN_KEY', 'the announcement is not signed by any key this collector knows for the device');
    }
    this.signKeys.set(deviceId, current);
    return adopted;
  }
}
