import nacl from 'tweetnacl';
import {
  ENVELOPE_LIMITS,
  openParsedEnvelope,
  parseEnvelope,
  type EnvelopeReading,
  type OpenedEnvelope,
  type ParsedEnvelope,
} from '../agent/codec/envelope.js';
import { keyId, toHex } from '../agent/crypto/keys.js';
import { DEFAULT_SUITES, SharedKeyCache, type SuiteRegistry } from '../agent/crypto/suites.js';
import { assertStrongX25519 } from '../agent/crypto/weak-keys.js';
import { TrustError, isTrustError, type TrustErrorCode } from '../agent/errors.js';
import type { Transport } from '../agent/ports/transport.js';
import { parseDeviceTopic, topics } from '../agent/topics.js';
import { ReadingTracker, ReplayGuard } from './dedup.js';

/**
 * The receiving side a vendor's cloud would run: opens v1 envelopes, checks they belong where they arrived,
 * refuses replays, delivers each reading once. Neutral code (no Node), so it runs wherever the agent runs.
 */
export type RejectReason = 'malformed' | 'oversized' | 'unsupported' | 'unknown-key' | 'auth-failed' | 'replay' | 'mismatch';
export const REJECT_REASONS: readonly RejectReason[] = ['malformed', 'oversized', 'unsupported', 'unknown-key', 'auth-failed', 'replay', 'mismatch'];

export interface KnownDevice {
  deviceId: string;
  /** The device's X25519 public key (DeviceIdentity.boxPublicKey). */
  boxPublicKey: Uint8Array;
}

/** External device registry: the device that owns an 8-byte sender key id, if any. */
export type DeviceLookup = (senderKeyId: Uint8Array) => KnownDevice | undefined;

export interface CollectorOptions {
  /** The collector's X25519 secret key; devices seal to its public key. */
  secretKey: Uint8Array;
  devices?: readonly KnownDevice[] | DeviceLookup;
  now(): number;
  maxEnvelopeBytes?: number;
  suites?: SuiteRegistry;
  /** Envelope replay window per (device, session), in sequence numbers. */
  replayWindow?: number;
  maxSessionsPerDevice?: number;
  /** Most reading ids remembered for dedup (they are also forgotten once expired). */
  maxTrackedReadings?: number;
  /**
   * Precomputed shared keys kept (one per device key; 32 B each). Size it to the fleet: a miss costs a full X25519
   * agreement (~0.6 ms), so a fleet larger than the cache recomputes on every envelope. Default 16,384.
   */
  maxSharedKeys?: number;
}

export interface ReadingMeta {
  envelopeTs: number;
  receivedAt: number;
  /** Hex session id and sequence number of the envelope that carried the reading. */
  envelopeSession: string;
  envelopeSeq: number;
}

export type ReadingListener = (deviceId: string, reading: EnvelopeReading, meta: ReadingMeta) => void;

export type IngestResult =
  | { ok: true; deviceId: string; delivered: EnvelopeReading[]; duplicates: number; expired: number }
  | { ok: false; reason: RejectReason; code: TrustErrorCode };

export interface CollectorStats {
  received: number;
  accepted: number;
  /** Readings delivered (each once). */
  readings: number;
  duplicates: number;
  expiredOnArrival: number;
  rejected: Record<RejectReason, number>;
  /** Exceptions thrown by onReading callbacks (caught: one bad consumer must not stop ingest). */
  listenerErrors: number;
}

export interface Collector {
  readonly publicKey: Uint8Array;
  readonly keyId: Uint8Array;
  ingest(topic: string, payload: Uint8Array): IngestResult;
  /** Subscribe to every device's telemetry at QoS 1 on a connected transport; resubscribes on reconnect. */
  attach(transport: Transport): Promise<void>;
  onReading(listener: ReadingListener): () => void;
  addDevice(deviceId: string, boxPublicKey: Uint8Array): void;
  removeDeviceKey(boxPublicKey: Uint8Array): boolean;
  /** Recipient key rotation: envelopes sealed to an older key still open while it is held. */
  addRecipientKey(secretKey: Uint8Array): void;
  stats(): CollectorStats;
}

