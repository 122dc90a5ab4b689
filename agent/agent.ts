import nacl from 'tweetnacl';
import { createAuditTrail, type AuditTrail } from './audit/index.js';
import { utf8Encode } from './codec/utf8.js';
import { resolveConfig, type AgentConfig, type ResolvedConfig } from './config.js';
import { loadOrCreateIdentity, toHex, type DeviceIdentity } from './crypto/keys.js';
import { wireRandom } from './crypto/random.js';
import { signDocument } from './crypto/sign.js';
import { TrustError } from './errors.js';
import { OwnerChannel } from './owner/index.js';
import { createPolicyEngine, registryFor, type PolicyEngine } from './policy/index.js';
import type { Ports, TimerHandle, Transport } from './ports/index.js';
import { createStore, type Store, type StoredRecord } from './store/index.js';
import { newSessionId, Sealer } from './telemetry/sealer.js';
import { Publisher } from './telemetry/publisher.js';
import { topics } from './topics.js';
import { AgentRights } from './rights.js';
import { buildStatus, type AgentStatus } from './status.js';

export interface RecordResult {
  /** Outputs the gate produced (0 when dropped or folded into an open aggregation window). */
  stored: number;
  /** Of those, how many wait in the outgoing queue. */
  queued: number;
}

/** The public face of the agent: what a firmware team calls. */
export interface Agent {
  readonly deviceId: string;
  readonly publicKeys: { box: Uint8Array; sign: Uint8Array };
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The collection gate: every reading enters here. Resolves once the result is durable in the store. */
  record(category: string, data: Record<string, unknown>, at?: number): Promise<RecordResult>;
  status(): AgentStatus;
  /** Called with every batch of records made durable (readings and closed aggregation windows): for QA evidence. */
  onStored(listener: (records: readonly StoredRecord[]) => void): () => void;
  /** Local pairing trigger (the device's button): opens the window, returns the QR payload string. */
  openPairingWindow(): { payload: string; setupCode: string; expiresInMs: number };
  /** Publish everything queued now, without waiting for the batch delay. */
  flush(): Promise<void>;
  /** The local owner API (same actions the companion triggers remotely). */
  readonly rights: AgentRights;
  readonly policy: PolicyEngine;
  readonly store: Store;
  readonly audit: AuditTrail;
}

/**
 * The composition root: turns a config and the host's ports into a running agent. Nothing here knows which host it
 * runs on; every host facility arrives through `ports`.
 */
export async function createAgent(config: AgentConfig, ports: Ports): Promise<Agent> {
  const cfg = resolveConfig(config);
  checkPorts(ports);
  wireRandom(ports.random);
  const { identity, created } = await loadOrCreateIdentity(ports.storage);
  const sessionId = newSessionId();
  const audit = await createAuditTrail({
    storage: ports.storage, clock: ports.clock, signSecretKey: identity.signSecretKey, signPublicKey: identity.signPublicKey,
  });
  if (created) {
    await audit.record('key.generated', { keyId: toHex(identity.boxKeyId), purpose: 'telemetry-box' });
    await audit.record('key.generated', { keyId: toHex(identity.signKeyId), purpose: 'device-sign' });
  }
  const policy = await createPolicyEngine({ registry: registryFor(cfg.deviceType), storage: ports.storage, clock: ports.clock, logger: ports.logger });
  const store = await openStore(cfg, ports, identity, toHex(sessionId));
  await applyStartupPolicy(policy, store, audit);
  return new TrustAgent(cfg, ports, { identity, sessionId, audit, policy, store });
}

export function storeMasterKey(identity: DeviceIdentity): Uint8Array {
  // A domain-separated hash, so the at-rest key never equals a key used on the wire.
  const label = utf8Encode('iot-trust-agent/store-master/v1');
  const input = new Uint8Array(label.length + identity.boxSecretKey.length);
  input.set(label);
  input.set(identity.boxSecretKey, label.length);
  return nacl.hash(input).slice(0, 32);
}

