import nacl from 'tweetnacl';
import {
  ENVELOPE_LIMITS,
  openParsedEnvelope,
  type EnvelopeReading,
  type ParsedEnvelope,
} from '../agent/codec/envelope.js';
import { parseAnyEnvelope } from '../agent/codec/envelope-any.js';
import { categoryTable, type OpenedV2, type ParsedV2 } from '../agent/codec/envelope-v2.js';
import { DEVICE_TYPES, registryFor } from '../agent/policy/devices/index.js';
import { FingerprintMemory, PrefixCache, openV2Candidates, type Candidate } from './open-v2.js';
import { keyId, toHex } from '../agent/crypto/keys.js';
import { DEFAULT_SUITES, SharedKeyCache, type SuiteRegistry } from '../agent/crypto/suites.js';
import { assertStrongX25519 } from '../agent/crypto/weak-keys.js';
import { TrustError, assertBytes, isTrustError, type TrustErrorCode } from '../agent/errors.js';
import type { Transport } from '../agent/ports/transport.js';
import { parseDeviceTopic, topics } from '../agent/topics.js';
import { ReadingTracker, ReplayGuard } from './dedup.js';
import { bindState, type CollectorState } from './state.js';
import { DeviceKeyFollower } from './follow.js';

/**
 * The receiving side a vendor's cloud would run: opens v1 and v2 envelopes, checks they belong where they arrived,
 * refuses replays, delivers each reading once. Neutral code (no Node), so it runs wherever the agent runs.
 */
export type RejectReason =
  | 'malformed' | 'oversized' | 'unsupported' | 'unknown-key' | 'auth-failed' | 'replay' | 'mismatch' | 'nonce-reuse' | 'unknown-category';
export const REJECT_REASONS: readonly RejectReason[] = [
  'malformed', 'oversized', 'unsupported', 'unknown-key', 'auth-failed', 'replay', 'mismatch', 'nonce-reuse', 'unknown-category',
];

export interface KnownDevice {
  deviceId: string;
  /** The device's X25519 public key (DeviceIdentity.boxPublicKey). */
  boxPublicKey: Uint8Array;
  /** The device's Ed25519 public key: lets the collector follow the device's key announcements after a transfer. */
  signPublicKey?: Uint8Array;
}

/** External device registry: the device that owns an 8-byte sender key id, if any. */
export type DeviceLookup = (senderKeyId: Uint8Array) => KnownDevice | undefined;

export interface CollectorOptions {
  /** The collector's X25519 secret key; devices seal to its public key. */
  secretKey: Uint8Array;
  devices?: readonly KnownDevice[] | DeviceLookup;
  /**
   * v2 names no key ids: the collector finds the sender's keys by the topic's device id. Provisioned devices
   * (`devices` as a list, `addDevice`) are found by id; with a `DeviceLookup` function, give this one too.
   */
  deviceKeys?: (deviceId: string) => readonly KnownDevice[];
  /**
   * v2 sends categories as indexes into the sender's registry, named by a table id computed from its category
   * names. The collector knows the registries shipped with this package; give any other registry the devices run
   * here (a vendor's own). An index into a table the collector does not know is refused as `unknown-category`.
   */
  registries?: ReadonlyArray<{ categories: ReadonlyArray<{ name: string }> }>;
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
  /** v2 envelopes whose ciphertext fingerprint is kept to tell a nonce reuse from a replay (default 65,536). */
  maxFingerprints?: number;
  /**
   * Replay and dedup memory that survives restarts (`fileCollectorState(storage)`, or a vendor's shared store;
   * docs/protocol.md, "Collector state"). Without it the collector forgets on restart.
   */
  state?: CollectorState;
}

export interface AttachOptions {
  /** Shared-subscription group name (A-Z a-z 0-9 _ -): several collector processes split the telemetry. */
  shareGroup?: string;
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
  /** Device key announcements (ownership transfer): keys adopted, and announcements refused. */
  keyAnnouncements: { followed: number; rejected: number };
}

