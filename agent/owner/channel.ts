import type { RandomSource } from '../crypto/random.js';
import type { DeviceIdentity } from '../crypto/keys.js';
import { TrustError, type TrustErrorCode } from '../errors.js';
import type { ClockPort } from '../ports/clock.js';
import type { LoggerPort } from '../ports/logger.js';
import type { StoragePort } from '../ports/storage.js';
import type { Transport, TransportMessage } from '../ports/transport.js';
import { assertDeviceId, topics } from '../topics.js';
import type { OwnerActions } from './contract.js';
import { NonceCache } from './nonce-cache.js';
import { OwnerStore, type OwnerRecord } from './owner-store.js';
import { PairingHandler } from './pair-handler.js';
import { DEFAULT_RATE_LIMIT, FailureLimiter, type RateLimitOptions } from './rate-limit.js';
import { RejectionAuditGate } from './rejection-audit.js';
import { executeRequest } from './execute.js';
import { DEFAULT_REQUEST_LIMITS, isRejection, preparseRequest, sourceOf, verifyRequest, type OwnerRequest, type Rejection, type RequestLimits } from './requests.js';
import { signReply, signState, type AcceptedReply, type RejectedReply, type StateReport } from './replies.js';
import type { SignedCache } from '../crypto/signed-cache.js';
import { splitIntoParts } from './parts.js';

export interface OwnerChannelOptions {
  deviceId: string;
  deviceType: string;
  /** The current device keys; a getter because ownership transfer rotates them. */
  identity: () => DeviceIdentity;
  actions: OwnerActions;
  clock: ClockPort;
  storage: StoragePort;
  logger: LoggerPort;
  limits?: Partial<RequestLimits>;
  rateLimit?: Partial<RateLimitOptions>;
  /** While a source is in backoff, its rejections are written to the trail at most this often, with a count. Default 1 h. */
  rejectionAuditQuietMs?: number;
  /** Largest reply (an export or audit trail travels inside it). */
  maxReplyBytes?: number;
  /** Wrong setup codes before the pairing window closes. */
  maxPairingAttempts?: number;
  /** Source of setup codes; the agent passes its own. Default: the host source. */
  random?: RandomSource;
  /** Keeps the last signed state report, so an unchanged state is not signed again at each boot (issue 12). */
  signed?: SignedCache;
}

export interface OwnerChannelCounters {
  received: number;
  accepted: number;
  rejected: number;
  /** Dropped before any crypto: oversized, malformed, or from a source in backoff. */
  dropped: number;
  rateLimited: number;
  byCode: Partial<Record<TrustErrorCode, number>>;
}

/** Failures that say nothing bad about the sender: they do not feed the backoff. */
const BENIGN: readonly TrustErrorCode[] = ['VERSION_CONFLICT', 'INVALID_PREFERENCE'];

/**
 * The device end of the owner channel: receives signed requests on `cmd/req` and sealed pairing requests on
 * `pair/req`, handles them strictly one at a time (so `expectedVersion` checks cannot race), replies on
 * `cmd/res/{clientToken}/{accepted|rejected}` and keeps a retained signed state report on `state`.
 */
export class OwnerChannel {
  readonly counters: OwnerChannelCounters = { received: 0, accepted: 0, rejected: 0, dropped: 0, rateLimited: 0, byCode: {} };
  private readonly limits: RequestLimits;
  private readonly limiter: FailureLimiter;
  private readonly freeFailures: number;
  private readonly rejectionAudit: RejectionAuditGate;
  private readonly pairing: PairingHandler;
  private transport: Transport | undefined;
  private queue: Promise<void> = Promise.resolve();
  private announcing: Promise<void> | undefined;
  private readonly maxReplyBytes: number;

