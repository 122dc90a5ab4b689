import { asRecord, type DecodeLimits } from '../agent/codec/cbor.js';
import { verifyDocument } from '../agent/crypto/sign.js';
import { TrustError } from '../agent/errors.js';
import type { AcceptedReply, PairingReply, Receipt, RejectedReply, StateReport } from '../agent/owner/replies.js';

/** Replies can carry an export or audit trail, so the companion accepts more than the device does. */
export const REPLY_LIMITS: DecodeLimits = { maxBytes: 4 * 1024 * 1024, maxDepth: 12 };

function verified(bytes: Uint8Array, deviceSignPublicKey: Uint8Array, what: string): Record<string, unknown> {
  return asRecord(verifyDocument(bytes, deviceSignPublicKey, REPLY_LIMITS).body, what);
}

export function verifyReply(bytes: Uint8Array, deviceSignPublicKey: Uint8Array, deviceId: string): AcceptedReply | RejectedReply {
  const body = verified(bytes, deviceSignPublicKey, 'reply');
  if (body['deviceId'] !== deviceId) throw new TrustError('WRONG_DEVICE', 'reply names another device');
  if (body['outcome'] !== 'accepted' && body['outcome'] !== 'rejected') throw new TrustError('MALFORMED', 'reply outcome is unknown');
  if (typeof body['clientToken'] !== 'string') throw new TrustError('MALFORMED', 'reply has no client token');
  return body as unknown as AcceptedReply | RejectedReply;
}

export function verifyState(bytes: Uint8Array, deviceSignPublicKey: Uint8Array, deviceId: string): StateReport {
  const body = verified(bytes, deviceSignPublicKey, 'state');
  if (body['deviceId'] !== deviceId) throw new TrustError('WRONG_DEVICE', 'state names another device');
  if (typeof body['version'] !== 'number') throw new TrustError('MALFORMED', 'state has no version');
  return body as unknown as StateReport;
}

export function verifyReceiptBytes(bytes: Uint8Array, deviceSignPublicKey: Uint8Array): Receipt {
  const body = verified(bytes, deviceSignPublicKey, 'receipt');
  if (body['type'] !== 'receipt') throw new TrustError('MALFORMED', 'not a receipt');
  return body as unknown as Receipt;
}

export function verifyPairingReply(bytes: Uint8Array, deviceSignPublicKey: Uint8Array): PairingReply {
  const body = verified(bytes, deviceSignPublicKey, 'pairing reply');
  if (body['type'] !== 'pairing') throw new TrustError('MALFORMED', 'not a pairing reply');
  return body as unknown as PairingReply;
}

export function verifyManifest(bytes: Uint8Array, deviceSignPublicKey: Uint8Array): unknown {
  return verifyDocument(bytes, deviceSignPublicKey, REPLY_LIMITS).body;
}
