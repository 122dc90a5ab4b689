import type { ComplianceReport } from './audit/index.js';
import type { Agent, AgentParts as Parts, RecordResult } from './agent-api.js';
import { openParts, openStore } from './boot.js';
import { utf8Encode } from './codec/utf8.js';
import { resolveConfig, type AgentConfig, type ResolvedConfig } from './config.js';
import { toHex, type DeviceIdentity } from './crypto/keys.js';
import { SignedCache } from './crypto/signed-cache.js';
import { TrustError } from './errors.js';
import { OwnerChannel } from './owner/index.js';
import type { PolicyEngine } from './policy/index.js';
import type { Ports, TimerHandle, Transport } from './ports/index.js';
import type { Store, StoredRecord } from './store/index.js';
import { categoryTableCache } from './telemetry/categories.js';
import { newSessionId, Sealer } from './telemetry/sealer.js';
import { Publisher, type Withheld } from './telemetry/publisher.js';
import { topics } from './topics.js';
import { AgentRights } from './rights.js';
import { KeyRotation } from './key-rotation.js';
import { loadRecipient, type RecipientKey } from './crypto/rotation.js';
import { SafeMode } from './safe-mode.js';
import { auditView, policyView, storeView, type AuditView, type PolicyView, type StoreView } from './agent-views.js';
import { buildStatus, selfAssessment, selfcheckEntry, type AgentStatus, type StatusSources } from './status.js';

export { openStore, storeMasterKey } from './boot.js';
export type { Agent, RecordResult } from './agent-api.js';

/**
 * The composition root: turns a config and the host's ports into a running agent. Nothing here knows which host it
 * runs on; every host facility arrives through `ports`.
 */
export async function createAgent(config: AgentConfig, ports: Ports): Promise<Agent> {
  const cfg = resolveConfig(config);
  const parts = await openParts(cfg, ports);
  const agent = new TrustAgent(cfg, ports, parts, await loadRecipientOrConfigured(cfg, ports));
  await agent.rights.recover(); // an owner request a fault interrupted is completed before any reading is taken
  return agent;
}

/** A rotated collector key persists across reboots; an unreadable file falls back to the firmware's key (logged). */
async function loadRecipientOrConfigured(cfg: ResolvedConfig, ports: Ports): Promise<RecipientKey> {
  try {
    return await loadRecipient(ports.storage, cfg.recipientPublicKey);
  } catch {
    ports.logger.warn('rotated recipient key unreadable; sealing to the configured key', { deviceId: cfg.deviceId });
    return { publicKey: cfg.recipientPublicKey, serial: 0 };
  }
}

class TrustAgent implements Agent {
  readonly deviceId: string;
  readonly rights: AgentRights;
  private readonly transport: Transport;
  private owner: OwnerChannel | undefined;
  private publisher: Publisher;
  private windowTimer: TimerHandle | undefined;
  private started = false;
  private closed = false;
  private lastAnnounce: Promise<void> | undefined;
  /** Content hash of the manifest last acknowledged by the broker (evidence for R8: published, not just generated). */
  private publishedManifestHash: string | undefined;
  /** Security state last written to the trail as 'selfcheck' (R14), so only changes are recorded. */
  private lastSelfcheck: string | undefined;
  private readonly storedListeners = new Set<(records: readonly StoredRecord[]) => void>();
  private readonly safeMode = new SafeMode();
  /** Recipient rotations in, device key announcements out (R7). */
  private readonly keys: KeyRotation;
  private sealer: Sealer | undefined;
  /** The manifest and state last signed, so a boot that changed nothing signs nothing (issue 12 item 4). */
  private signedCache: Promise<SignedCache> | undefined;