  private constructor(private readonly options: OwnerChannelOptions, private readonly owners: OwnerStore, private readonly nonces: NonceCache) {
    this.limits = { ...DEFAULT_REQUEST_LIMITS, ...options.limits };
    const rateLimit = { ...DEFAULT_RATE_LIMIT, ...options.rateLimit };
    this.limiter = new FailureLimiter(rateLimit);
    this.freeFailures = rateLimit.freeFailures;
    this.rejectionAudit = new RejectionAuditGate(options.rejectionAuditQuietMs);
    this.maxReplyBytes = options.maxReplyBytes ?? 192 * 1024; // under the 256 KiB a default Node transport accepts
    this.pairing = new PairingHandler({
      ...options, owners, publish: (topic, payload) => this.publish(topic, payload, false), publishState: () => this.publishState(),
    }, options.maxPairingAttempts ?? 5, options.random);
  }

  /** Loads the owner and the nonce cache; throws CORRUPT rather than forgetting an owner. */
  static async create(options: OwnerChannelOptions): Promise<OwnerChannel> {
    assertDeviceId(options.deviceId);
    const owners = new OwnerStore(options.storage);
    const nonces = new NonceCache(options.storage);
    await owners.load();
    await nonces.load();
    return new OwnerChannel(options, owners, nonces);
  }

  owner(): OwnerRecord | undefined {
    return this.owners.current();
  }

  isPaired(): boolean {
    return this.owners.current() !== undefined;
  }

  /** Local trigger (a button): returns the QR payload. Refused while the device has an owner. */
  openPairingWindow(durationMs: number): { payload: string; setupCode: string; expiresInMs: number } {
    return this.pairing.open(durationMs);
  }

  /** Whether a pairing window is open now (for a display or an LED). */
  pairingWindowOpen(): boolean {
    return this.pairing.isOpen();
  }

  /** Pairing requests dropped unopened (closed window, oversized, backoff) or unreadable. */
  get pairingDropped(): number {
    return this.pairing.dropped;
  }

  /**
   * Listen on an agent-owned session; subscribes and publishes state now if connected, and after every (re)connect.
   * Call it BEFORE the first connect: a persistent session delivers requests queued while the device was offline
   * right after CONNACK, and a handler registered later would miss them. Calling it again with the same transport
   * only waits for (or runs) the subscribe-and-announce step.
   */
  async attach(transport: Transport): Promise<void> {
    if (this.transport !== transport) {
      this.transport = transport;
      transport.onMessage((message) => this.onMessage(message));
      transport.onConnection((connected) => {
        if (connected) this.announce().catch((error: unknown) => this.logError('resubscribe', error));
      });
    }
    if (transport.connected) await (this.announcing ?? this.announce());
  }

  private announce(): Promise<void> {
    const run: Promise<void> = this.subscribe().then(() => this.publishState()).finally(() => {
      if (this.announcing === run) this.announcing = undefined;
    });
    this.announcing = run;
    return run;
  }

  /** Factory reset: forget the owner (the agent erases data and keys itself). */
  async forgetOwner(): Promise<void> {
    await this.owners.clear();
    this.limiter.reset();
    this.rejectionAudit.reset();
    await this.publishState();
  }

  /** Resolves when every message received so far has been handled (tests, orderly shutdown). */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Entry point per message; exposed so benchmarks can drive the channel without a network. */
  handleMessage(message: TransportMessage): Promise<void> {
    const { deviceId } = this.options;
    if (message.topic === topics.commandRequest(deviceId)) return this.enqueue(() => this.handleRequest(message.payload));
    if (message.topic === topics.pairRequest(deviceId)) return this.enqueue(() => this.pairing.handle(message.payload));
    return Promise.resolve();
  }

  async publishState(): Promise<void> {
    const owner = this.owners.current();
    const stateAt = (issuedAt: number): StateReport => ({
      v: 1 as const, deviceId: this.options.deviceId, paired: owner !== undefined, version: this.options.actions.preferencesVersion(),
      enforced: this.options.actions.enforcedState(), issuedAt,
      ...(owner === undefined ? {} : { ownerKeyId: owner.keyId }),
    });
    const { signSecretKey } = this.options.identity();
    const now = this.options.clock.now();
    // An unchanged state keeps the issue time it was first signed with (docs/protocol.md, "State report").
    const signed = this.options.signed === undefined
      ? signState(stateAt(now), signSecretKey)
      : this.options.signed.sign('state', signSecretKey, now, stateAt);
    await this.publish(topics.state(this.options.deviceId), signed, true);
  }

