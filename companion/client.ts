import nacl from 'tweetnacl';
import { equalBytes, toHex } from '../agent/crypto/keys.js';
import { assertStrongX25519 } from '../agent/crypto/weak-keys.js';
import { checkedRandom, hostRandom, type RandomSource } from '../agent/crypto/random.js';
import type { RandomPort } from '../agent/ports/random.js';
import { TrustError } from '../agent/errors.js';
import { decodePairingPayload, sealPairingRequest, type PairingPayload } from '../agent/owner/pairing.js';
import type { AcceptedReply, Receipt, StateReport } from '../agent/owner/replies.js';
import { signRequest, type RequestKind } from '../agent/owner/requests.js';
import { openSealed, sealForOwner } from '../agent/owner/seal.js';
import type { ClockPort } from '../agent/ports/clock.js';
import type { SchedulerPort } from '../agent/ports/scheduler.js';
import type { Transport, TransportFactory, TransportMessage } from '../agent/ports/transport.js';
import { assertDeviceId, TOPIC_ROOT, topics } from '../agent/topics.js';
import { ensureRandom, hostClock, hostScheduler } from './host.js';
import type { KnownDevice, OwnerKeys } from './keys.js';
import { verifyTrail, type VerifyResult } from '../agent/audit/verify.js';
import type { ComplianceReport } from '../agent/audit/assess-types.js';
import { PendingRequests } from './pending.js';
import { utf8Decode, utf8Encode } from '../agent/codec/utf8.js';
import { verifyManifest, verifyPairingReply, verifyReceiptBytes, verifyReply, verifyState } from './verify.js';

export interface CompanionOptions {
  /** A factory (the companion makes and connects its own session) or a transport the caller manages. */
  transport: TransportFactory | Transport;
  ownerKeys: OwnerKeys;
  deviceId: string;
  /** From the pairing payload (or a key file); required for everything except `pair`. */
  devicePublicKeys?: Pick<KnownDevice, 'signPublicKey' | 'boxPublicKey'>;
  /** Defaults to the host's Date.now / setTimeout. */
  clock?: ClockPort;
  scheduler?: SchedulerPort;
  /** How long to wait for a reply (default 10 s). */
  timeoutMs?: number;
  /** Request lifetime: how long a queued request stays valid for an offline device (default 10 min). */
  requestLifetimeMs?: number;
  /**
   * Where request nonces, client tokens and pairing keys come from (checked like an agent's port). Default: the host's
   * Web Crypto (wired into tweetnacl if it has no source yet); NO_ENTROPY when there is none.
   */
  random?: RandomPort;
}

/** The device's own retained announcement; 'unknown' until one arrives. */
export type DeviceStatus = 'online' | 'offline' | 'unknown';

/** A message on the device's topics that the companion did not believe, and why. */
export interface RefusedMessage {
  topic: string;
  /** AUTH_FAILED (bad signature), WRONG_DEVICE, MALFORMED, STALE (older than a state already seen), ... */
  code: string;
  reason: string;
}

export interface PairingResult {
  deviceId: string;
  deviceType: string;
  ownerKeyId: Uint8Array;
  pairedAt: number;
  devicePublicKeys: { signPublicKey: Uint8Array; boxPublicKey: Uint8Array };
}

export interface RequestOptions {
  expectedVersion?: number;
  timeoutMs?: number;
}

/**
 * The owner's side of the channel. Every reply, state report, manifest and receipt is checked against the device
 * sign key before it is believed; anything that does not verify is ignored (it may be another client's noise).
 * A rejection surfaces as `TrustError(code)` whose `cause` is the signed rejected reply (with `currentVersion`).
 */
