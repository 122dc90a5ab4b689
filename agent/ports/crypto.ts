/**
 * The asymmetric primitives the agent uses: Ed25519 and X25519. They are where its CPU goes (an Ed25519 signature
 * costs about 280 ms in QuickJS with the pure-JS default), so a host with native ones binds them here. Symmetric
 * crypto (XSalsa20-Poly1305, SHA-512) stays in tweetnacl: it is cheap and hosts rarely have XSalsa20.
 *
 * Every method is a pure function of its inputs, so any two correct implementations give the same bytes; the
 * agent checks a supplied port against known-answer vectors before it uses it (agent/crypto/primitives.ts).
 * An implementation returns fresh arrays and never keeps or alters its arguments.
 */
export interface CryptoPort {
  /** Shown in status and errors, e.g. 'tweetnacl' or 'node:crypto'. */
  readonly name: string;
  /** The Ed25519 public key (32 bytes) of a 32-byte seed. */
  signPublicKey(seed: Uint8Array): Uint8Array;
  /** Ed25519 signature (64 bytes) of `message`; `secretKey` is seed || public key (64 bytes, tweetnacl's form). */
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** Whether `signature` is a valid Ed25519 signature of `message` by `publicKey`. Never throws on bad input. */
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
  /** X25519(scalar, point) per RFC 7748 (scalar clamped); 32 zero bytes for a low-order point, never a throw. */
  scalarMult(scalar: Uint8Array, point: Uint8Array): Uint8Array;
  /** X25519(scalar, 9): the public key of a secret key. */
  scalarMultBase(scalar: Uint8Array): Uint8Array;
}
