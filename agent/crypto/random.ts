import nacl from 'tweetnacl';
import { TrustError } from '../errors.js';
import type { RandomPort } from '../ports/random.js';
import { primitives } from './primitives.js';

/**
 * Randomness (docs/storage.md, "Entropy"). Every random byte an agent uses comes from its own random port through a
 * `RandomSource` made by `checkedRandom`; nothing of the agent reads tweetnacl's process-wide PRNG, so two agents
 * in one process never share a source. Keys are made from drawn bytes (`fromSecretKey`, `fromSeed`), nonces are
 * drawn and passed explicitly.
 *
 * The health check (all-zero, repeating or short output is NO_ENTROPY) runs on every draw, and a stronger probe
 * runs at start and before every key is generated. It catches a dead or stuck source (a port returning zeros, the
 * same buffer every time, a short read); it cannot tell a good generator from a bad one that looks random.
 */
export type RandomSource = RandomPort;

export type EntropyFault = 'short' | 'all-zero' | 'repeating' | 'failed';

/** Called once per detected fault, before NO_ENTROPY is thrown: the agent records it in its audit trail. */
export type EntropyFaultListener = (fault: EntropyFault, when: 'start' | 'key' | 'draw') => void;

/** Outputs this long or longer are checked for content; shorter ones (a 5-byte setup code) only for length. */
const CONTENT_CHECK_MIN = 8;
/** A repeating pattern of this period or shorter over the whole output is a stuck source. */
const MAX_PERIOD = 8;
const PREFIX = 16;

/** The fault in one draw, or undefined when it looks healthy. `previous` is the prefix of the last draw. */
export function entropyFault(bytes: unknown, length: number, previous?: Uint8Array): EntropyFault | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) return 'short';
  if (length < CONTENT_CHECK_MIN) return undefined;
  let acc = 0;
  for (const byte of bytes) acc |= byte;
  if (acc === 0) return 'all-zero';
  if (hasShortPeriod(bytes)) return 'repeating';
  if (previous !== undefined && length >= PREFIX && previous.length === PREFIX && samePrefix(bytes, previous)) return 'repeating';
  return undefined;
}

function hasShortPeriod(bytes: Uint8Array): boolean {
  for (let period = 1; period <= MAX_PERIOD && period * 2 <= bytes.length; period++) {
    let i = period;
    while (i < bytes.length && bytes[i] === bytes[i - period]) i++;
    if (i === bytes.length) return true;
  }
  return false;
}

function samePrefix(bytes: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < PREFIX; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function fail(fault: EntropyFault, length: number, cause?: unknown): never {
  const what = fault === 'short' ? `fewer than the ${length} bytes asked for` : fault === 'all-zero' ? 'all zeros' : fault === 'repeating' ? 'a repeating pattern' : 'an error';
  throw new TrustError('NO_ENTROPY', `the random port returned ${what}`, cause === undefined ? undefined : { cause });
}

/** A source over one port: every draw is length- and content-checked; a fault is reported, then thrown. */
export function checkedRandom(port: RandomPort, onFault?: EntropyFaultListener): RandomSource & { probe(when: 'start' | 'key'): void } {
  let previous: Uint8Array | undefined;
  const draw = (length: number, when: 'start' | 'key' | 'draw'): Uint8Array => {
    let bytes: unknown;
    try {
      bytes = port.bytes(length);
    } catch (cause) {
      onFault?.('failed', when);
      if (cause instanceof TrustError) throw cause;
      return fail('failed', length, cause);
    }
    const fault = entropyFault(bytes, length, previous);
    if (fault !== undefined) {
      onFault?.(fault, when);
      fail(fault, length);
    }
    const out = bytes as Uint8Array;
    if (length >= PREFIX) previous = out.slice(0, PREFIX);
    return out;
  };
  return {
    bytes: (length) => draw(length, 'draw'),
    /** Two 32-byte draws that must each look random and differ: run at start and before a key is generated. */
    probe(when) {
      draw(32, when);
      draw(32, when);
    },
  };
}

/** Fails fast (NO_ENTROPY) when the port is dead, stuck or short; used at boot before anything is written. */
export function probeEntropy(port: RandomPort, onFault?: EntropyFaultListener): void {
  checkedRandom(port, onFault).probe('start');
}

/** Key material: a fresh probe first, then the key bytes (themselves checked). */
export function keyMaterial(random: RandomSource, length: number): Uint8Array {
  const probe = (random as Partial<ReturnType<typeof checkedRandom>>).probe;
  if (probe !== undefined) probe('key');
  const bytes = random.bytes(length);
  const fault = entropyFault(bytes, length);
  if (fault !== undefined) fail(fault, length);
  return bytes;
}

export function boxKeyPair(random: RandomSource): nacl.BoxKeyPair {
  const secretKey = keyMaterial(random, nacl.box.secretKeyLength);
  return { publicKey: primitives().scalarMultBase(secretKey), secretKey };
}

export function signKeyPair(random: RandomSource): nacl.SignKeyPair {
  const seed = keyMaterial(random, nacl.sign.seedLength);
  const publicKey = primitives().signPublicKey(seed);
  const secretKey = new Uint8Array(64);
  secretKey.set(seed);
  secretKey.set(publicKey, 32);
  return { publicKey, secretKey };
}

/**
 * The process-wide source: tweetnacl's PRNG (Web Crypto on Node, or whatever `wireRandom` installed). Only for
 * code that runs outside an agent and was given no source (companion helpers, tools); an agent never uses it.
 */
export const hostRandom: RandomSource = { bytes: (length) => nacl.randomBytes(length) };

/**
 * Installs `random` as tweetnacl's process-wide PRNG, for code outside an agent (the companion, tools). Agents do
 * not call it and do not depend on it. The wrapper re-checks every draw so a faulty port fails loudly.
 */
export function wireRandom(random: RandomPort): void {
  const source = checkedRandom(random);
  nacl.setPRNG((target: Uint8Array, length: number) => {
    target.set(source.bytes(length));
  });
}

/** Bytes from the process-wide source (see `hostRandom`). */
export function randomBytes(length: number): Uint8Array {
  return nacl.randomBytes(length);
}
