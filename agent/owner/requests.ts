import { hostRandom, type RandomSource } from '../crypto/random.js';
import { asRecord, decodeCbor, fieldBytes, fieldString, fieldUint, type DecodeLimits } from '../codec/cbor.js';
import { equalBytes, keyId } from '../crypto/keys.js';
import { parseSignedDocument, signDocument } from '../crypto/sign.js';
import { TrustError, type TrustErrorCode } from '../errors.js';
import type { ClockPort } from '../ports/clock.js';
import type { NonceCache } from './nonce-cache.js';
import type { OwnerRecord } from './owner-store.js';
import { primitives } from '../crypto/primitives.js';

export const REQUEST_KINDS = [
  'set-preferences', 'reset', 'erase-all', 'erase-category', 'export', 'transfer', 'get-state', 'get-audit',
  'accept-terms', 'get-report', 'erase-user',
] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/** A signed owner request, as the device sees it after every check has passed. */
export interface OwnerRequest {
  deviceId: string;
  clientToken: string;
  expectedVersion?: number;
  issuedAt: number;
  expiresAt: number;
  nonce: Uint8Array;
  keyId: Uint8Array;
  kind: RequestKind;
  desired?: unknown;
  category?: string;
}

export type RequestFields = Omit<OwnerRequest, 'keyId' | 'nonce'> & { nonce?: Uint8Array };

export const CLIENT_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
export const NONCE_LENGTH = 16;

