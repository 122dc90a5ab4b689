import { webcrypto } from 'node:crypto';
import { TrustError } from '../../errors.js';
import type { RandomPort } from '../../ports/random.js';

// Web Crypto fills at most 65,536 bytes per call.
const MAX_CHUNK = 65_536;

type GetRandomValues = (target: Uint8Array) => Uint8Array;

/** The operating system's CSPRNG through Web Crypto. Throws NO_ENTROPY rather than ever degrading. */
export function nodeRandom(source: { getRandomValues?: GetRandomValues } | undefined = webcrypto as never): RandomPort {
  const getRandomValues = source?.getRandomValues?.bind(source);
  return {
    bytes(length: number): Uint8Array {
      if (!Number.isSafeInteger(length) || length < 0) {
        throw new TrustError('INVALID_ARGUMENT', 'length must be a non-negative integer');
      }
      if (getRandomValues === undefined) throw new TrustError('NO_ENTROPY', 'no crypto.getRandomValues on this host');
      const out = new Uint8Array(length);
      try {
        for (let offset = 0; offset < length; offset += MAX_CHUNK) {
          getRandomValues(out.subarray(offset, Math.min(length, offset + MAX_CHUNK)));
        }
      } catch (cause) {
        throw new TrustError('NO_ENTROPY', 'the host random source failed', { cause });
      }
      return out;
    },
  };
}
