import { seededRandom } from '../../agent/adapters/memory/index.js';
import { generateIdentity, type DeviceIdentity } from '../../agent/crypto/keys.js';

/**
 * A simulated device's factory identity: derived from the scenario seed and the device id alone, so every shard
 * of a sharded run (and the collector of every shard) knows the whole fleet's public keys without running the
 * other shards' devices. The simulator provisions it into the device's flash before the first boot, as a vendor
 * provisions keys at the factory (simulation only: a real device makes its keys from its own entropy).
 */
export function fleetIdentity(seed: number, deviceId: string): DeviceIdentity {
  return generateIdentity(seededRandom(`sim/${seed}/${deviceId}/factory-identity`));
}

/** The public half the collector is provisioned with: box key to open envelopes, signing key to follow rotations. */
export function fleetPublicKeys(seed: number, deviceId: string): { boxPublicKey: Uint8Array; signPublicKey: Uint8Array } {
  const identity = fleetIdentity(seed, deviceId);
  return { boxPublicKey: identity.boxPublicKey, signPublicKey: identity.signPublicKey };
}