export function openStore(cfg: ResolvedConfig, ports: Ports, identity: DeviceIdentity, sessionHex: string): Promise<Store> {
  return createStore({
    storage: ports.storage, clock: ports.clock, logger: ports.logger, scheduler: ports.scheduler,
    masterKey: storeMasterKey(identity), sessionId: sessionHex,
    durability: { mode: cfg.durability, groupCommitMs: cfg.groupCommitMs },
    limits: { maxBytes: cfg.maxBytes, maxRecords: cfg.maxRecords },
    sweepEveryMs: cfg.sweepIntervalMs,
  });
}

/** A firmware update or a corrupt preference file found at boot: narrow first, before any reading is accepted. */
async function applyStartupPolicy(policy: PolicyEngine, store: Store, audit: AuditTrail): Promise<void> {
  const { update, purges } = policy.startup;
  for (const order of purges) {
    const report = await store.purge(order);
    await audit.record('purge', { category: report.category, removed: report.removed, reason: report.reason });
  }
  if (update !== undefined) {
    await audit.record('policy.update', {
      registryVersion: update.registryVersion, widened: update.widened.length, narrowed: update.narrowed.length,
      awaitingConsent: update.pending.length, waitedForConsent: update.widened.length > 0, source: 'firmware',
    });
  }
}

function checkPorts(ports: Ports): void {
  const missing = (['random', 'clock', 'scheduler', 'storage', 'transport', 'logger'] as const).filter((name) => ports?.[name] === undefined);
  if (missing.length > 0) throw new TrustError('INVALID_CONFIG', `ports missing: ${missing.join(', ')}`);
}

interface Parts {
  identity: DeviceIdentity;
  sessionId: Uint8Array;
  audit: AuditTrail;
  policy: PolicyEngine;
  store: Store;
}

class TrustAgent implements Agent {
  readonly deviceId: string;
  readonly rights: AgentRights;
  private readonly transport: Transport;
  private owner: OwnerChannel | undefined;
  private publisher: Publisher;
  private windowTimer: TimerHandle | undefined;
  private started = false;
  private readonly storedListeners = new Set<(records: readonly StoredRecord[]) => void>();

  constructor(private readonly cfg: ResolvedConfig, private readonly ports: Ports, private parts: Parts) {
    this.deviceId = cfg.deviceId;
    this.transport = ports.transport({
      clientId: cfg.deviceId, cleanSession: false, keepaliveSeconds: 30,
      will: { topic: topics.status(cfg.deviceId), payload: utf8Encode('offline'), qos: 1, retain: true },
    });
    this.publisher = this.newPublisher();
    this.rights = new AgentRights({
      cfg, ports, parts: () => this.parts, owner: () => this.owner,
      replaceParts: (next) => this.replaceParts(next), publishManifest: () => this.publishManifest(),
      reopenStore: (identity) => this.reopenStore(identity),
    });
  }

