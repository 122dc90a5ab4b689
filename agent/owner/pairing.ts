import nacl from 'tweetnacl';
import { asRecord, decodeCbor, encodeCbor, fieldBytes, fieldString, fieldUint, type DecodeLimits } from '../codec/cbor.js';
import { equalBytes } from '../crypto/keys.js';
import { boxKeyPair, hostRandom, type RandomSource } from '../crypto/random.js';
import { parseSignedDocument, signDocument, verifyDocument } from '../crypto/sign.js';
import { assertStrongX25519, boxBefore } from '../crypto/weak-keys.js';
import { TrustError } from '../errors.js';
import { assertDeviceId } from '../topics.js';
import { base64urlDecode, base64urlEncode } from './base64url.js';

/** What the device shows (as a QR code) while its pairing window is open. */
export interface PairingPayload {
  deviceId: string;
  deviceType: string;
  boxPublicKey: Uint8Array;
  signPublicKey: Uint8Array;
  setupCode: string;
}

export const PAIRING_PREFIX = 'ta1:';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const SETUP_CODE_LENGTH = 8;
const PAIRING_LIMITS: DecodeLimits = { maxBytes: 2048, maxDepth: 3 };

/** 8 base32 characters = exactly 40 random bits from 5 bytes, so no modulo bias. */
export function generateSetupCode(random: RandomSource = hostRandom): string {
  const bytes = random.bytes(5);
  let bits = 0;
  for (const byte of bytes) bits = bits * 256 + byte;
  let code = '';
  for (let i = 0; i < SETUP_CODE_LENGTH; i++) {
    code = (BASE32[bits % 32] ?? 'A') + code;
    bits = Math.floor(bits / 32);
  }
  return code;
}

export function encodePairingPayload(payload: PairingPayload): string {
  const cbor = encodeCbor({
    v: 1, id: payload.deviceId, t: payload.deviceType, bx: payload.boxPublicKey, sg: payload.signPublicKey, c: payload.setupCode,
  });
  return PAIRING_PREFIX + base64urlEncode(cbor);
}

export function decodePairingPayload(text: string): PairingPayload {
  if (typeof text !== 'string' || !text.startsWith(PAIRING_PREFIX) || text.length > 1024) {
    throw new TrustError('MALFORMED', `pairing payload must start with ${PAIRING_PREFIX}`);
  }
  const record = asRecord(decodeCbor(base64urlDecode(text.trim().slice(PAIRING_PREFIX.length)), PAIRING_LIMITS), 'pairing payload');
  if (record['v'] !== 1) throw new TrustError('UNSUPPORTED_VERSION', 'pairing payload version is not 1');
  const deviceId = fieldString(record, 'id', 64);
  assertDeviceId(deviceId);
  const boxPublicKey = fieldBytes(record, 'bx', 32).slice();
  assertStrongX25519(boxPublicKey, 'pairing payload box key');
  return {
    deviceId,
    deviceType: fieldString(record, 't', 64),
    boxPublicKey,
    signPublicKey: fieldBytes(record, 'sg', 32).slice(),
    setupCode: fieldString(record, 'c', 32),
  };
}

/** The decrypted pairing request. */
export interface PairingRequest {
  deviceId: string;
  setupCode: string;
  ownerSignPublicKey: Uint8Array;
  ownerBoxPublicKey: Uint8Array;
  requestId: Uint8Array;
  issuedAt: number;
}

/**
 * Companion side. The request is sealed to the device's box key with a throwaway key pair, so a broker observer
 * never sees the setup code; inside, it is signed by the owner key, proving the owner holds the key it registers.
 */
export function sealPairingRequest(
  device: { deviceId: string; boxPublicKey: Uint8Array },
  owner: { signSecretKey: Uint8Array; boxPublicKey: Uint8Array },
  setupCode: string,
  issuedAt: number,
  random: RandomSource = hostRandom,
): { bytes: Uint8Array; requestId: Uint8Array } {
  const requestId = random.bytes(16);
  const inner = signDocument(
    { v: 1, d: device.deviceId, c: setupCode, sp: owner.signSecretKey.subarray(32), bp: owner.boxPublicKey, r: requestId, t: issuedAt },
    owner.signSecretKey,
  );
  const ephemeral = boxKeyPair(random);
  const nonce = random.bytes(nacl.box.nonceLength);
  const sealed = nacl.box.after(inner, nonce, boxBefore(device.boxPublicKey, ephemeral.secretKey));
  return { bytes: encodeCbor({ v: 1, e: ephemeral.publicKey, n: nonce, c: sealed }), requestId };
}

