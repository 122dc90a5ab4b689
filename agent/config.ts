import { TrustError } from './errors.js';
import { assertStrongX25519 } from './crypto/weak-keys.js';
import { assertDeviceId } from './topics.js';

/**
 * A device type is any name a firmware team chooses (1-64 of a-z 0-9 - _, starting with a letter or digit), e.g.
 * 'smart-plug'. It must equal the `deviceType` of the registry the firmware ships.
 */
export type DeviceType = string;
const DEVICE_TYPE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** What a firmware team configures. Everything has a safe default except identity and the recipient. */
export interface AgentConfig {
  deviceId: string;
  deviceType: DeviceType;
  /** The collector's X25519 public key: telemetry is sealed to it end to end. */
  recipientPublicKey: Uint8Array;
  /**
   * The vendor's Ed25519 trust root (`trust-agent keys root`). A recipient rotation signed by it (and with a higher
   * serial) replaces the collector key in the field; without it the collector key cannot be rotated and every
   * rotation message is refused and audited.
   */
  trustRootPublicKey?: Uint8Array;
  /**
   * The data-category registry this firmware ships (validated at load; `INVALID_REGISTRY` names the place), for
   * `deviceType`. Required: the agent carries no registry of its own, so a firmware bundle holds only the one it
   * imports (the shipped `thermostatRegistry`, `smartLockRegistry` and `fitnessTrackerRegistry` are examples). A newer
   * registry than the one the owner's settings were made under is a policy update: widening waits for consent,
   * narrowing applies at boot.
   */
  registry: unknown;
  /**
   * Declares a plaintext broker link for hosts whose transport does not report `security` (the Node and memory
   * adapters do, and that report wins). It puts the device in degraded, essential-only safe mode (R14).
   */
  insecureTransport?: boolean;
  telemetry?: {
    /** Most readings sealed into one envelope (batching saves ~70 B of envelope and radio time per reading). */
    maxBatch?: number;
    /** How long a reading may wait for companions before its envelope is sealed (virtual or real ms). */
    batchDelayMs?: number;
    /** Drain rate after reconnect, envelopes per second. */
    drainPerSecond?: number;
    /** Envelope version sent: 2 (default, docs/protocol.md) or 1 for a collector not yet updated (it accepts v1 only). */
    envelopeVersion?: 1 | 2;
  };
  store?: {
    /**
     * 'group' (default): `record()` resolves after the fsync it shares with every writer that arrived meanwhile;
     * 'each': one fsync per append. Either way a resolved `record()` is on disk.
     */
    durability?: 'each' | 'group';
    /** Extra gathering delay before a group fsync; 0 (default) groups only writers that overlap a running fsync. */
    groupCommitMs?: number;
    maxBytes?: number;
    maxRecords?: number;
  };
  /**
   * Scheduled retention sweep, ms (default 5 min). Sweeping also runs at start and before every publish, and expired
   * records are never returned or sent; the schedule bounds how long an expired epoch's bytes stay on flash (epoch 1 h).
   */
  sweepIntervalMs?: number;
  /** Pairing window opened by the local button, ms. */
  pairingWindowMs?: number;
}

export interface ResolvedConfig {
  deviceId: string;
  deviceType: DeviceType;
  recipientPublicKey: Uint8Array;
  trustRootPublicKey: Uint8Array | undefined;
  registry: unknown;
  insecureTransport: boolean;
  maxBatch: number;
  batchDelayMs: number;
  drainPerSecond: number;
  envelopeVersion: 1 | 2;
  durability: 'each' | 'group';
  groupCommitMs: number;
  maxBytes: number;
  maxRecords: number;
  sweepIntervalMs: number;
  pairingWindowMs: number;
}

export function resolveConfig(config: AgentConfig): ResolvedConfig {
  if (config === null || typeof config !== 'object') throw new TrustError('INVALID_CONFIG', 'config must be an object');
  try {
    assertDeviceId(config.deviceId);
  } catch (cause) {
    throw new TrustError('INVALID_CONFIG', 'config.deviceId must be 1-64 characters of A-Z a-z 0-9 _ -', { cause });
  }
  if (typeof config.deviceType !== 'string' || !DEVICE_TYPE_NAME.test(config.deviceType)) {
    throw new TrustError('INVALID_CONFIG', 'config.deviceType must be a device type name: 1-64 characters of a-z 0-9 - _ (e.g. smart-plug)');
  }
  if (config.registry === undefined || config.registry === null) {
    throw new TrustError('INVALID_CONFIG', `config.registry is missing: device type '${config.deviceType}' needs the registry its firmware ships`
      + ' (write your own, see docs/policy.md; thermostatRegistry, smartLockRegistry and fitnessTrackerRegistry are examples)');
  }
  if (!(config.recipientPublicKey instanceof Uint8Array) || config.recipientPublicKey.length !== 32) {
    throw new TrustError('INVALID_CONFIG', 'config.recipientPublicKey must be a 32-byte X25519 public key');
  }
  // A low-order recipient key would let anyone open the sealed telemetry (WEAK_KEY names the parameter).
  assertStrongX25519(config.recipientPublicKey, 'config.recipientPublicKey');
  const t = config.telemetry ?? {};
  const s = config.store ?? {};
  return {
    deviceId: config.deviceId,
    deviceType: config.deviceType,
    recipientPublicKey: config.recipientPublicKey,
    trustRootPublicKey: trustRoot(config.trustRootPublicKey),
    registry: config.registry,
    insecureTransport: config.insecureTransport === true,
    maxBatch: positiveInt(t.maxBatch, 'telemetry.maxBatch', 32, 256),
    batchDelayMs: positiveInt(t.batchDelayMs, 'telemetry.batchDelayMs', 1000, 3_600_000),
    drainPerSecond: positiveInt(t.drainPerSecond, 'telemetry.drainPerSecond', 50, 100_000),
    envelopeVersion: t.envelopeVersion === undefined || t.envelopeVersion === 2 ? 2 : t.envelopeVersion === 1 ? 1 : invalid('telemetry.envelopeVersion'),
    durability: s.durability === 'each' ? 'each' : s.durability === undefined || s.durability === 'group' ? 'group' : invalid('store.durability'),
    groupCommitMs: wholeNumber(s.groupCommitMs, 'store.groupCommitMs', 0, 10_000),
    maxBytes: positiveInt(s.maxBytes, 'store.maxBytes', 8 * 1024 * 1024, 2 ** 40),
    maxRecords: positiveInt(s.maxRecords, 'store.maxRecords', 200_000, 2 ** 40),
    sweepIntervalMs: positiveInt(config.sweepIntervalMs, 'sweepIntervalMs', 300_000, 86_400_000),
    pairingWindowMs: positiveInt(config.pairingWindowMs, 'pairingWindowMs', 120_000, 3_600_000),
  };
}

function trustRoot(key: Uint8Array | undefined): Uint8Array | undefined {
  if (key === undefined) return undefined;
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new TrustError('INVALID_CONFIG', 'config.trustRootPublicKey must be a 32-byte Ed25519 public key');
  return key.slice();
}

function positiveInt(value: number | undefined, name: string, fallback: number, max: number): number {
  return checkedInt(value, name, fallback, 1, max);
}

function wholeNumber(value: number | undefined, name: string, fallback: number, max: number): number {
  return checkedInt(value, name, fallback, 0, max);
}

function checkedInt(value: number | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new TrustError('INVALID_CONFIG', `config.${name} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function invalid(name: string): never {
  throw new TrustError('INVALID_CONFIG', `config.${name} has an unsupported value`);
}
