/**
 * The sealing core alone: identity keys, CBOR, envelopes v1 and v2 and the sealer, with no policy, store, owner channel
 * or audit. For devices whose firmware enforces policy itself and only needs end-to-end sealed telemetry, and for
 * collectors on bare engines. Budget: 88 KB minified, 30 KB gzip (checked by test/quickjs.test.ts).
 */
export { Sealer, newSessionId } from './sealer.js';
export type { SealerOptions } from './sealer.js';
export { sealEnvelope, openEnvelope, parseEnvelope, openParsedEnvelope, ENVELOPE_VERSION, ENVELOPE_LIMITS } from '../codec/envelope.js';
export type { EnvelopeReading, OpenedEnvelope, ParsedEnvelope } from '../codec/envelope.js';
export { DEFAULT_SUITES, ALG_X25519_XSALSA20_POLY1305, createSuiteRegistry } from '../crypto/suites.js';
export { encodeCbor, decodeCbor } from '../codec/cbor.js';
export { generateIdentity, keyId, toHex, fromHex } from '../crypto/keys.js';
export { wireRandom } from '../crypto/random.js';
export { signDocument, verifyDocument } from '../crypto/sign.js';
export { TrustError } from '../errors.js';
export { topics } from '../topics.js';
