export { OwnerChannel, type OwnerChannelOptions, type OwnerChannelCounters } from './channel.js';
export type { OwnerActions } from './contract.js';
export { OwnerStore, type OwnerRecord, OWNER_FILE } from './owner-store.js';
export { NonceCache, NONCE_FILE } from './nonce-cache.js';
export { decodePairingPayload, encodePairingPayload, openPairingRequest, sealPairingRequest, generateSetupCode, type PairingPayload, type PairingRequest } from './pairing.js';
export { REQUEST_KINDS, signRequest, DEFAULT_REQUEST_LIMITS, type OwnerRequest, type RequestFields, type RequestKind, type RequestLimits } from './requests.js';
export type { AcceptedReply, RejectedReply, StateReport, Receipt, PairingReply } from './replies.js';
export { FailureLimiter, DEFAULT_RATE_LIMIT, type RateLimitOptions } from './rate-limit.js';
export { base64urlDecode, base64urlEncode } from './base64url.js';