  get publicKeys(): { box: Uint8Array; sign: Uint8Array } {
    return { box: this.parts.identity.boxPublicKey, sign: this.parts.identity.signPublicKey };
  }
  get policy(): PolicyEngine { return this.parts.policy; }
  get store(): Store { return this.parts.store; }
  get audit(): AuditTrail { return this.parts.audit; }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.owner = await OwnerChannel.create({
      deviceId: this.deviceId, deviceType: this.cfg.deviceType, identity: () => this.parts.identity,
      actions: this.rights, clock: this.ports.clock, storage: this.ports.storage, logger: this.ports.logger,
    });
    await this.parts.audit.record('agent.start', { session: toHex(this.parts.sessionId) });
    this.transport.onConnection((connected) => { if (connected) void this.onConnected(); });
    await this.transport.connect();
    await this.owner.attach(this.transport);
    await this.onConnected();
    this.scheduleWindowFlush();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.publisher.stop();
    if (this.windowTimer !== undefined) this.ports.scheduler.clearTimeout(this.windowTimer);
    await this.owner?.idle();
    await this.flushWindows();
    if (this.transport.connected) {
      await this.publisher.drain().catch(() => undefined);
      await this.transport.publish(topics.status(this.deviceId), utf8Encode('offline'), { qos: 1, retain: true }).catch(() => undefined);
    }
    await this.transport.close();
    await this.parts.audit.record('agent.stop', { session: toHex(this.parts.sessionId) });
    await this.parts.audit.checkpoint();
    await this.parts.store.close();
    await this.parts.audit.close();
  }

  record(category: string, data: Record<string, unknown>, at?: number): Promise<RecordResult> {
    // The gate and the store's append are entered in the same tick: the store serialises appends and purges in
    // arrival order, so a reading admitted before a withdrawal is always enqueued before that withdrawal's purge.
    const outputs = this.parts.policy.collect(category, data, at ?? this.ports.clock.now());
    this.scheduleWindowFlush();
    return this.persist(outputs);
  }

  status(): AgentStatus {
    return buildStatus({
      cfg: this.cfg, identity: this.parts.identity, policy: this.parts.policy, store: this.parts.store, audit: this.parts.audit,
      transport: this.transport, owner: this.owner, publisher: this.publisher.stats, started: this.started, rights: this.rights.counters,
      now: this.ports.clock.now(),
    });
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
    for (const listener of this.storedListeners) listener(stored);
    const queued = stored.filter((record) => record.transmit).length;
    if (queued > 0) this.publisher.kick();
    return { stored: stored.length, queued };
  }

  private async onConnected(): Promise<void> {
    const security = this.transport.security;
    if (security?.insecureReason !== undefined) {
      this.ports.logger.warn('insecure transport in use (explicit opt-in)', { deviceId: this.deviceId });
      await this.parts.audit.record('transport.insecure', { reason: 'opt-in' });
    }
    try {
      await this.transport.publish(topics.status(this.deviceId), utf8Encode('online'), { qos: 1, retain: true });
      await this.publishManifest();
    } catch (error) {
      this.ports.logger.debug('announce failed; retried at the next connect', { deviceId: this.deviceId });
    }
    void this.publisher.drain();
  }

  private async publishManifest(): Promise<void> {
    if (!this.transport.connected) return;
    const signed = signDocument(this.parts.policy.manifest(), this.parts.identity.signSecretKey);
    await this.transport.publish(topics.manifest(this.deviceId), signed, { qos: 1, retain: true });
  }

  private scheduleWindowFlush(): void {
    const due = this.parts.policy.nextWindowClose();
    if (due === undefined || this.windowTimer !== undefined || !this.started) return;
    const delay = Math.max(0, due - this.ports.clock.now());
    this.windowTimer = this.ports.scheduler.setTimeout(() => {
      this.windowTimer = undefined;
      void this.flushWindows().then(() => this.scheduleWindowFlush());
    }, delay);
  }

  private async flushWindows(): Promise<void> {
    await this.persist(this.parts.policy.flushWindows(this.ports.clock.now()));
  }

  private newPublisher(): Publisher {
    const sealer = new Sealer({
      identity: this.parts.identity, deviceId: this.deviceId, recipientPublicKey: this.cfg.recipientPublicKey, sessionId: this.parts.sessionId,
    });
    return new Publisher({
      topic: topics.telemetry(this.deviceId), queue: this.parts.store, transport: this.transport,
      seal: (records) => sealer.sealFitting('telemetry', records, this.ports.clock.now()),
      scheduler: this.ports.scheduler, logger: this.ports.logger,
      maxBatch: this.cfg.maxBatch, batchDelayMs: this.cfg.batchDelayMs, drainPerSecond: this.cfg.drainPerSecond,
    });
  }

  /** After a transfer the old store is erased; its files go with the old key and a fresh store opens under the new. */
  private async reopenStore(identity: DeviceIdentity): Promise<Store> {
    await this.parts.store.close();
    for (const name of await this.ports.storage.list('store')) await this.ports.storage.remove(name);
    return openStore(this.cfg, this.ports, identity, toHex(this.parts.sessionId));
  }

  /** Ownership transfer rotates the identity and reopens the store under the new key. */
  private replaceParts(next: Parts): void {
    this.publisher.stop();
    this.parts = next;
    this.publisher = this.newPublisher();
  }
}