  constructor(private readonly cfg: ResolvedConfig, private readonly ports: Ports, private parts: Parts, recipient: RecipientKey) {
    this.deviceId = cfg.deviceId;
    this.keys = new KeyRotation({
      deviceId: cfg.deviceId, storage: ports.storage, clock: ports.clock, logger: ports.logger, audit: () => this.parts.audit,
      trustRoot: cfg.trustRootPublicKey, recipient, onRecipient: (next) => this.sealer?.setRecipient(next.publicKey),
    });
    this.transport = ports.transport({
      clientId: cfg.deviceId, cleanSession: false, keepaliveSeconds: 30,
      will: { topic: topics.status(cfg.deviceId), payload: utf8Encode('offline'), qos: 1, retain: true },
    });
    this.publisher = this.newPublisher();
    // Registered once, before the first connect: every (re)connect announces the device and drains the queue.
    this.transport.onConnection((connected) => { if (connected && this.started) void this.announce(); });
    this.rights = new AgentRights({
      cfg, ports, parts: () => this.parts, owner: () => this.owner,
      replaceParts: (next) => this.replaceParts(next), publishManifest: () => this.publishManifest(),
      reopenStore: (identity) => this.reopenStore(identity), selfcheck: () => this.selfcheck(),
      purging: () => this.publisher.invalidate(), assess: () => this.assess(),
      announceKeys: (previous, next) => this.keys.announce(previous, next),
    });
  }

  get publicKeys(): { box: Uint8Array; sign: Uint8Array } {
    // Copies: a caller writing into them must not alter the identity the agent seals and signs with.
    return { box: this.parts.identity.boxPublicKey.slice(), sign: this.parts.identity.signPublicKey.slice() };
  }
  readonly policy: PolicyView = policyView(() => this.parts);
  readonly store: StoreView = storeView(() => this.parts);
  readonly audit: AuditView = auditView(() => this.parts);

  async start(): Promise<void> {
    if (this.closed) throw new TrustError('CLOSED', 'a stopped agent cannot start again; create a new one');
    if (this.started) return;
    this.started = true;
    try {
      if (this.owner === undefined) await this.openOwnerChannel();
      await this.keys.attach(this.transport);
      await this.parts.audit.record('agent.start', { session: toHex(this.parts.sessionId) });
      await this.transport.connect();
    } catch (error) {
      // Not started: the caller may retry (e.g. the broker was unreachable at boot). Readings still queue durably.
      this.started = false;
      throw error;
    }
    this.scheduleWindowFlush();
    // Both normally ran from the connection handlers inside connect(); awaiting them makes start() resolve once the
    // owner channel is subscribed and the device announced. A link lost meanwhile is not a failed start: the adapter
    // reconnects and the same handlers run again.
    await this.owner?.attach(this.transport).catch(() => {
      this.ports.logger.warn('owner channel not subscribed yet; retried at the next connect', { deviceId: this.deviceId });
    });
    await (this.lastAnnounce ?? this.announce());
    await this.selfcheck();
  }

  /** R14: the secure set-up check, written to the trail at start and whenever its outcome changes (pairing, transfer). */
  private async selfcheck(force = false): Promise<void> {
    const status = this.status();
    this.safeMode.update(status.security);
    const check = selfcheckEntry(status);
    if (!force && check.key === this.lastSelfcheck) return;
    this.lastSelfcheck = check.key;
    await this.parts.audit.record('selfcheck', check.details);
  }