export class Companion {
  private devicePublicKeysValue: { signPublicKey: Uint8Array; boxPublicKey: Uint8Array } | undefined;
  private readonly pending = new PendingRequests();
  private readonly pairWaiters = new Map<string, (bytes: Uint8Array) => void>();
  private readonly stateWatchers = new Set<(state: StateReport) => void>();
  private readonly manifestWatchers = new Set<(manifest: unknown) => void>();
  private readonly statusWatchers = new Set<(status: DeviceStatus) => void>();
  private readonly refusedWatchers = new Set<(refused: RefusedMessage) => void>();
  private latestStatus: DeviceStatus = 'unknown';
  private manifestWaiters: Array<(bytes: Uint8Array) => void> = [];
  private latestManifest: Uint8Array | undefined;
  private latestState: StateReport | undefined;
  /** Highest preference version the device has signed (state report or accepted reply): the retained state can lag a reply. */
  private knownVersion: number | undefined;
  private readonly clock: ClockPort;
  private readonly scheduler: SchedulerPort;

  private constructor(
    private readonly options: CompanionOptions, private readonly transport: Transport, private readonly ownsTransport: boolean,
    private readonly random: RandomSource,
  ) {
    this.devicePublicKeysValue = options.devicePublicKeys;
    this.clock = options.clock ?? hostClock();
    this.scheduler = options.scheduler ?? hostScheduler();
  }

  static async create(options: CompanionOptions): Promise<Companion> {
    assertDeviceId(options.deviceId);
    if (options.devicePublicKeys !== undefined) assertStrongX25519(options.devicePublicKeys.boxPublicKey, 'devicePublicKeys.boxPublicKey');
    if (options.random === undefined) ensureRandom();
    const random = options.random === undefined ? hostRandom : checkedRandom(options.random);
    const owns = typeof options.transport === 'function';
    const transport = typeof options.transport === 'function'
      ? options.transport({ clientId: `ta-companion-${toHex(random.bytes(6))}`, cleanSession: true })
      : options.transport;
    const companion = new Companion(options, transport, owns, random);
    transport.onMessage((message) => companion.onMessage(message));
    if (!transport.connected) await transport.connect();
    const id = options.deviceId;
    for (const filter of [`${TOPIC_ROOT}/${id}/cmd/res/+/+`, topics.state(id), topics.manifest(id), topics.pairReply(id), topics.status(id)]) {
      await transport.subscribe(filter, 1);
    }
    return companion;
  }

  get deviceId(): string {
    return this.options.deviceId;
  }

  devicePublicKeys(): { signPublicKey: Uint8Array; boxPublicKey: Uint8Array } | undefined {
    return this.devicePublicKeysValue;
  }

  /** The latest verified state report seen (retained on the broker, so it arrives right after connect). */
  lastState(): StateReport | undefined {
    return this.latestState;
  }

  /** Prove knowledge of the setup code and register this owner key. Resolves with the verified pairing reply. */
  async pair(pairingPayload: string | PairingPayload, options: { timeoutMs?: number } = {}): Promise<PairingResult> {
    const payload = typeof pairingPayload === 'string' ? decodePairingPayload(pairingPayload) : pairingPayload;
    if (payload.deviceId !== this.options.deviceId) throw new TrustError('WRONG_DEVICE', 'the pairing payload is for another device');
    this.devicePublicKeysValue = { signPublicKey: payload.signPublicKey, boxPublicKey: payload.boxPublicKey };
    const { bytes, requestId } = sealPairingRequest(payload, this.options.ownerKeys, payload.setupCode, this.clock.now(), this.random);
    const replyBytes = await this.waitFor<Uint8Array>(options.timeoutMs, 'pairing reply', (resolve) => {
      this.pairWaiters.set(toHex(requestId), resolve);
      return () => this.pairWaiters.delete(toHex(requestId));
    }, () => this.transport.publish(topics.pairRequest(payload.deviceId), bytes, { qos: 1 }));
    const reply = verifyPairingReply(replyBytes, payload.signPublicKey);
    if (reply.outcome !== 'accepted' || reply.ownerKeyId === undefined || reply.pairedAt === undefined) {
      throw new TrustError(reply.code ?? 'AUTH_FAILED', reply.reason ?? 'pairing was refused', { cause: reply });
    }
    if (!equalBytes(reply.ownerKeyId, this.options.ownerKeys.keyId)) throw new TrustError('NOT_OWNER', 'the device registered another owner key');
    return { deviceId: payload.deviceId, deviceType: payload.deviceType, ownerKeyId: reply.ownerKeyId, pairedAt: reply.pairedAt, devicePublicKeys: this.devicePublicKeysValue };
  }

