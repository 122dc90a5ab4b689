import { createPrivateKey, createPublicKey, diffieHellman, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import type { CryptoPort } from '../../ports/crypto.js';

/**
 * Ed25519 and X25519 from node:crypto (OpenSSL): about 20x faster than tweetnacl on Node. Keys arrive as raw bytes
 * and are wrapped in fixed PKCS#8 / SPKI DER prefixes; the agent signs with one key and verifies a few, so the
 * KeyObjects are kept in small caches keyed by the raw bytes.
 *
 * One difference from tweetnacl, on the strict side: OpenSSL refuses a signature whose scalar S is not reduced
 * (S >= L), which tweetnacl accepts. No correct signer produces one; such a signature is a malleated copy.
 */
const ED25519_PKCS8 = hexBytes('302e020100300506032b657004220420');
const ED25519_SPKI = hexBytes('302a300506032b6570032100');
const X25519_PKCS8 = hexBytes('302e020100300506032b656e04220420');
const X25519_SPKI = hexBytes('302a300506032b656e032100');
const CACHE_LIMIT = 64;

function hexBytes(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function der(prefix: Uint8Array, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + key.length);
  out.set(prefix);
  out.set(key, prefix.length);
  return out;
}

/** A bounded map: the oldest entry goes when it is full (a device holds one identity and a handful of peers). */
function keyCache(make: (raw: Uint8Array) => KeyObject): (raw: Uint8Array) => KeyObject {
  const cache = new Map<string, KeyObject>();
  return (raw) => {
    const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
    let key = cache.get(id);
    if (key === undefined) {
      key = make(raw);
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
      cache.set(id, key);
    }
    return key;
  };
}

function rawPublic(privateKey: KeyObject): Uint8Array {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

/** A plain Uint8Array copy of a Buffer (the public API never hands out Buffers). */
function fresh(bytes: Buffer): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

let shared: CryptoPort | undefined;

/**
 * One port per process: its KeyObject caches serve every agent, and an agent booting with the port already installed
 * skips the known-answer check (about 1 ms of each boot otherwise).
 */
export function nodeCrypto(): CryptoPort {
  shared ??= createNodeCrypto();
  return shared;
}

function createNodeCrypto(): CryptoPort {
  const edPrivate = keyCache((seed) => createPrivateKey({ key: Buffer.from(der(ED25519_PKCS8, seed)), format: 'der', type: 'pkcs8' }));
  const edPublic = keyCache((raw) => createPublicKey({ key: Buffer.from(der(ED25519_SPKI, raw)), format: 'der', type: 'spki' }));
  const xPrivate = keyCache((scalar) => createPrivateKey({ key: Buffer.from(der(X25519_PKCS8, scalar)), format: 'der', type: 'pkcs8' }));
  const xPublic = keyCache((raw) => createPublicKey({ key: Buffer.from(der(X25519_SPKI, raw)), format: 'der', type: 'spki' }));
  return {
    name: 'node:crypto',
    signPublicKey: (seed) => rawPublic(edPrivate(seed.subarray(0, 32))),
    sign: (message, secretKey) => fresh(nodeSign(null, message, edPrivate(secretKey.subarray(0, 32)))),
    verify(message, signature, publicKey) {
      if (signature.length !== 64 || publicKey.length !== 32) return false;
      try {
        return nodeVerify(null, message, edPublic(publicKey), signature);
      } catch {
        return false; // a public key that is not a curve point
      }
    },
    scalarMult(scalar, point) {
      try {
        return fresh(diffieHellman({ privateKey: xPrivate(scalar.subarray(0, 32)), publicKey: xPublic(point.subarray(0, 32)) }));
      } catch {
        // OpenSSL refuses a low-order point (an all-zero product) with an error; the port's contract is the zeros,
        // which every caller refuses as WEAK_KEY.
        return new Uint8Array(32);
      }
    },
    scalarMultBase: (scalar) => rawPublic(xPrivate(scalar.subarray(0, 32))),
  };
}