  /**
   * Orderly shutdown: finish the owner request in hand, close open windows into the queue, drain it while the link is
   * up, say 'offline', close the link, then seal the audit trail and close the files. Also releases a never-started
   * agent (the store's sweep timer runs from creation).
   */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const wasStarted = this.started;
    this.started = false;
    if (this.windowTimer !== undefined) this.ports.scheduler.clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
    await this.owner?.idle();
    // A store failure here must not keep the link and files open; the windows' readings are lost, and logged.
    await this.flushWindows().catch(() => this.ports.logger.warn('closing aggregation windows at stop failed', { deviceId: this.deviceId }));
    if (wasStarted && this.transport.connected) {
      await this.publisher.drain();
      await this.transport.publish(topics.status(this.deviceId), utf8Encode('offline'), { qos: 1, retain: true }).catch(() => undefined);
    }
    await this.publisher.stop();
    await this.transport.close();
    await this.owner?.idle(); // anything that arrived before the link closed
    if (wasStarted) await this.parts.audit.record('agent.stop', { session: toHex(this.parts.sessionId) });
    await this.parts.audit.checkpoint();
    await this.parts.store.close();
    await this.parts.audit.close();
    await (await this.signedCache)?.saved();
  }

  record(category: string, data: Record<string, unknown>, at?: number): Promise<RecordResult> {
    if (this.closed) return Promise.reject(new TrustError('CLOSED', 'the agent is stopped'));
    // The gate and the store's append are entered in the same tick: the store serialises appends and purges in
    // arrival order, so a reading admitted before a withdrawal is always enqueued before that withdrawal's purge.
    let outputs: ReturnType<PolicyEngine['collect']>;
    try {
      // Stamped with trusted time, not the raw wall clock: a clock set far back must not make a fresh reading look
      // expired (it was silently dropped); the store reports the fault as clock.fault.
      outputs = this.parts.policy.collect(category, data, at ?? this.parts.store.trustedNow());
    } catch (error) {
      return Promise.reject(error); // a bad reading is a rejected promise, never a synchronous throw
    }
    this.scheduleWindowFlush();
    return this.persist(this.safeMode.filter(outputs));
  }

  status(): AgentStatus {
    return buildStatus(this.statusSources());
  }

  private statusSources(): StatusSources {
    return {
      cfg: this.cfg, identity: this.parts.identity, policy: this.parts.policy, store: this.parts.store, audit: this.parts.audit,
      transport: this.transport, owner: this.owner, publisher: this.publisher.stats, started: this.started, rights: this.rights.counters,
      now: this.ports.clock.now(), manifestPublished: this.publishedManifestHash === this.parts.policy.manifest().contentHash,
      safeModeDropped: this.safeMode.dropped, recipient: this.keys.recipient(), trustRoot: this.cfg.trustRootPublicKey !== undefined,
    };
  }

  assess(): ComplianceReport {
    return selfAssessment(this.statusSources());
  }

  onStored(listener: (records: readonly StoredRecord[]) => void): () => void {
    this.storedListeners.add(listener);
    return () => this.storedListeners.delete(listener);
  }

  openPairingWindow(): { payload: string; setupCode: string; expiresInMs: number } {
    if (this.owner === undefined) throw new TrustError('NOT_STARTED', 'start the agent before pairing');
    return this.owner.openPairingWindow(this.cfg.pairingWindowMs);
  }

  async flush(): Promise<void> {
    await this.flushWindows();
    await this.publisher.drain();
  }

  private async persist(outputs: ReturnType<PolicyEngine['collect']>): Promise<RecordResult> {
    if (outputs.length === 0) return { stored: 0, queued: 0 };
    const stored = await this.parts.store.append(outputs);
    // The records are durable already: a failing observer must not turn that into a rejected record().
    for (const listener of this.storedListeners) {
      try { listener(stored); } catch { this.ports.logger.warn('onStored listener failed', { deviceId: this.deviceId }); }
    }
    const queued = stored.filter((record) => record.transmit).length;
    if (queued > 0) this.publisher.kick();
    return { stored: stored.length, queued };
  }

  private signed(): Promise<SignedCache> {
    this.signedCache ??= SignedCache.load(this.ports.storage, this.ports.logger);
    return this.signedCache;
  }

  private async openOwnerChannel(): Promise<void> {
    this.owner = await OwnerChannel.create({
      signed: await this.signed(),
      deviceId: this.deviceId, deviceType: this.cfg.deviceType, identity: () => this.parts.identity,
      actions: this.rights, clock: this.ports.clock, storage: this.ports.storage, logger: this.ports.logger, random: this.parts.random,
    });
    // Before the first connect, so requests the broker kept for this session while offline are not missed.
    await this.owner.attach(this.transport);
  }

  /** One announcement per connect (the connection handler's); start() awaits the latest instead of repeating it. */
  private announce(): Promise<void> {
    this.lastAnnounce = this.onConnected();
    return this.lastAnnounce;
  }

  private async onConnected(): Promise<void> {
    try {
      await this.keys.republish(); // first: its publish is issued before anything else can use the link
      if (this.transport.security?.insecureReason !== undefined) {
        this.ports.logger.warn('insecure transport in use (explicit opt-in)', { deviceId: this.deviceId });
        await this.parts.audit.record('transport.insecure', { reason: 'opt-in', allowed: true, tls: this.transport.security.encrypted });
      }
      await this.transport.publish(topics.status(this.deviceId), utf8Encode('online'), { qos: 1, retain: true });
      await this.publishManifest();
    } catch (error) {
      this.ports.logger.debug('announce failed; retried at the next connect', { deviceId: this.deviceId });
    }
    void this.publisher.drain();
    // The link's security may differ from the last connect's: safe mode follows it (R14).
    if (this.started) await this.selfcheck().catch(() => undefined);
  }

  private async publishManifest(): Promise<void> {
    if (!this.transport.connected) return;
    const manifest = this.parts.policy.manifest();
    const signed = (await this.signed()).sign('manifest', this.parts.identity.signSecretKey, this.ports.clock.now(), () => manifest);
    await this.transport.publish(topics.manifest(this.deviceId), signed, { qos: 1, retain: true });
    this.publishedManifestHash = manifest.contentHash;
  }

  private scheduleWindowFlush(): void {
    const due = this.parts.policy.nextWindowClose();
    if (due === undefined || this.windowTimer !== undefined || !this.started) return;
    const delay = Math.max(0, due - this.ports.clock.now());
    this.windowTimer = this.ports.scheduler.setTimeout(() => {
      this.windowTimer = undefined;
      this.flushWindows().then(() => this.scheduleWindowFlush(), () => {
        this.ports.logger.warn('closing aggregation windows failed; retried with the next reading', { deviceId: this.deviceId });
      });
    }, delay);
  }

  private async flushWindows(): Promise<void> {
    await this.persist(this.parts.policy.flushWindows(this.ports.clock.now()));
  }

  private newPublisher(): Publisher {
    const sealer = new Sealer({
      identity: this.parts.identity, deviceId: this.deviceId, recipientPublicKey: this.keys.recipient().publicKey, sessionId: this.parts.sessionId,
      random: this.parts.random,
      categories: categoryTableCache(() => this.parts.policy.registry()), version: this.cfg.envelopeVersion,
    });
    this.sealer = sealer; // a recipient rotation switches it; envelopes are sealed at send time, so the queue follows
    return new Publisher({
      topic: topics.telemetry(this.deviceId), queue: this.parts.store, transport: this.transport,
      seal: (records) => sealer.sealFitting('telemetry', records, this.ports.clock.now()),
      scheduler: this.ports.scheduler, logger: this.ports.logger,
      maxBatch: this.cfg.maxBatch, batchDelayMs: this.cfg.batchDelayMs, drainPerSecond: this.cfg.drainPerSecond,
      forbids: (record) => this.parts.policy.forbidsSending(record, this.parts.store.trustedNow())
        ?? (this.rights.erasedByUnfinished(record) ? 'erase' : undefined),
      withhold: (withheld) => this.withhold(withheld),
    });
  }

  /** The send-time gate refused these: purge them (never sent) and say so in the trail. */
  private async withhold(withheld: Withheld[]): Promise<void> {
    const { store, audit } = this.parts;
    for (const reason of new Set(withheld.map((w) => w.reason))) {
      const ids = withheld.filter((w) => w.reason === reason).map((w) => w.record.id);
      for (const report of await store.discard(ids, reason)) {
        await audit.record('purge', { category: report.category, removed: report.removed, reason: report.reason, scope: 'send-gate' });
      }
    }
  }

  /**
   * After a transfer the old store is erased; its files go with the old key and a fresh store opens under the new, in
   * a NEW session: record ids restart at seq 0, and the collector dedups readings by (device, session, seq), so
   * reusing the session would make it drop the new owner's first readings as duplicates of the old owner's.
   */
  private async reopenStore(identity: DeviceIdentity): Promise<{ store: Store; sessionId: Uint8Array }> {
    await this.publisher.stop(); // its in-flight drain still reads the old store
    await this.parts.store.close();
    for (const name of await this.ports.storage.list('store')) await this.ports.storage.remove(name);
    const sessionId = newSessionId(this.parts.random);
    return { store: await openStore(this.cfg, this.ports, identity, toHex(sessionId), this.parts.random, this.parts.audit), sessionId };
  }

  /**
   * Ownership transfer: new identity, store and session. The Sealer is rebuilt with them, so its sequence restarts at
   * 0 under a new sender key and session (a new replay space at the collector, not a replay).
   */
  private replaceParts(next: Parts): void {
    void this.publisher.stop();
    const totals = this.publisher.stats;
    this.parts = next;
    this.publisher = this.newPublisher();
    Object.assign(this.publisher.stats, totals); // counters cover the device's life, not one identity
    if (this.started && this.transport.connected) void this.publisher.drain();
  }
}
