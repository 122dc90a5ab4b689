/** Companion library for app developers: pair with a device and talk to it over any Transport. */
export { Companion, createCompanion, noReplyOf, type CompanionOptions, type DeviceStatus, type NoReply, type PairingResult, type RefusedMessage, type RequestOptions } from './client.js';
export { exportToCsv, exportToJson, readExport, type ExportDocument } from './export-format.js';
export { decodeOwnerKeyFile, encodeOwnerKeyFile, generateOwnerKeys, ownerKeysFrom, type KnownDevice, type OwnerKeyFile, type OwnerKeys } from './keys.js';
export { verifyManifest, verifyPairingReply, verifyReceiptBytes, verifyReply, verifyState } from './verify.js';
export { decodePairingPayload, type PairingPayload } from '../agent/owner/pairing.js';
export { openSealed } from '../agent/owner/seal.js';
export type { AcceptedReply, RejectedReply, StateReport, Receipt } from '../agent/owner/replies.js';
export type { RequestKind } from '../agent/owner/requests.js';
/** Bare engines without Web Crypto: give the companion a secure random source before anything else. */
export { wireRandom as useRandom } from '../agent/crypto/random.js';