export interface RequestLimits {
  /** Requests above this size are dropped before any parsing. */
  maxRequestBytes: number;
  /** Tolerated difference between the owner's clock and the device's. */
  maxSkewMs: number;
  /** Longest accepted `expiresAt - issuedAt`: bounds how long a request (and its nonce) must be remembered. */
  maxLifetimeMs: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = { maxRequestBytes: 8 * 1024, maxSkewMs: 120_000, maxLifetimeMs: 24 * 3_600_000 };
const BODY_LIMITS = (max: number): DecodeLimits => ({ maxBytes: max, maxDepth: 8 });

/** Companion side: sign a request with the owner key. The body names the signer key id too, so it cannot be swapped. */
export function signRequest(fields: RequestFields, ownerSignSecretKey: Uint8Array, random: RandomSource = hostRandom): Uint8Array {
  const body: Record<string, unknown> = {
    v: 1,
    deviceId: fields.deviceId,
    clientToken: fields.clientToken,
    issuedAt: fields.issuedAt,
    expiresAt: fields.expiresAt,
    nonce: fields.nonce ?? random.bytes(NONCE_LENGTH),
    keyId: keyId(ownerSignSecretKey.subarray(32)),
    kind: fields.kind,
  };
  if (fields.expectedVersion !== undefined) body['expectedVersion'] = fields.expectedVersion;
  if (fields.desired !== undefined) body['desired'] = fields.desired;
  if (fields.category !== undefined) body['category'] = fields.category;
  return signDocument(body, ownerSignSecretKey);
}

/** Why a request was refused. `clientToken` is set when it could be recovered, so the sender can be told. */
export interface Rejection {
  code: TrustErrorCode;
  reason: string;
  clientToken?: string;
  /** Rate-limit bucket: 'owner' when the request claims the owner key, else 'others'. */
  source: string;
  /** True once the owner signature has verified: the request really came from the owner. */
  authentic: boolean;
}

export type VerifyResult = { ok: true; request: OwnerRequest } | { ok: false; rejection: Rejection };

interface Parsed { b: Uint8Array; k: Uint8Array; s: Uint8Array; body: Record<string, unknown>; clientToken?: string }

/** Step 1: size cap before decoding, then bounded decode of envelope and body; recovers the client token. */
export function preparseRequest(bytes: Uint8Array, limits: RequestLimits): Parsed | Rejection {
  if (bytes.length > limits.maxRequestBytes) {
    return reject('OVERSIZED', `request exceeds ${limits.maxRequestBytes} bytes`, undefined, 'others');
  }
  try {
    const { b, k, s } = parseSignedDocument(bytes, { maxBytes: limits.maxRequestBytes, maxDepth: 2 });
    const body = asRecord(decodeCbor(b, BODY_LIMITS(limits.maxRequestBytes)), 'request body');
    const token = body['clientToken'];
    const parsed: Parsed = { b, k, s, body };
    if (typeof token === 'string' && CLIENT_TOKEN.test(token)) parsed.clientToken = token;
    return parsed;
  } catch (error) {
    const code = error instanceof TrustError && error.code === 'OVERSIZED' ? 'OVERSIZED' : 'MALFORMED';
    return reject(code, 'request is not a well-formed signed document', undefined, 'others');
  }
}

export function sourceOf(parsed: Parsed, owner: OwnerRecord | undefined): string {
  return owner !== undefined && equalBytes(parsed.k, owner.keyId) ? 'owner' : 'others';
}

/**
 * Steps 2-5: owner signature, fields, device id, freshness, nonce. The nonce is remembered (durably) as soon as
 * the request is authentic and fresh, whatever happens next, so a refused request can never be replayed into
 * acceptance later.
 */
export async function verifyRequest(
  parsed: Parsed, owner: OwnerRecord | undefined, deviceId: string, clock: ClockPort, nonces: NonceCache, limits: RequestLimits,
): Promise<VerifyResult> {
  const source = sourceOf(parsed, owner);
  const fail = (code: TrustErrorCode, reason: string, authentic: boolean): VerifyResult =>
    ({ ok: false, rejection: { ...reject(code, reason, parsed.clientToken, source), authentic } });
  if (owner === undefined) return fail('NOT_PAIRED', 'the device has no owner; pair it first', false);
  if (!equalBytes(parsed.k, owner.keyId)) return fail('NOT_OWNER', 'the request is not signed by the owner key', false);
  if (!primitives().verify(parsed.b, parsed.s, owner.signPublicKey)) return fail('BAD_SIGNATURE', 'signature does not verify', false);
  let request: OwnerRequest;
  try {
    request = readRequest(parsed.body, parsed.k);
  } catch (error) {
    return fail('MALFORMED', error instanceof TrustError ? error.message : 'malformed request', true);
  }
  if (request.deviceId !== deviceId) return fail('WRONG_DEVICE', 'the request names another device', true);
  const now = clock.now();
  if (request.issuedAt > now + limits.maxSkewMs) return fail('EXPIRED', 'the request is issued in the future beyond the allowed skew', true);
  if (request.expiresAt + limits.maxSkewMs < now) return fail('EXPIRED', 'the request has expired', true);
  if (request.expiresAt < request.issuedAt || request.expiresAt - request.issuedAt > limits.maxLifetimeMs) {
    return fail('EXPIRED', `the request lifetime must be between 0 and ${limits.maxLifetimeMs} ms`, true);
  }
  if (!(await nonces.checkAndRemember(request.nonce, request.issuedAt, request.expiresAt + limits.maxSkewMs, now))) {
    return fail('REPLAY', 'the request nonce was seen before', true);
  }
  return { ok: true, request };
}

function readRequest(body: Record<string, unknown>, signerKeyId: Uint8Array): OwnerRequest {
  if (body['v'] !== 1) throw new TrustError('MALFORMED', 'field v must be 1');
  const kind = fieldString(body, 'kind', 32);
  if (!(REQUEST_KINDS as readonly string[]).includes(kind)) throw new TrustError('MALFORMED', 'field kind is not a known request kind');
  const clientToken = fieldString(body, 'clientToken', 64);
  if (!CLIENT_TOKEN.test(clientToken)) throw new TrustError('MALFORMED', 'field clientToken must be 1-64 of A-Z a-z 0-9 _ -');
  const request: OwnerRequest = {
    deviceId: fieldString(body, 'deviceId', 64),
    clientToken,
    issuedAt: fieldUint(body, 'issuedAt'),
    expiresAt: fieldUint(body, 'expiresAt'),
    nonce: fieldBytes(body, 'nonce', NONCE_LENGTH).slice(),
    keyId: fieldBytes(body, 'keyId', 8).slice(),
    kind: kind as RequestKind,
  };
  if (!equalBytes(request.keyId, signerKeyId)) throw new TrustError('MALFORMED', 'field keyId does not name the signer');
  if (body['expectedVersion'] !== undefined) request.expectedVersion = fieldUint(body, 'expectedVersion');
  if (kind === 'set-preferences' || kind === 'accept-terms' || kind === 'erase-user') {
    if (body['desired'] === undefined) throw new TrustError('MALFORMED', `field desired is required for ${kind}`);
    request.desired = body['desired'];
  }
  if (kind === 'erase-category') request.category = fieldString(body, 'category', 64);
  return request;
}

function reject(code: TrustErrorCode, reason: string, clientToken: string | undefined, source: string): Rejection {
  const rejection: Rejection = { code, reason, source, authentic: false };
  if (clientToken !== undefined) rejection.clientToken = clientToken;
  return rejection;
}

export function isRejection(value: Parsed | Rejection): value is Rejection {
  return 'code' in value;
}
