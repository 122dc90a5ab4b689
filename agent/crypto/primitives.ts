import nacl from 'tweetnacl';
import { TrustError } from '../errors.js';
import type { CryptoPort } from '../ports/crypto.js';

/**
 * The Ed25519/X25519 primitives every part of the agent calls (docs/architecture.md, "Ports"). tweetnacl is the
 * default; a host installs native ones through `ports.crypto` (createAgent does it) or `installCrypto`.
 *
 * Why one realm-wide slot rather than a port passed to every signer: the primitives are pure functions and a port
 * is accepted only after it reproduced the known answers below, so any installed implementation gives the same
 * bytes as tweetnacl. Which one is installed changes speed, never a result; two agents in one process that supply
 * different ports both get correct signatures.
 */
export const tweetnaclCrypto: CryptoPort = {
  name: 'tweetnacl',
  signPublicKey: (seed) => nacl.sign.keyPair.fromSeed(seed).publicKey,
  sign: (message, secretKey) => nacl.sign.detached(message, secretKey),
  verify: (message, signature, publicKey) =>
    signature.length === nacl.sign.signatureLength && publicKey.length === nacl.sign.publicKeyLength
    && nacl.sign.detached.verify(message, signature, publicKey),
  scalarMult: (scalar, point) => nacl.scalarMult(scalar, point),
  scalarMultBase: (scalar) => nacl.scalarMult.base(scalar),
};

let active: CryptoPort = tweetnaclCrypto;

/** The installed primitives (tweetnacl unless a host installed others). */
export function primitives(): CryptoPort {
  return active;
}

/**
 * Installs `port` after checking it against RFC 8032 and RFC 7748 known answers; a port that gets one wrong (or
 * throws) is refused with INVALID_CONFIG before the agent signs or seals anything with it.
 */
export function installCrypto(port: CryptoPort): void {
  if (port === active || port === tweetnaclCrypto) {
    active = port;
    return;
  }
  const failed = knownAnswerFailure(port);
  if (failed !== undefined) throw new TrustError('INVALID_CONFIG', `crypto port '${String(port?.name)}' fails the ${failed} known-answer test`);
  active = port;
}

/** Back to tweetnacl (tests, and a host that wants the reference implementation again). */
export function resetCrypto(): void {
  active = tweetnaclCrypto;
}

function hex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function same(a: unknown, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** RFC 8032 section 7.1 TEST 1 and RFC 7748 section 6.1; the full sets run in test/crypto-port.test.ts. */
function knownAnswerFailure(port: CryptoPort): string | undefined {
  try {
    const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const publicKey = hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const signature = hex('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b');
    const secretKey = new Uint8Array(64);
    secretKey.set(seed);
    secretKey.set(publicKey, 32);
    if (!same(port.signPublicKey(seed), publicKey)) return 'Ed25519 public key';
    if (!same(port.sign(new Uint8Array(0), secretKey), signature)) return 'Ed25519 sign';
    if (port.verify(new Uint8Array(0), signature, publicKey) !== true) return 'Ed25519 verify';
    const forged = signature.slice();
    forged[0] = (forged[0] ?? 0) ^ 1;
    if (port.verify(new Uint8Array(0), forged, publicKey) !== false) return 'Ed25519 verify (forged)';
    const alice = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bobPublic = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    if (!same(port.scalarMultBase(alice), hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'))) return 'X25519 base';
    if (!same(port.scalarMult(alice, bobPublic), hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'))) return 'X25519';
    if (!same(port.scalarMult(alice, new Uint8Array(32)), new Uint8Array(32))) return 'X25519 low-order';
    return undefined;
  } catch {
    return 'call';
  }
}