export interface Collector {
  readonly publicKey: Uint8Array;
  readonly keyId: Uint8Array;
  ingest(topic: string, payload: Uint8Array): IngestResult;
  /**
   * Subscribe to every device's telemetry at QoS 1 on a connected transport; resubscribes on reconnect. With
   * `shareGroup`, telemetry comes through the MQTT shared subscription `$share/<group>/ta/v1/+/telemetry` (the
   * broker spreads it over the group's members); key announcements always come whole, to every member.
   */
  attach(transport: Transport, options?: AttachOptions): Promise<void>;
  onReading(listener: ReadingListener): () => void;
  /** Provisions a device key; with its signing key the collector also follows the device's key announcements. */
  addDevice(deviceId: string, boxPublicKey: Uint8Array, signPublicKey?: Uint8Array): void;
  removeDeviceKey(boxPublicKey: Uint8Array): boolean;
  /** Recipient key rotation: envelopes sealed to an older key still open while it is held. */
  addRecipientKey(secretKey: Uint8Array): void;
  /** Ends the overlap of a rotated-out recipient key: from `atMs` (collector time, default now) it opens nothing. */
  retireRecipientKey(publicKey: Uint8Array, atMs?: number): boolean;
  /** A device's announcement of its new keys (topic ta/v1/{id}/keys/device); attach() routes them here. */
  followDeviceKeys(topic: string, payload: Uint8Array): { ok: true; adopted: number } | { ok: false; code: TrustErrorCode };
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
  NONCE_REUSE: 'nonce-reuse',
  UNKNOWN_CATEGORY: 'unknown-category',
};

function replayKey(parsed: ParsedEnvelope): string {
  return `${toHex(parsed.header.senderKeyId)}:${toHex(parsed.header.sessionId)}`;
}

interface RecipientKey {
  secretKey: Uint8Array;
  id: string;
  keyId: Uint8Array;
  retireAt?: number;
}

