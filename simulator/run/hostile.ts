import nacl from 'tweetnacl';
import { toHex } from '../../agent/crypto/keys.js';
import { signRequest } from '../../agent/owner/requests.js';
import { topics } from '../../agent/topics.js';
import type { HostileKind } from '../scenario/types.js';
import type { SimDevice } from './device.js';
import type { SimOwner } from './owner.js';

/**
 * Hostile command payloads, as an attacker with broker access could publish them on a device's request topic.
 * `replayed` re-sends the last genuine owner request the raw subscriber saw on the wire for this device.
 */
export function hostilePayload(kind: HostileKind, device: SimDevice, owner: SimOwner, now: number, lastGenuine: Uint8Array | undefined, rng: () => number): Uint8Array {
  const base = { deviceId: device.id, clientToken: `h${toHex(nacl.randomBytes(8))}`, issuedAt: now, expiresAt: now + 600_000 };
  switch (kind) {
    case 'forged': {
      // A well-formed owner request signed by a key that is not the owner's.
      const stranger = nacl.sign.keyPair();
      return signRequest({ ...base, kind: 'erase-all' }, stranger.secretKey);
    }
    case 'replayed':
      if (lastGenuine !== undefined) return lastGenuine;
      return signRequest({ ...base, kind: 'erase-all' }, nacl.sign.keyPair().secretKey);
    case 'stale-version': {
      // Genuinely signed by the owner, but against an outdated preferences version: must not apply.
      const version = device.agent?.rights.preferencesVersion() ?? 1;
      const keys = owner.keys;
      if (keys === undefined) throw new Error('no owner keys');
      return signRequest({ ...base, kind: 'set-preferences', expectedVersion: Math.max(0, version - 1), desired: { categories: {} } }, keys.signSecretKey);
    }
    case 'oversized':
      return randomBytes(64 * 1024, rng);
    case 'garbage':
      return randomBytes(1 + Math.floor(rng() * 600), rng);
  }
}

function randomBytes(length: number, rng: () => number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(rng() * 256);
  return out;
}

export const commandTopic = topics.commandRequest;
