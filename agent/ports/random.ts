/**
 * Cryptographically secure random bytes from the host.
 * An implementation MUST throw `TrustError('NO_ENTROPY')` when it has no secure source; it must never fall
 * back to Math.random or return zeros. The agent wires tweetnacl's PRNG to this port at start.
 */
export interface RandomPort {
  bytes(length: number): Uint8Array;
}
