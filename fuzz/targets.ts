import nacl from 'tweetnacl';
import { encodeCbor } from '../agent/codec/cbor.js';
import { keyId, toHex } from '../agent/crypto/keys.js';
import { memoryStorage } from '../agent/adapters/memory/index.js';
import { TrustError } from '../agent/errors.js';
import { NonceCache } from '../agent/owner/nonce-cache.js';
import type { ClockPort } from '../agent/ports/clock.js';
import type { OwnerRecord } from '../agent/owner/owner-store.js';
import { openPairingRequest, sealPairingRequest } from '../agent/owner/pairing.js';
import { DEFAULT_REQUEST_LIMITS, isRejection, preparseRequest, signRequest, verifyRequest } from '../agent/owner/requests.js';
import { topics } from '../agent/topics.js';
import { createCollector, type Collector } from '../collector/index.js';
import { amplificationShapes, mutate, randomValue, structuredItem, type Rng } from './generate.js';

/**
 * The fuzz targets (issue 10 item 9): the owner command path (`cmd/req` pre-parse and verification), pairing
 * (request open) and the collector (ingest, including the plaintext inside an authentic sealed envelope). Each
 * has a structure-aware generator that makes inputs which get past the outer checks, so mutations reach the
 * inner decodes too.
 */

const T0 = 1_767_225_600_000;
const DEVICE_ID = 'fuzz-th';
const fixedRandom = (seed: number) => {
  let n = seed;
  return { bytes: (length: number) => Uint8Array.from({ length }, () => (n = (n * 1103515245 + 12345) >>> 0) & 0xff) };
};

export interface TargetRun {
  /** Snapshot of whatever the target may change; must be equal before and after a rejected input. */
  state(): string;
  /** Feeds one input; true when it was accepted (state may change), false when refused. */
  run(bytes: Uint8Array): Promise<boolean>;
}

export interface Target {
  name: string;
  /** Generate one structure-aware input. */
  generate(rng: Rng, corpus: readonly Uint8Array[]): Uint8Array;
  /** Fresh target state (keys, caches, collector) for a run. */
  setUp(): Promise<TargetRun>;
  /** Valid inputs to start a corpus from. */
  seeds(): Uint8Array[];
  /** Decode work allowed per input byte: how many times the path decodes the same bytes, times two (items + bytes). */
  workPerByte: number;
}

/** Re-throws anything but a TrustError: that is the invariant every target shares. */
function onlyTrustErrors(error: unknown): false {
  if (error instanceof TrustError) return false;
  throw error;
}

const owner = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(3));
const ownerBox = nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(4));
const deviceBox = nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(5));
const collectorBox = nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(6));

function signedRequest(rng: Rng, body?: Record<string, unknown>): Uint8Array {
  if (body === undefined) {
    return signRequest({ deviceId: DEVICE_ID, clientToken: `t${rng.below(1e6)}`, issuedAt: T0, expiresAt: T0 + 60_000, kind: 'get-state', nonce: Uint8Array.from({ length: 16 }, () => rng.below(256)) }, owner.secretKey);
  }
  const b = encodeCbor(body);
  return encodeCbor({ b, k: keyId(owner.publicKey), s: nacl.sign.detached(b, owner.secretKey) });
}

/** Sign arbitrary body bytes with the owner key, so verification passes and the body decode is what is tested. */
function signedBytes(b: Uint8Array): Uint8Array {
  return encodeCbor({ b, k: keyId(owner.publicKey), s: nacl.sign.detached(b, owner.secretKey) });
}

export const commandTarget: Target = {
  name: 'cmd',
  workPerByte: 4, // the signed document, then its body once
  seeds: () => [signRequest({ deviceId: DEVICE_ID, clientToken: 'seed', issuedAt: T0, expiresAt: T0 + 60_000, kind: 'set-preferences', desired: { temperature: { allowed: true } }, nonce: new Uint8Array(16).fill(1) }, owner.secretKey)],
  generate(rng, corpus) {
    switch (rng.below(6)) {
      case 0: return mutate(rng, rng.pick(corpus), amplificationShapes());
      case 5: return signedRequest(rng); // valid: the accepting path (a nonce is remembered) runs too
      case 1: return signedBytes(mutate(rng, encodeCbor({ v: 1, deviceId: DEVICE_ID, clientToken: 'x', issuedAt: T0, expiresAt: T0 + 1, nonce: new Uint8Array(16), keyId: keyId(owner.publicKey), kind: 'get-state', desired: randomValue(rng) }), amplificationShapes()));
      case 2: return signedBytes(structuredItem(rng));
      case 3: return signedRequest(rng, { v: 1, kind: 'set-preferences', desired: randomValue(rng), clientToken: 'c', deviceId: DEVICE_ID });
      default: return mutate(rng, signedRequest(rng), amplificationShapes());
    }
  },
  async setUp() {
    const storage = memoryStorage();
    const nonces = new NonceCache(storage);
    const record: OwnerRecord = { signPublicKey: owner.publicKey, boxPublicKey: ownerBox.publicKey, keyId: keyId(owner.publicKey), pairedAt: T0 };
    const clock: ClockPort = { now: () => T0 + 1000, monotonic: () => 0 };
    return {
      state: () => JSON.stringify([...storage.files()].map(([name, bytes]) => [name, toHex(bytes)])),
      async run(bytes) {
        try {
          const parsed = preparseRequest(bytes, DEFAULT_REQUEST_LIMITS);
          if (isRejection(parsed)) return false;
          const result = await verifyRequest(parsed, record, DEVICE_ID, clock, nonces, DEFAULT_REQUEST_LIMITS);
          return result.ok;
        } catch (error) {
          return onlyTrustErrors(error);
        }
      },
    };
  },
};

