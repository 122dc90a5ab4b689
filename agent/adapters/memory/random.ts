import nacl from 'tweetnacl';
import { utf8Encode } from '../../codec/utf8.js';
import { TrustError } from '../../errors.js';
import type { RandomPort } from '../../ports/random.js';

/**
 * A deterministic byte generator for simulations and tests: the same seed yields the same keys, nonces and
 * therefore the same run, which makes a failing scenario replayable.
 *
 * NOT SECURE. Anyone who knows the seed knows every key and nonce it produced. Never give it to a device.
 *
 * Construction: block i = SHA-512(seed || i as 8-byte big-endian), concatenated; a simple counter-mode DRBG.
 */
export function seededRandom(seed: Uint8Array | string): RandomPort {
  const seedBytes = typeof seed === 'string' ? utf8Encode(seed) : Uint8Array.from(seed);
  let counter = 0;
  let block: Uint8Array = new Uint8Array(0);
  let offset = 0;

  const nextBlock = (): void => {
    const input = new Uint8Array(seedBytes.length + 8);
    input.set(seedBytes, 0);
    writeCounter(input, seedBytes.length, counter);
    counter += 1;
    block = nacl.hash(input);
    offset = 0;
  };

  return {
    bytes(length: number): Uint8Array {
      assertLength(length);
      const out = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        if (offset >= block.length) nextBlock();
        const take = Math.min(length - filled, block.length - offset);
        out.set(block.subarray(offset, offset + take), filled);
        offset += take;
        filled += take;
      }
      return out;
    },
  };
}

/** A host without any random source, for testing that the agent refuses to run rather than degrade. */
export function noEntropyRandom(): RandomPort {
  return {
    bytes(): Uint8Array {
      throw new TrustError('NO_ENTROPY', 'this runtime has no secure random source');
    },
  };
}

function writeCounter(target: Uint8Array, at: number, value: number): void {
  // 2^53 blocks is far beyond any simulation; split so the high half survives JavaScript's 32-bit shifts.
  const high = Math.floor(value / 0x1_0000_0000);
  const low = value >>> 0;
  for (let i = 0; i < 4; i++) {
    target[at + 3 - i] = (high >>> (8 * i)) & 0xff;
    target[at + 7 - i] = (low >>> (8 * i)) & 0xff;
  }
}

function assertLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new TrustError('INVALID_ARGUMENT', 'length must be a non-negative integer');
  }
}
