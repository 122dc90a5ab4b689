import nacl from 'tweetnacl';
import { TrustError } from '../errors.js';
import type { RandomPort } from '../ports/random.js';

/**
 * tweetnacl looks for `crypto` itself and finds nothing on bare engines, so its PRNG is always wired to the
 * host's random port, on every runtime, before any key or nonce is made. The wrapper re-checks the length so a
 * faulty port fails loudly instead of leaving zeros in a nonce.
 */
export function wireRandom(random: RandomPort): void {
  nacl.setPRNG((target: Uint8Array, length: number) => {
    const bytes = random.bytes(length);
    if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
      throw new TrustError('NO_ENTROPY', `random port returned ${bytes?.length ?? 'nothing'} bytes, wanted ${length}`);
    }
    target.set(bytes);
  });
}

export function randomBytes(length: number): Uint8Array {
  return nacl.randomBytes(length);
}