export function createCollector(options: CollectorOptions): Collector {
  const suites = options.suites ?? DEFAULT_SUITES;
  const maxEnvelopeBytes = options.maxEnvelopeBytes ?? ENVELOPE_LIMITS.maxEnvelopeBytes;
  const sharedKeys = new SharedKeyCache(options.maxSharedKeys ?? 16_384);
  const recipients = new Map<string, RecipientKey>();
  const provisioned = new Map<string, KnownDevice>();
  /** deviceId -> (key id hex -> device): v2 finds the sender's keys by the topic's device. */
  const byDevice = new Map<string, Map<string, KnownDevice>>();
  const tables = categoryTables([...shippedRegistries(), ...(options.registries ?? [])]);
  const fingerprints = new FingerprintMemory(options.maxFingerprints ?? 65_536);
  const prefixes = new PrefixCache(16_384);
  const lookup = typeof options.devices === 'function' ? options.devices : undefined;
  const replays = new ReplayGuard(options.replayWindow ?? 4096, options.maxSessionsPerDevice ?? 16);
  const tracker = new ReadingTracker(options.maxTrackedReadings ?? 1_000_000);
  if (options.state !== undefined) bindState(options.state, replays, tracker, () => options.now());
  const listeners = new Set<ReadingListener>();
  const stats: CollectorStats = {
    received: 0, accepted: 0, readings: 0, duplicates: 0, expiredOnArrival: 0, listenerErrors: 0,
    rejected: {
      malformed: 0, oversized: 0, unsupported: 0, 'unknown-key': 0, 'auth-failed': 0, replay: 0, mismatch: 0, 'nonce-reuse': 0, 'unknown-category': 0,
    },
    keyAnnouncements: { followed: 0, rejected: 0 },
  };
  const follower = new DeviceKeyFollower();

  function addRecipientKey(secretKey: Uint8Array): Uint8Array {
    if (!(secretKey instanceof Uint8Array) || secretKey.length !== nacl.box.secretKeyLength) {
      throw new TrustError('INVALID_ARGUMENT', `secretKey must be ${nacl.box.secretKeyLength} bytes`);
    }
    const publicKey = nacl.box.keyPair.fromSecretKey(secretKey).publicKey;
    const id = toHex(keyId(publicKey));
    recipients.set(id, { secretKey: secretKey.slice(), id, keyId: keyId(publicKey) });
    return publicKey;
  }

  function addDevice(deviceId: string, boxPublicKey: Uint8Array, signPublicKey?: Uint8Array): void {
    if (parseDeviceTopic(topics.telemetry(String(deviceId)))?.deviceId !== deviceId) {
      throw new TrustError('INVALID_ARGUMENT', 'deviceId must be 1-64 characters of A-Z a-z 0-9 _ -');
    }
    if (!(boxPublicKey instanceof Uint8Array) || boxPublicKey.length !== nacl.box.publicKeyLength) {
      throw new TrustError('INVALID_ARGUMENT', `boxPublicKey must be ${nacl.box.publicKeyLength} bytes`);
    }
    assertStrongX25519(boxPublicKey, 'boxPublicKey');
    if (signPublicKey !== undefined) assertBytes(signPublicKey, 'signPublicKey', nacl.sign.publicKeyLength);
    const id = toHex(keyId(boxPublicKey));
    const known = { deviceId, boxPublicKey: boxPublicKey.slice() };
    removeDeviceKey(boxPublicKey);
    provisioned.set(id, known);
    let keys = byDevice.get(deviceId);
    if (keys === undefined) byDevice.set(deviceId, (keys = new Map()));
    keys.set(id, known);
    if (signPublicKey !== undefined) follower.know(deviceId, signPublicKey);
  }

  function removeDeviceKey(boxPublicKey: Uint8Array): boolean {
    const id = toHex(keyId(boxPublicKey));
    const known = provisioned.get(id);
    if (known === undefined) return false;
    provisioned.delete(id);
    byDevice.get(known.deviceId)?.delete(id);
    return true;
  }

  function followDeviceKeys(topic: string, payload: Uint8Array): { ok: true; adopted: number } | { ok: false; code: TrustErrorCode } {
    try {
      const place = parseDeviceTopic(topic);
      if (place === undefined || place.rest !== 'keys/device') throw new TrustError('HEADER_MISMATCH', 'not a device key topic');
      const adopted = follower.follow(place.deviceId, payload);
      // The previous box key stays provisioned: envelopes sealed before the transfer still open (the overlap).
      for (const keys of adopted) addDevice(place.deviceId, keys.boxPublicKey);
      stats.keyAnnouncements.followed += adopted.length;
      return { ok: true, adopted: adopted.length };
    } catch (error) {
      stats.keyAnnouncements.rejected++;
      return { ok: false, code: isTrustError(error) ? error.code : 'MALFORMED' };
    }
  }

  function retireRecipientKey(publicKey: Uint8Array, atMs = options.now()): boolean {
    const recipient = recipients.get(toHex(keyId(publicKey)));
    if (recipient === undefined) return false;
    recipient.retireAt = atMs;
    return true;
  }

  /** The recipient keys still open: a retired key (its overlap ended) is dropped on first use after its time. */
  function liveRecipients(): RecipientKey[] {
    const now = options.now();
    for (const r of recipients.values()) if (r.retireAt !== undefined && now >= r.retireAt) recipients.delete(r.id);
    return [...recipients.values()];
  }

  function findDevice(senderKeyId: Uint8Array): KnownDevice {
    const device = provisioned.get(toHex(senderKeyId)) ?? lookup?.(senderKeyId);
    if (device === undefined) throw new TrustError('UNKNOWN_KEY', 'envelope is sealed by an unknown device key');
    return device;
  }

  /** What an accepted envelope of either version yields. */
  interface Accepted {
    deviceId: string;
    replayKey: string;
    seq: number;
    ts: number;
    session: string;
    readings: EnvelopeReading[];
    fingerprint?: string;
  }

  /** Everything that can be checked before paying for decryption, then the open itself. */
  function open(topic: string, payload: Uint8Array): Accepted {
    const any = parseAnyEnvelope(payload, { maxEnvelopeBytes, suites });
    if (any.version === 2) return openV2(topic, any.v2);
    const parsed = any.v1;
    const recipient = recipients.get(toHex(parsed.header.recipientKeyId));
    if (recipient?.retireAt !== undefined && options.now() >= recipient.retireAt) recipients.delete(recipient.id);
    if (recipient === undefined || !recipients.has(recipient.id)) throw new TrustError('UNKNOWN_KEY', 'envelope is sealed to a key this collector does not hold');
    const device = findDevice(parsed.header.senderKeyId);
    const place = typeof topic === 'string' ? parseDeviceTopic(topic) : undefined;
    // The sender key is bound to one device: a device cannot publish as another, even with its own valid key.
    if (place === undefined || place.deviceId !== device.deviceId) {
      throw new TrustError('HEADER_MISMATCH', 'envelope arrived on a topic of another device');
    }
    // Only authenticated envelopes are ever recorded, so a forged one cannot burn a sequence number. The sender
    // key is part of the replay key: a device whose key was rotated starts a new sequence space.
    if (replays.seen(device.deviceId, replayKey(parsed), parsed.header.seq)) throw new TrustError('REPLAY', 'envelope already accepted');
    const shared = sharedKeys.get(parsed.suite, device.boxPublicKey, recipient.secretKey, recipient.id);
    const opened = openParsedEnvelope(parsed, shared, { deviceId: place.deviceId, stream: place.rest });
    const { header } = opened;
    return { deviceId: opened.deviceId, replayKey: replayKey(parsed), seq: header.seq, ts: header.ts, session: toHex(header.sessionId), readings: opened.readings };
  }

  /** v2: the sender's keys come from the topic's device (the envelope names none); the derived nonce binds them. */
  function openV2(topic: string, parsed: ParsedV2): Accepted {
    const place = typeof topic === 'string' ? parseDeviceTopic(topic) : undefined;
    if (place === undefined) throw new TrustError('HEADER_MISMATCH', 'envelope arrived on a topic that names no device');
    const devices = [...(byDevice.get(place.deviceId)?.values() ?? []), ...(options.deviceKeys?.(place.deviceId) ?? [])];
    if (devices.length === 0) throw new TrustError('UNKNOWN_KEY', 'envelope arrived for a device with no provisioned key');
    const candidates: Candidate[] = [];
    for (const recipient of liveRecipients()) {
      for (const device of devices) {
        if (device.deviceId !== place.deviceId) continue;
        candidates.push({
          recipientKeyId: recipient.keyId, senderKeyId: keyId(device.boxPublicKey),
          sharedKey: () => sharedKeys.get(parsed.suite, device.boxPublicKey, recipient.secretKey, recipient.id),
        });
      }
    }
    const where = { deviceId: place.deviceId, stream: place.rest };
    const { opened, replayKey: key, fingerprint } = openV2Candidates(parsed, where, candidates, {
      prefixes,
      seen: (k, seq) => replays.seen(place.deviceId, k, seq),
      fingerprint: (k, seq) => fingerprints.get(place.deviceId, k, seq),
    });
    const readings = opened.readings.map((reading) => named(opened.tableId, reading));
    return { deviceId: place.deviceId, replayKey: key, seq: parsed.header.seq, ts: opened.ts, session: toHex(parsed.header.sessionId), readings, fingerprint };
  }

  function named(tableId: number, reading: OpenedV2['readings'][number]): EnvelopeReading {
    const { categoryIndex, ...rest } = reading;
    if (categoryIndex === undefined) return rest;
    const category = tables.get(tableId)?.[categoryIndex];
    if (category === undefined) throw new TrustError('UNKNOWN_CATEGORY', `category ${categoryIndex} of table ${tableId} is unknown here`);
    return { ...rest, category };
  }

  function deliver(accepted: Accepted, receivedAt: number): IngestResult {
    const { deviceId } = accepted;
    const delivered: EnvelopeReading[] = [];
    let duplicates = 0;
    let expired = 0;
    for (const reading of accepted.readings) {
      if (reading.expiresAt <= receivedAt) expired++;
      else if (!tracker.admit(deviceId, reading.id.session, reading.id.seq, reading.expiresAt, receivedAt)) duplicates++;
      else delivered.push(reading);
    }
    stats.accepted++;
    stats.readings += delivered.length;
    stats.duplicates += duplicates;
    stats.expiredOnArrival += expired;
    const meta: ReadingMeta = { envelopeTs: accepted.ts, receivedAt, envelopeSession: accepted.session, envelopeSeq: accepted.seq };
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
      const accepted = open(topic, payload);
      replays.record(accepted.deviceId, accepted.replayKey, accepted.seq);
      if (accepted.fingerprint !== undefined) fingerprints.set(accepted.deviceId, accepted.replayKey, accepted.seq, accepted.fingerprint);
      return deliver(accepted, receivedAt);
    } catch (error) {
      const code: TrustErrorCode = isTrustError(error) ? error.code : 'MALFORMED';
      const reason = REASON_BY_CODE[code] ?? 'malformed';
      stats.rejected[reason]++;
      return { ok: false, reason, code };
    }
  }

  async function attach(transport: Transport, attachOptions: AttachOptions = {}): Promise<void> {
    const group = attachOptions.shareGroup;
    if (group !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(group)) throw new TrustError('INVALID_ARGUMENT', 'shareGroup must be 1-64 characters of A-Z a-z 0-9 _ -');
    // Key announcements first: a device announces new keys before it seals anything under them.
    const filters = [topics.allDeviceKeys(), group === undefined ? topics.allTelemetry() : `$share/${group}/${topics.allTelemetry()}`];
    transport.onMessage((message) => {
      // A shared transport may carry other subscriptions; only telemetry and key topics are the collector's business.
      const rest = parseDeviceTopic(message.topic)?.rest;
      if (rest === 'telemetry') ingest(message.topic, message.payload);
      else if (rest === 'keys/device') followDeviceKeys(message.topic, message.payload);
    });
    transport.onConnection((connected) => {
      if (connected) for (const filter of filters) transport.subscribe(filter, 1).catch(() => undefined);
    });
    for (const filter of filters) await transport.subscribe(filter, 1);
  }

  const publicKey = addRecipientKey(options.secretKey);
  if (Array.isArray(options.devices)) for (const d of options.devices as readonly KnownDevice[]) addDevice(d.deviceId, d.boxPublicKey, d.signPublicKey);

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
    removeDeviceKey,
    addRecipientKey(secretKey) {
      addRecipientKey(secretKey);
    },
    retireRecipientKey,
    followDeviceKeys,
    stats: () => ({ ...stats, rejected: { ...stats.rejected }, keyAnnouncements: { ...stats.keyAnnouncements } }),
  };
}

function shippedRegistries(): Array<{ categories: ReadonlyArray<{ name: string }> }> {
  return DEVICE_TYPES.map((type) => registryFor(type));
}

/** Table id -> category names; two different tables under one id make the configuration ambiguous. */
function categoryTables(registries: ReadonlyArray<{ categories: ReadonlyArray<{ name: string }> }>): Map<number, readonly string[]> {
  const tables = new Map<number, readonly string[]>();
  for (const registry of registries) {
    const table = categoryTable(registry.categories.map((c) => c.name));
    const known = tables.get(table.id);
    if (known !== undefined && known.join('\u0000') !== table.names.join('\u0000')) {
      throw new TrustError('INVALID_ARGUMENT', `registries with categories [${known.join(', ')}] and [${table.names.join(', ')}] share table id ${table.id}`);
    }
    tables.set(table.id, table.names);
  }
  return tables;
}

export { fileCollectorState, memoryCollectorState, type CollectorState, type FileStateOptions, type StateEvent } from './state.js';
export { openCollectorService } from './service.js';