  getState(options: RequestOptions = {}): Promise<AcceptedReply> {
    return this.request('get-state', {}, options);
  }

  /** Without `expectedVersion`, the version of the latest verified state is used (fetched first if none yet). */
  async setPreferences(patch: unknown, options: RequestOptions = {}): Promise<AcceptedReply> {
    const expectedVersion = options.expectedVersion ?? this.knownVersion ?? (await this.getState()).version;
    return this.request('set-preferences', { desired: patch }, { ...options, expectedVersion });
  }

  reset(options: RequestOptions = {}): Promise<AcceptedReply> {
    return this.request('reset', {}, options);
  }

  eraseAll(options: RequestOptions = {}): Promise<AcceptedReply> {
    return this.request('erase-all', {}, options);
  }

  /** Erase one person's data on a shared device (e.g. a household member's lock events). */
  eraseUser(userId: string, options: RequestOptions = {}): Promise<AcceptedReply> {
    // Sealed to the device (anonymous box, as exports are sealed to the owner): the broker must not learn who it is.
    const sealedUserId = sealForOwner(utf8Encode(userId), this.requireDeviceKeys().boxPublicKey, this.random);
    return this.request('erase-user', { desired: { sealedUserId } }, options);
  }

  eraseCategory(category: string, options: RequestOptions = {}): Promise<AcceptedReply> {
    return this.request('erase-category', { category }, options);
  }

  /** Opens the export with the owner box key; `data` is the plaintext the device sealed. */
  async exportData(options: RequestOptions = {}): Promise<{ reply: AcceptedReply; data: Uint8Array; receipt: Receipt | undefined }> {
    const reply = await this.request('export', {}, options);
    if (reply.export === undefined) throw new TrustError('MALFORMED', 'export reply carries no data');
    const data = openSealed(reply.export, this.options.ownerKeys.boxSecretKey);
    return { reply, data, receipt: reply.receipt === undefined ? undefined : this.verifyReceipt(reply.receipt) };
  }

  transfer(options: RequestOptions = {}): Promise<AcceptedReply> {
    return this.request('transfer', {}, options);
  }

  async fetchAuditTrail(options: RequestOptions = {}): Promise<Uint8Array> {
    const reply = await this.request('get-audit', {}, options);
    if (reply.audit === undefined) throw new TrustError('MALFORMED', 'audit reply carries no trail');
    return reply.audit;
  }

  /** Fetches the trail and checks its hash chain and signed checkpoints against the device key. */
  async fetchVerifiedAuditTrail(options: RequestOptions = {}): Promise<{ trail: Uint8Array; verification: VerifyResult }> {
    const trail = await this.fetchAuditTrail(options);
    return { trail, verification: verifyTrail(trail, this.requireDeviceKeys().signPublicKey) };
  }

  /** The device's self-assessment against R1-R14, inside a reply whose device signature was verified. */
  async fetchReport(options: RequestOptions = {}): Promise<ComplianceReport> {
    const reply = await this.request('get-report', {}, options);
    if (reply.report === undefined) throw new TrustError('MALFORMED', 'report reply carries no report');
    return reply.report as ComplianceReport;
  }

  /** Consent to the widened terms a policy update brought for these categories (R9). */
  acceptTerms(categories: string[], options: RequestOptions = {}): Promise<AcceptedReply> {
    return this.request('accept-terms', { desired: categories }, options);
  }

  /** Calls back with every verified state report (the retained one first). Returns an unsubscribe function. */
  watchState(callback: (state: StateReport) => void): () => void {
    this.stateWatchers.add(callback);
    if (this.latestState !== undefined) callback(this.latestState);
    return () => this.stateWatchers.delete(callback);
  }