export const pairingTarget: Target = {
  name: 'pairing',
  workPerByte: 6, // the outer map, then the inner signed document and its body twice (to learn the key, then to verify)
  seeds: () => [sealPairingRequest({ deviceId: DEVICE_ID, boxPublicKey: deviceBox.publicKey }, { signSecretKey: owner.secretKey, boxPublicKey: ownerBox.publicKey }, 'ABCDEFGH', T0, fixedRandom(1)).bytes],
  generate(rng, corpus) {
    if (rng.chance(50)) return mutate(rng, rng.pick(corpus), amplificationShapes());
    // Sealed to the device, so the box opens and the inner signed document is what gets decoded.
    const inner = rng.chance(50) ? structuredItem(rng) : mutate(rng, signedRequest(rng, { v: 1, d: DEVICE_ID, c: 'ABCDEFGH', sp: owner.publicKey, bp: ownerBox.publicKey, r: new Uint8Array(16), t: T0 }), amplificationShapes());
    const ephemeral = nacl.box.keyPair.fromSecretKey(rng.bytes(32));
    const nonce = rng.bytes(24);
    return encodeCbor({ v: 1, e: ephemeral.publicKey, n: nonce, c: nacl.box(inner, nonce, deviceBox.publicKey, ephemeral.secretKey) });
  },
  async setUp() {
    return {
      state: () => '',
      async run(bytes) {
        try {
          openPairingRequest(bytes, deviceBox.secretKey);
          return true;
        } catch (error) {
          return onlyTrustErrors(error);
        }
      },
    };
  },
};

function sealV1(plaintext: Uint8Array, seq: number, nonce: Uint8Array = new Uint8Array(24).fill(seq & 0xff)): Uint8Array {
  return encodeCbor({
    v: 1, alg: 1, rk: keyId(collectorBox.publicKey), sk: keyId(deviceBox.publicKey), sid: new Uint8Array(8).fill(1), seq, ts: T0,
    n: nonce, ct: nacl.box(plaintext, nonce, collectorBox.publicKey, deviceBox.secretKey),
  });
}

function plaintextV1(rng: Rng, seq: number): Uint8Array {
  return encodeCbor({
    dev: DEVICE_ID, st: 'telemetry', rk: keyId(collectorBox.publicKey), sk: keyId(deviceBox.publicKey), sid: new Uint8Array(8).fill(1), seq, ts: T0,
    r: [{ s: '0101010101010101', q: seq, c: 'temperature', t: T0 - 60_000, x: T0 + 86_400_000, d: rng.chance(50) ? { c: 21.5 } : randomValue(rng) }],
  });
}

let envelopeSeq = 0;

export const collectorTarget: Target = {
  name: 'collector',
  workPerByte: 4, // the outer map, then the plaintext once
  seeds: () => [sealV1(encodeCbor({
    dev: DEVICE_ID, st: 'telemetry', rk: keyId(collectorBox.publicKey), sk: keyId(deviceBox.publicKey), sid: new Uint8Array(8).fill(1), seq: 0, ts: T0,
    r: [{ s: '0101010101010101', q: 0, c: 'temperature', t: T0 - 60_000, x: T0 + 86_400_000, d: { c: 21.5 } }],
  }), 0)],
  generate(rng, corpus) {
    const seq = ++envelopeSeq;
    switch (rng.below(4)) {
      case 0: return mutate(rng, rng.pick(corpus), amplificationShapes());
      case 1: return sealV1(mutate(rng, plaintextV1(rng, seq), amplificationShapes()), seq);
      case 2: return sealV1(structuredItem(rng), seq);
      default: return sealV1(plaintextV1(rng, seq), seq);
    }
  },
  async setUp() {
    const collector: Collector = createCollector({ secretKey: collectorBox.secretKey, now: () => T0 });
    collector.addDevice(DEVICE_ID, deviceBox.publicKey);
    let delivered = 0;
    collector.onReading(() => void delivered++);
    return {
      state: () => JSON.stringify({ delivered, accepted: collector.stats().accepted }),
      async run(bytes) {
        try {
          return collector.ingest(topics.telemetry(DEVICE_ID), bytes).ok;
        } catch (error) {
          return onlyTrustErrors(error);
        }
      },
    };
  },
};

export const TARGETS: readonly Target[] = [commandTarget, pairingTarget, collectorTarget];