  private onMessage(message: TransportMessage): void {
    void this.handleMessage(message);
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work).catch((error: unknown) => this.logError('owner request', error));
    this.queue = next;
    return next;
  }

  private async subscribe(): Promise<void> {
    if (this.transport === undefined) return;
    await this.transport.subscribe(topics.commandRequest(this.options.deviceId), 1);
    await this.transport.subscribe(topics.pairRequest(this.options.deviceId), 1);
  }

  private async handleRequest(bytes: Uint8Array): Promise<void> {
    this.counters.received += 1;
    const parsed = preparseRequest(bytes, this.limits);
    if (isRejection(parsed)) return this.drop(parsed);
    const owner = this.owners.current();
    const source = sourceOf(parsed, owner);
    if (this.limiter.isBlocked(source, this.options.clock.monotonic())) {
      // No verification, reply or audit while in backoff: that is the point of the backoff.
      this.counters.rateLimited += 1;
      return;
    }
    let verified: Awaited<ReturnType<typeof verifyRequest>>;
    try {
      verified = await verifyRequest(parsed, owner, this.options.deviceId, this.options.clock, this.nonces, this.limits);
    } catch {
      // Remembering the nonce failed (a storage fault): nothing was done; the owner may send the request again.
      const reason = 'the device could not record the request (storage fault); nothing changed';
      return this.refuse({ code: 'STORAGE', reason, ...(parsed.clientToken === undefined ? {} : { clientToken: parsed.clientToken }), source, authentic: false });
    }
    if (!verified.ok) return this.refuse(verified.rejection);
    const request = verified.request;
    this.options.actions.corroborateTime(this.options.clock.now());
    const current = this.options.actions.preferencesVersion();
    if (request.expectedVersion !== undefined && request.expectedVersion !== current) {
      return this.refuse({ code: 'VERSION_CONFLICT', reason: `expected version ${request.expectedVersion}, current is ${current}`, clientToken: request.clientToken, source, authentic: true });
    }
    await this.apply(request, source, owner as OwnerRecord);
  }

  private async apply(request: OwnerRequest, source: string, owner: OwnerRecord): Promise<void> {
    const signer = this.options.identity(); // captured before a transfer rotates the keys
    let reply: AcceptedReply;
    try {
      const extra = await executeRequest(request, owner, this.options.actions, signer, this.options.deviceId, this.options.clock);
      if (request.kind === 'transfer') {
        await this.owners.clear();
        this.limiter.reset();
      }
      reply = {
        v: 1, outcome: 'accepted', deviceId: this.options.deviceId, clientToken: request.clientToken, kind: request.kind,
        version: this.options.actions.preferencesVersion(), enforced: this.options.actions.enforcedState(), issuedAt: this.options.clock.now(), ...extra,
      };
    } catch (error) {
      const code = error instanceof TrustError ? error.code : 'STORAGE';
      const reason = error instanceof TrustError ? error.message : 'the device could not complete the request';
      return this.refuse({ code, reason, clientToken: request.clientToken, source, authentic: true });
    }
    let parts: Uint8Array[] = [];
    let bytes = signReply(reply, signer.signSecretKey);
    try {
      if (bytes.length > this.maxReplyBytes) ({ reply, parts } = moveToParts(reply));
      bytes = parts.length === 0 ? bytes : signReply(reply, signer.signSecretKey);
      if (bytes.length > this.maxReplyBytes) throw new TrustError('OVERSIZED', `the result exceeds ${this.maxReplyBytes} bytes`);
    } catch (error) {
      const reason = error instanceof TrustError ? error.message : 'the result is too large';
      return this.refuse({ code: 'OVERSIZED', reason, clientToken: request.clientToken, source, authentic: true });
    }
    this.limiter.recordSuccess(source);
    this.counters.accepted += 1;
    // Parts first: the reply that names their digest arrives after them (QoS 1, one publisher, in order).
    for (const part of parts) await this.publish(topics.commandPart(this.options.deviceId, request.clientToken), part, false);
    await this.publish(topics.commandReply(this.options.deviceId, request.clientToken, 'accepted'), bytes, false);
    await this.publishState();
  }

  /** Malformed or oversized: counted; audited and fed to the backoff unless the source is already blocked. */
  private async drop(rejection: Rejection): Promise<void> {
    this.counters.dropped += 1;
    this.count(rejection.code);
    if (this.limiter.isBlocked(rejection.source, this.options.clock.monotonic())) {
      this.counters.rateLimited += 1;
      return;
    }
    await this.noteFailure(rejection);
  }

  private async refuse(rejection: Rejection): Promise<void> {
    this.counters.rejected += 1;
    this.count(rejection.code);
    await this.noteFailure(rejection);
    if (rejection.clientToken === undefined) return;
    const reply: RejectedReply = {
      v: 1, outcome: 'rejected', deviceId: this.options.deviceId, clientToken: rejection.clientToken, code: rejection.code,
      reason: rejection.reason, issuedAt: this.options.clock.now(),
    };
    // Only an authenticated owner learns the current version; strangers learn nothing about the device's state.
    if (rejection.authentic) reply.currentVersion = this.options.actions.preferencesVersion();
    await this.publish(topics.commandReply(this.options.deviceId, rejection.clientToken, 'rejected'), signReply(reply, this.options.identity().signSecretKey), false);
  }

  private async noteFailure(rejection: Rejection): Promise<void> {
    const { code, source } = rejection;
    const now = this.options.clock.monotonic();
    const benign = BENIGN.includes(code);
    const decision = this.rejectionAudit.note(source, !benign && this.limiter.failures(source) >= this.freeFailures, now);
    if (decision.write) {
      // Best effort: a trail that cannot be written (the very fault being reported) must not hold back the reply.
      await this.options.actions.audit('owner-request-rejected', { code, source, ...(decision.count > 1 ? { count: decision.count } : {}) })
        .catch(() => {
          this.rejectionAudit.unwrite(source, decision.count);
          this.options.logger.warn('a rejection could not be written to the audit trail', { code });
        });
    }
    if (benign) return;
    const outcome = this.limiter.recordFailure(source, now);
    // Once per episode: every extension of the block would be one more entry an attacker gets to write.
    if (outcome.blocked && outcome.failures === this.freeFailures + 1) {
      await this.options.actions.audit('owner-requests-rate-limited', { source, failures: outcome.failures }).catch(() => undefined);
    }
  }

  private count(code: TrustErrorCode): void {
    this.counters.byCode[code] = (this.counters.byCode[code] ?? 0) + 1;
  }

  private async publish(topic: string, payload: Uint8Array, retain: boolean): Promise<void> {
    if (this.transport === undefined) throw new TrustError('NOT_STARTED', 'owner channel is not attached to a transport');
    await this.transport.publish(topic, payload, { qos: 1, retain });
  }

  private logError(what: string, error: unknown): void {
    const code = error instanceof TrustError ? error.code : 'UNEXPECTED';
    this.options.logger.error(`${what} failed`, { code });
  }
}

/** Moves the large blob of an accepted reply (export or audit trail) into parts; the reply keeps their digest. */
function moveToParts(reply: AcceptedReply): { reply: AcceptedReply; parts: Uint8Array[] } {
  const field = reply.export !== undefined ? 'export' : reply.audit !== undefined ? 'audit' : undefined;
  const blob = field === undefined ? undefined : reply[field];
  if (field === undefined || blob === undefined) throw new TrustError('OVERSIZED', 'the reply is too large and has nothing to split');
  const { info, parts } = splitIntoParts(blob, field);
  const { [field]: _moved, ...rest } = reply;
  return { reply: { ...rest, parts: info }, parts };
}