const REASON_BY_CODE: Partial<Record<TrustErrorCode, RejectReason>> = {
  MALFORMED: 'malformed',
  OVERSIZED: 'oversized',
  UNSUPPORTED_VERSION: 'unsupported',
  UNKNOWN_ALGORITHM: 'unsupported',
  UNKNOWN_KEY: 'unknown-key',
  // A looked-up device key of low order: as unusable as an unknown one; the result's code says WEAK_KEY.
  WEAK_KEY: 'unknown-key',
  AUTH_FAILED: 'auth-failed',
  REPLAY: 'replay',
  HEADER_MISMATCH: 'mismatch',
};

function replayKey(parsed: ParsedEnvelope): string {
  return `${toHex(parsed.header.senderKeyId)}:${toHex(parsed.header.sessionId)}`;
}

interface RecipientKey {
  secretKey: Uint8Array;
  id: string;
}

export function createCollector(options: CollectorOptions): Collector {
  const suites = options.suites ?? DEFAULT_SUITES;
  const maxEnvelopeBytes = options.maxEnvelopeBytes ?? ENVELOPE_LIMITS.maxEnvelopeBytes;
  const sharedKeys = new SharedKeyCache(options.maxSharedKeys ?? 16_384);
  const recipients = new Map<string, RecipientKey>();
  const provisioned = new Map<string, KnownDevice>();
  const lookup = typeof options.devices === 'function' ? options.devices : undefined;
  const replays = new ReplayGuard(options.replayWindow ?? 4096, options.maxSessionsPerDevice ?? 16);
  const tracker = new ReadingTracker(options.maxTrackedReadings ?? 1_000_000);
  const listeners = new Set<ReadingListener>();
  const stats: CollectorStats = {
    received: 0, accepted: 0, readings: 0, duplicates: 0, expiredOnArrival: 0, listenerErrors: 0,
    rejected: { malformed: 0, oversized: 0, unsupported: 0, 'unknown-key': 0, 'auth-failed': 0, replay: 0, mismatch: 0 },
  };

  function addRecipientKey(secretKey: Uint8Array): Uint8Array {
    if (!(secretKey instanceof Uint8Array) || secretKey.length !== nacl.box.secretKeyLength) {
      throw new TrustError('INVALID_ARGUMENT', `secretKey must be ${nacl.box.secretKeyLength} bytes`);
    }
    const publicKey = nacl.box.keyPair.fromSecretKey(secretKey).publicKey;
    const id = toHex(keyId(publicKey));
    recipients.set(id, { secretKey: secretKey.slice(), id });
    return publicKey;
  }

  function addDevice(deviceId: string, boxPublicKey: Uint8Array): void {
    if (parseDeviceTopic(topics.telemetry(String(deviceId)))?.deviceId !== deviceId) {
      throw new TrustError('INVALID_ARGUMENT', 'deviceId must be 1-64 characters of A-Z a-z 0-9 _ -');
    }
    if (!(boxPublicKey instanceof Uint8Array) || boxPublicKey.length !== nacl.box.publicKeyLength) {
      throw new TrustError('INVALID_ARGUMENT', `boxPublicKey must be ${nacl.box.publicKeyLength} bytes`);
    }
    assertStrongX25519(boxPublicKey, 'boxPublicKey');
    provisioned.set(toHex(keyId(boxPublicKey)), { deviceId, boxPublicKey: boxPublicKey.slice() });
  }

  function findDevice(senderKeyId: Uint8Array): KnownDevice {
    const device = provisioned.get(toHex(senderKeyId)) ?? lookup?.(senderKeyId);
    if (device === undefined) throw new TrustError('UNKNOWN_KEY', 'envelope is sealed by an unknown device key');
    return device;
  }

  /** Everything that can be checked before paying for decryption, then the open itself. */
  function open(topic: string, payload: Uint8Array): { parsed: ParsedEnvelope; opened: OpenedEnvelope; session: string } {
    const parsed = parseEnvelope(payload, { maxEnvelopeBytes, suites });
    const recipient = recipients.get(toHex(parsed.header.recipientKeyId));
    if (recipient === undefined) throw new TrustError('UNKNOWN_KEY', 'envelope is sealed to a key this collector does not hold');
    const device = findDevice(parsed.header.senderKeyId);
    const place = typeof topic === 'string' ? parseDeviceTopic(topic) : undefined;
    // The sender key is bound to one device: a device cannot publish as another, even with its own valid key.
    if (place === undefined || place.deviceId !== device.deviceId) {
      throw new TrustError('HEADER_MISMATCH', 'envelope arrived on a topic of another device');
    }
    const session = toHex(parsed.header.sessionId);
    // Only authenticated envelopes are ever recorded, so a forged one cannot burn a sequence number. The sender
    // key is part of the replay key: a device whose key was rotated starts a new sequence space.
    if (replays.seen(device.deviceId, replayKey(parsed), parsed.header.seq)) throw new TrustError('REPLAY', 'envelope already accepted');
    const shared = sharedKeys.get(parsed.suite, device.boxPublicKey, recipient.secretKey, recipient.id);
    const opened = openParsedEnvelope(parsed, shared, { deviceId: place.deviceId, stream: place.rest });
    return { parsed, opened, session };
  }

  function deliver(opened: OpenedEnvelope, session: string, receivedAt: number): IngestResult {
    const { deviceId, header } = opened;
    const delivered: EnvelopeReading[] = [];
    let duplicates = 0;
    let expired = 0;
    for (const reading of opened.readings) {
      if (reading.expiresAt <= receivedAt) expired++;
      else if (!tracker.admit(deviceId, reading.id.session, reading.id.seq, reading.expiresAt, receivedAt)) duplicates++;
      else delivered.push(reading);
    }
    stats.accepted++;
    stats.readings += delivered.length;
    stats.duplicates += duplicates;
    stats.expiredOnArrival += expired;
    const meta: ReadingMeta = { envelopeTs: header.ts, receivedAt, envelopeSession: session, envelopeSeq: header.seq };
    for (const reading of delivered) notify(deviceId, reading, meta);
    return { ok: true, deviceId, delivered, duplicates, expired };
  }

  function notify(deviceId: string, reading: EnvelopeReading, meta: ReadingMeta): void {
    for (const listener of listeners) {
      try {
        listener(deviceId, reading, meta);
      } catch {
        stats.listenerErrors++;
      }
    }
  }

  function ingest(topic: string, payload: Uint8Array): IngestResult {
    stats.received++;
    try {
      const receivedAt = options.now();
      const { parsed, opened, session } = open(topic, payload);
      replays.record(opened.deviceId, replayKey(parsed), parsed.header.seq);
      return deliver(opened, session, receivedAt);
    } catch (error) {
      const code: TrustErrorCode = isTrustError(error) ? error.code : 'MALFORMED';
      const reason = REASON_BY_CODE[code] ?? 'malformed';
      stats.rejected[reason]++;
      return { ok: false, reason, code };
    }
  }

  async function attach(transport: Transport): Promise<void> {
    const filter = topics.allTelemetry();
    transport.onMessage((message) => {
      // A shared transport may carry other subscriptions; only telemetry topics are the collector's business.
      if (parseDeviceTopic(message.topic)?.rest === 'telemetry') ingest(message.topic, message.payload);
    });
    transport.onConnection((connected) => {
      if (connected) transport.subscribe(filter, 1).catch(() => undefined);
    });
    await transport.subscribe(filter, 1);
  }

  const publicKey = addRecipientKey(options.secretKey);
  if (Array.isArray(options.devices)) for (const d of options.devices as readonly KnownDevice[]) addDevice(d.deviceId, d.boxPublicKey);

  return {
    publicKey,
    keyId: keyId(publicKey),
    ingest,
    attach,
    onReading(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    addDevice,
    removeDeviceKey: (boxPublicKey) => provisioned.delete(toHex(keyId(boxPublicKey))),
    addRecipientKey(secretKey) {
      addRecipientKey(secretKey);
    },
    stats: () => ({ ...stats, rejected: { ...stats.rejected } }),
  };
}