  /** Calls back with every manifest whose signature verifies (the retained one first). Returns an unsubscribe function. */
  watchManifest(callback: (manifest: unknown) => void): () => void {
    this.manifestWatchers.add(callback);
    const keys = this.devicePublicKeysValue;
    if (this.latestManifest !== undefined && keys !== undefined) {
      try { callback(verifyManifest(this.latestManifest, keys.signPublicKey)); } catch { /* reported through watchRefused */ }
    }
    return () => this.manifestWatchers.delete(callback);
  }

  /**
   * The device's retained online/offline announcement (its last will says offline). Unsigned, so it only ever
   * explains a wait; nothing is believed applied because of it.
   */
  watchStatus(callback: (status: DeviceStatus) => void): () => void {
    this.statusWatchers.add(callback);
    callback(this.latestStatus);
    return () => this.statusWatchers.delete(callback);
  }

  /** Messages on this device's topics that were not believed: a bad signature, another device, or an older state. */
  watchRefused(callback: (refused: RefusedMessage) => void): () => void {
    this.refusedWatchers.add(callback);
    return () => this.refusedWatchers.delete(callback);
  }

  /** The retained manifest, signature verified; waits for it up to the timeout. */
  async manifest(options: { timeoutMs?: number } = {}): Promise<unknown> {
    const keys = this.requireDeviceKeys();
    const bytes = this.latestManifest ?? await this.waitFor<Uint8Array>(options.timeoutMs, 'manifest', (resolve) => {
      this.manifestWaiters.push(resolve);
      return () => { this.manifestWaiters = this.manifestWaiters.filter((w) => w !== resolve); };
    });
    return verifyManifest(bytes, keys.signPublicKey);
  }

  verifyReceipt(bytes: Uint8Array): Receipt {
    return verifyReceiptBytes(bytes, this.requireDeviceKeys().signPublicKey);
  }

  async close(): Promise<void> {
    this.pending.rejectAll(new TrustError('CLOSED', 'companion closed'));
    if (this.ownsTransport) await this.transport.close();
  }

  /** Sign and publish one request; resolves with the verified accepted reply or throws the rejection code. */
  async request(kind: RequestKind, fields: { desired?: unknown; category?: string }, options: RequestOptions = {}): Promise<AcceptedReply> {
    this.requireDeviceKeys();
    const clientToken = toHex(this.random.bytes(12));
    const issuedAt = this.clock.now();
    const bytes = signRequest({
      deviceId: this.options.deviceId, clientToken, issuedAt, expiresAt: issuedAt + (this.options.requestLifetimeMs ?? 600_000), kind,
      ...fields, ...(options.expectedVersion === undefined ? {} : { expectedVersion: options.expectedVersion }),
    }, this.options.ownerKeys.signSecretKey, this.random);
    return this.waitFor<AcceptedReply>(options.timeoutMs, `${kind} reply`, (resolve, reject) => {
      return this.pending.add(clientToken, resolve, reject);
    }, () => this.transport.publish(topics.commandRequest(this.options.deviceId), bytes, { qos: 1 }));
  }

  private requireDeviceKeys(): { signPublicKey: Uint8Array; boxPublicKey: Uint8Array } {
    if (this.devicePublicKeysValue === undefined) throw new TrustError('UNKNOWN_KEY', 'device public keys are unknown; pair first or pass devicePublicKeys');
    return this.devicePublicKeysValue;
  }

