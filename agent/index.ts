/**
 * iot-trust-agent, the portable core. Imports nothing from any host: hand it `Ports` (see agent/ports) built by an
 * adapter (agent/adapters/node for Linux gateways, agent/adapters/memory for tests and simulations, or your own for
 * a bare engine) and call `createAgent`.
 */
export { createAgent } from './agent.js';
export type { Agent, RecordResult } from './agent.js';
export type { AgentConfig, DeviceType } from './config.js';
export type { AgentStatus, EnforcedState } from './status.js';
export { TrustError, isTrustError } from './errors.js';
export type { TrustErrorCode } from './errors.js';
export type * from './ports/index.js';

// Wire formats, for collectors, companions and known-answer tests.
export { encodeCbor, decodeCbor } from './codec/cbor.js';
export { sealEnvelope, openEnvelope, parseEnvelope, ENVELOPE_VERSION } from './codec/envelope.js';
export type { EnvelopeReading, OpenedEnvelope } from './codec/envelope.js';
export { Sealer, newSessionId } from './telemetry/sealer.js';
export { DEFAULT_SUITES, ALG_X25519_XSALSA20_POLY1305, createSuiteRegistry } from './crypto/suites.js';
export { generateIdentity, keyId, toHex, fromHex } from './crypto/keys.js';
export type { DeviceIdentity } from './crypto/keys.js';
export { signDocument, verifyDocument } from './crypto/sign.js';
export { wireRandom } from './crypto/random.js';
export { installCrypto, resetCrypto, tweetnaclCrypto } from './crypto/primitives.js';
export { topics, TOPIC_ROOT } from './topics.js';

// Policy: the registry the gate enforces. A firmware passes its own in the config; the three shipped example
// registries are the separate entry './registries.js' (iot-trust-agent/registries), so this one carries none.
export { loadRegistry } from './policy/registry.js';
export type { Manifest, Registry, Setting, Sensitivity } from './policy/index.js';
// Off-device tools (labels, verifier, report rendering) live in './evidence.js'; deterministic in-memory ports in
// './adapters/memory/index.js'. Keeping them out of this entry keeps the device bundle to what runs on a device.
