import nacl from 'tweetnacl';
import { signDocument } from '../crypto/sign.js';
import type { TrustErrorCode } from '../errors.js';
import type { RequestKind } from './requests.js';
import type { PartsInfo } from './parts.js';

/**
 * Every reply, receipt and state report is a signed document (agent/crypto/sign.ts) under the device sign key,
 * so the companion can tell them from anything a broker or another client publishes.
 */
export interface AcceptedReply {
  v: 1;
  outcome: 'accepted';
  deviceId: string;
  clientToken: string;
  kind: RequestKind;
  version: number;
  enforced: unknown;
  issuedAt: number;
  /** Signed receipt document (data-rights kinds). */
  receipt?: Uint8Array;
  /** Export sealed to the owner box key ('export'). */
  export?: Uint8Array;
  /** Audit trail bytes ('get-audit'). */
  audit?: Uint8Array;
  /** Self-assessment report ('get-report'), signed with the rest of the reply. */
  report?: unknown;
  /** When `export` or `audit` was too large for one reply: it arrived as parts; this names them (agent/owner/parts.ts). */
  parts?: PartsInfo;
}

export interface RejectedReply {
  v: 1;
  outcome: 'rejected';
  deviceId: string;
  clientToken: string;
  code: TrustErrorCode;
  reason: string;
  issuedAt: number;
  currentVersion?: number;
}

export interface StateReport {
  v: 1;
  deviceId: string;
  paired: boolean;
  ownerKeyId?: Uint8Array;
  version: number;
  enforced: unknown;
  issuedAt: number;
}

export interface Receipt {
  v: 1;
  type: 'receipt';
  deviceId: string;
  kind: RequestKind | 'pairing';
  clientToken: string;
  issuedAt: number;
  details: unknown;
}

export function signReply(reply: AcceptedReply | RejectedReply, signSecretKey: Uint8Array): Uint8Array {
  return signDocument(reply, signSecretKey);
}

export function signReceipt(receipt: Receipt, signSecretKey: Uint8Array): Uint8Array {
  return signDocument(receipt, signSecretKey);
}

export function signState(state: StateReport, signSecretKey: Uint8Array): Uint8Array {
  return signDocument(state, signSecretKey);
}

/** A short digest that lets a receipt name bulky bytes (an export) without carrying them. */
export function digest(bytes: Uint8Array): Uint8Array {
  return nacl.hash(bytes).subarray(0, 32).slice();
}

export interface PairingReply {
  v: 1;
  type: 'pairing';
  deviceId: string;
  requestId: Uint8Array;
  outcome: 'accepted' | 'rejected';
  code?: TrustErrorCode;
  reason?: string;
  ownerKeyId?: Uint8Array;
  pairedAt?: number;
}

export function signPairingReply(reply: PairingReply, signSecretKey: Uint8Array): Uint8Array {
  return signDocument(reply, signSecretKey);
}
