import nacl from 'tweetnacl';
import { asRecord, decodeCbor, encodeCbor, fieldBytes, fieldString } from '../codec/cbor.js';
import { TrustError } from '../errors.js';
import { boxKeyPair, hostRandom, type RandomSource } from '../crypto/random.js';
import { assertStrongX25519, boxBefore } from '../crypto/weak-keys.js';

/**
 * Anonymous sealing to an owner's X25519 key (an export, for instance): a fresh key pair per message, so the device
 * needs no long-term secret to produce it and only the owner can open it. The algorithm is named for agility.
 */
export const SEAL_ALGORITHM = 'x25519-xsalsa20-poly1305';

export function sealForOwner(plaintext: Uint8Array, ownerBoxPublicKey: Uint8Array, random: RandomSource = hostRandom): Uint8Array {
  assertStrongX25519(ownerBoxPublicKey, 'ownerBoxPublicKey');
  const ephemeral = boxKeyPair(random);
  const nonce = random.bytes(nacl.box.nonceLength);
  const c = nacl.box.after(plaintext, nonce, boxBefore(ownerBoxPublicKey, ephemeral.secretKey));
  return encodeCbor({ v: 1, alg: SEAL_ALGORITHM, e: ephemeral.publicKey, n: nonce, c });
}

export function openSealed(bytes: Uint8Array, ownerBoxSecretKey: Uint8Array, maxBytes = 16 * 1024 * 1024): Uint8Array {
  const record = asRecord(decodeCbor(bytes, { maxBytes, maxDepth: 2 }), 'sealed data');
  if (fieldString(record, 'alg', 64) !== SEAL_ALGORITHM) throw new TrustError('UNKNOWN_ALGORITHM', 'sealed data uses an unknown algorithm');
  const ephemeral = fieldBytes(record, 'e', 32);
  assertStrongX25519(ephemeral, 'sealed data ephemeral key');
  const opened = nacl.box.open.after(fieldBytes(record, 'c', undefined, maxBytes), fieldBytes(record, 'n', 24), boxBefore(ephemeral, ownerBoxSecretKey));
  if (opened === null) throw new TrustError('AUTH_FAILED', 'sealed data does not open with this owner key');
  return opened;
}