  private waitFor<T>(
    timeoutMs: number | undefined, what: string,
    register: (resolve: (value: T) => void, reject: (error: TrustError) => void) => () => void,
    send?: () => Promise<void>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let unregister = (): void => undefined;
      let sent = send === undefined;
      const timer = this.scheduler.setTimeout(() => {
        unregister();
        const noReply: NoReply = { noReply: true, sent, deviceStatus: this.latestStatus };
        reject(new TrustError('TRANSPORT', `no ${what} within ${timeoutMs ?? this.options.timeoutMs ?? 10_000} ms`, { cause: noReply }));
      }, timeoutMs ?? this.options.timeoutMs ?? 10_000);
      const settle = <A>(fn: (a: A) => void) => (a: A): void => { this.scheduler.clearTimeout(timer); unregister(); fn(a); };
      unregister = register(settle(resolve), settle(reject));
      send?.().then(() => { sent = true; }, (error: unknown) => settle(reject)(error instanceof TrustError ? error : new TrustError('TRANSPORT', 'publish failed', { cause: error })));
    });
  }

  private onMessage(message: TransportMessage): void {
    try {
      this.route(message);
    } catch (error) {
      // Unverifiable or malformed: not from the device, or not for us. Never believed; watchers may show it.
      const code = error instanceof TrustError ? error.code : 'MALFORMED';
      this.refused({ topic: message.topic, code, reason: error instanceof Error ? error.message : String(error) });
    }
  }

  private refused(refused: RefusedMessage): void {
    for (const watcher of this.refusedWatchers) watcher(refused);
  }

  private route(message: TransportMessage): void {
    const id = this.options.deviceId;
    if (message.topic === topics.status(id)) {
      const text = utf8Decode(message.payload);
      this.latestStatus = text === 'online' ? 'online' : text === 'offline' ? 'offline' : 'unknown';
      for (const watcher of this.statusWatchers) watcher(this.latestStatus);
      return;
    }
    if (message.topic === topics.manifest(id)) {
      const keys = this.devicePublicKeysValue;
      // Verified before it replaces the one we hold, so a forged retained manifest cannot hide the real one.
      const manifest = keys === undefined ? undefined : verifyManifest(message.payload, keys.signPublicKey);
      this.latestManifest = message.payload;
      for (const waiter of this.manifestWaiters.splice(0)) waiter(message.payload);
      if (manifest !== undefined) for (const watcher of this.manifestWatchers) watcher(manifest);
      return;
    }
    const keys = this.devicePublicKeysValue;
    if (message.topic === topics.pairReply(id) && keys !== undefined) {
      const reply = verifyPairingReply(message.payload, keys.signPublicKey);
      this.pairWaiters.get(toHex(reply.requestId))?.(message.payload);
      return;
    }
    if (keys === undefined) return;
    if (message.topic === topics.state(id)) return this.onState(verifyState(message.payload, keys.signPublicKey, id));
    if (message.topic.endsWith('/part')) return this.pending.onPart(message.topic.split('/').at(-2) ?? '', message.payload);
    const reply = verifyReply(message.payload, keys.signPublicKey, id);
    if (reply.outcome === 'accepted' && this.pending.has(reply.clientToken)) this.noteVersion(reply.version);
    this.pending.onReply(reply, message.topic.endsWith(`/${reply.clientToken}/${reply.outcome}`));
  }

  private noteVersion(version: number): void {
    if (this.knownVersion === undefined || version > this.knownVersion) this.knownVersion = version;
  }

  private onState(state: StateReport): void {
    if (this.latestState !== undefined && (state.issuedAt < this.latestState.issuedAt || state.version < this.latestState.version)) {
      // An older report arriving late (or replayed): signed, but not the device's current state.
      return this.refused({ topic: topics.state(this.options.deviceId), code: 'STALE', reason: `state v${state.version} is older than v${this.latestState.version} already seen` });
    }
    this.latestState = state;
    this.noteVersion(state.version);
    for (const watcher of this.stateWatchers) watcher(state);
  }
}

/**
 * The cause of a request that got no answer in time. `sent`: the broker acknowledged the request, so a device that
 * keeps a session there (every agent does) still receives it when it reconnects and applies it if it is still
 * within its lifetime; the answer then goes to whoever listens (the state report shows it).
 */
export interface NoReply {
  noReply: true;
  sent: boolean;
  deviceStatus: DeviceStatus;
}

export function noReplyOf(error: unknown): NoReply | undefined {
  const cause = (error as { cause?: Partial<NoReply> } | undefined)?.cause;
  return cause?.noReply === true ? (cause as NoReply) : undefined;
}

export function createCompanion(options: CompanionOptions): Promise<Companion> {
  return Companion.create(options);
}