/** Device side: open, then check the owner's signature over the content. Throws MALFORMED / AUTH_FAILED. */
export function openPairingRequest(bytes: Uint8Array, deviceBoxSecretKey: Uint8Array): PairingRequest {
  const outer = asRecord(decodeCbor(bytes, PAIRING_LIMITS), 'pairing request');
  if (outer['v'] !== 1) throw new TrustError('UNSUPPORTED_VERSION', 'pairing request version is not 1');
  const ephemeral = fieldBytes(outer, 'e', 32);
  assertStrongX25519(ephemeral, 'pairing request ephemeral key');
  const inner = nacl.box.open.after(fieldBytes(outer, 'c', undefined, 1024), fieldBytes(outer, 'n', 24), boxBefore(ephemeral, deviceBoxSecretKey));
  if (inner === null) throw new TrustError('AUTH_FAILED', 'pairing request is not sealed to this device');
  const claimed = asRecord(decodeCbor(parseSignedDocument(inner, PAIRING_LIMITS).b, PAIRING_LIMITS), 'pairing body');
  const ownerSignPublicKey = fieldBytes(claimed, 'sp', 32).slice();
  const body = asRecord(verifyDocument(inner, ownerSignPublicKey, PAIRING_LIMITS).body, 'pairing body');
  const ownerBoxPublicKey = fieldBytes(body, 'bp', 32).slice();
  // The device seals exports to this key: a low-order one would make them readable by anyone.
  assertStrongX25519(ownerBoxPublicKey, 'owner box key');
  return {
    deviceId: fieldString(body, 'd', 64),
    setupCode: fieldString(body, 'c', 32),
    ownerSignPublicKey,
    ownerBoxPublicKey,
    requestId: fieldBytes(body, 'r', 16).slice(),
    issuedAt: fieldUint(body, 't'),
  };
}

/** Constant-time over the code's length, so response timing does not reveal a matching prefix. */
export function setupCodeMatches(expected: string, given: string): boolean {
  const a = new Uint8Array(SETUP_CODE_LENGTH);
  const b = new Uint8Array(SETUP_CODE_LENGTH);
  for (let i = 0; i < SETUP_CODE_LENGTH; i++) {
    a[i] = expected.charCodeAt(i) & 0xff;
    b[i] = given.charCodeAt(i) & 0xff;
  }
  return equalBytes(a, b) && given.length === SETUP_CODE_LENGTH && expected.length === SETUP_CODE_LENGTH;
}

/**
 * The pairing window: opened by a local trigger, closed by time, by success (the code is spent) or by too many
 * wrong codes. Monotonic time, so setting the wall clock back cannot keep it open.
 */
export class PairingWindow {
  private code: string | undefined;
  private closesAt = 0;
  private wrongAttempts = 0;

  constructor(private readonly maxWrongAttempts: number, private readonly random: RandomSource = hostRandom) {}

  open(durationMs: number, nowMonotonic: number): string {
    this.code = generateSetupCode(this.random);
    this.closesAt = nowMonotonic + durationMs;
    this.wrongAttempts = 0;
    return this.code;
  }

  isOpen(nowMonotonic: number): boolean {
    return this.code !== undefined && nowMonotonic < this.closesAt;
  }

  expiresInMs(nowMonotonic: number): number {
    return this.isOpen(nowMonotonic) ? this.closesAt - nowMonotonic : 0;
  }

  /** Checks and, on success, spends the code. Throws PAIRING_CLOSED or AUTH_FAILED. */
  redeem(given: string, nowMonotonic: number): void {
    if (!this.isOpen(nowMonotonic) || this.code === undefined) throw new TrustError('PAIRING_CLOSED', 'the pairing window is not open');
    if (!setupCodeMatches(this.code, given)) {
      this.wrongAttempts += 1;
      if (this.wrongAttempts >= this.maxWrongAttempts) this.close();
      throw new TrustError('AUTH_FAILED', 'wrong setup code');
    }
    this.close();
  }

  close(): void {
    this.code = undefined;
    this.closesAt = 0;
  }
}
