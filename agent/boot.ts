import nacl from 'tweetnacl';
import { createAuditTrail, type AuditTrail } from './audit/index.js';
import type { AgentParts } from './agent-api.js';
import { concatBytes } from './codec/bytes.js';
import { utf8Encode } from './codec/utf8.js';
import type { ResolvedConfig } from './config.js';
import { IDENTITY_FILE, loadOrCreateIdentity, toHex, type DeviceIdentity } from './crypto/keys.js';
import { installCrypto } from './crypto/primitives.js';
import { checkedRandom, type EntropyFault, type RandomSource } from './crypto/random.js';
import { TrustError } from './errors.js';
import { createPolicyEngine, type PolicyEngine } from './policy/engine.js';
import { loadRegistry } from './policy/registry.js';
import type { Ports } from './ports/index.js';
import { createStore, type Store } from './store/index.js';
import { newSessionId } from './telemetry/sealer.js';

/** Boot steps of the composition root (agent.ts), kept apart so the agent class stays readable. */

/**
 * Everything the agent holds, opened in dependency order: entropy is checked before anything is written, the
 * identity before the trail that signs with it, the store after the policy so boot-time narrowing runs first.
 */
export async function openParts(cfg: ResolvedConfig, ports: Ports): Promise<AgentParts> {
  checkPorts(ports);
  // Native primitives are checked against known answers before anything is signed or sealed with them.
  if (ports.crypto !== undefined) installCrypto(ports.crypto);
  // The firmware's registry is checked before anything is written: a broken or mismatched one leaves no trace.
  const registry = loadRegistry(cfg.registry);
  if (registry.deviceType !== cfg.deviceType) {
    throw new TrustError('INVALID_CONFIG', `config.registry is for '${registry.deviceType}', not config.deviceType '${cfg.deviceType}'`);
  }
  // A host without entropy is refused before anything is written. The agent never touches tweetnacl's process-wide
  // PRNG: every random byte it uses comes from this source, over its own port (docs/storage.md, "Entropy").
  await checkEntropy(ports);
  const sink: { audit?: AuditTrail } = {};
  const random = checkedRandom(ports.random, (fault, when) => {
    ports.logger.error('entropy.failed', { reason: fault, source: when });
    void sink.audit?.record('entropy.failed', { reason: fault, source: when }).catch(() => undefined);
  });
  const { identity, created } = await loadOrCreateIdentity(ports.storage, random);
  const sessionId = newSessionId(random);
  const audit = await createAuditTrail({
    storage: ports.storage, clock: ports.clock, signSecretKey: identity.signSecretKey, signPublicKey: identity.signPublicKey,
  });
  sink.audit = audit;
  if (created) {
    await audit.record('key.generated', { keyId: toHex(identity.boxKeyId), purpose: 'telemetry-box' });
    await audit.record('key.generated', { keyId: toHex(identity.signKeyId), purpose: 'device-sign' });
  }
  const policy = await createPolicyEngine({ registry, storage: ports.storage, clock: ports.clock, logger: ports.logger, random });
  const store = await openStore(cfg, ports, identity, toHex(sessionId), random, audit);
  await applyStartupPolicy(policy, store, audit);
  return { identity, sessionId, audit, policy, store, random };
}

export function storeMasterKey(identity: DeviceIdentity): Uint8Array {
  // A domain-separated hash, so the at-rest key never equals a key used on the wire.
  return nacl.hash(concatBytes([utf8Encode('iot-trust-agent/store-master/v1'), identity.boxSecretKey])).slice(0, 32);
}

export function openStore(
  cfg: ResolvedConfig, ports: Ports, identity: DeviceIdentity, sessionHex: string, random: RandomSource, audit: AuditTrail,
): Promise<Store> {
  return createStore({
    random,
    ...(ports.counter === undefined ? {} : { counter: ports.counter }),
    // An old key file put back on the flash: the store deleted it and its segments; the trail says so.
    onRollback: (report) => {
      void audit.record('store.rollback', { fileVersion: report.fileVersion, counter: report.counter, removed: report.removedSegments ?? 0 }).catch(() => undefined);
    },
    // Clock faults are resolved toward deletion inside the store; the trail says they happened (docs/storage.md).
    onClockFault: (fault) => {
      void audit.record('clock.fault', { reason: fault.kind, deltaMs: Math.min(Number.MAX_SAFE_INTEGER, Math.round(fault.deltaMs)) }).catch(() => undefined);
    },
    storage: ports.storage, clock: ports.clock, logger: ports.logger, scheduler: ports.scheduler,
    masterKey: storeMasterKey(identity), sessionId: sessionHex,
    durability: { mode: cfg.durability, groupCommitMs: cfg.groupCommitMs },
    limits: { maxBytes: cfg.maxBytes, maxRecords: cfg.maxRecords },
    sweepEveryMs: cfg.sweepIntervalMs,
  });
}

/** A firmware update or a corrupt preference file found at boot: narrow first, before any reading is accepted. */
export async function applyStartupPolicy(policy: PolicyEngine, store: Store, audit: AuditTrail): Promise<void> {
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

export function checkPorts(ports: Ports): void {
  const missing = (['random', 'clock', 'scheduler', 'storage', 'transport', 'logger'] as const).filter((name) => ports?.[name] === undefined);
  if (missing.length > 0) throw new TrustError('INVALID_CONFIG', `ports missing: ${missing.join(', ')}`);
}

/**
 * Fails fast (NO_ENTROPY) before anything is written when the random port is dead, stuck or short (all-zero,
 * repeating or short output). A device that already has an identity records the failure in its trail first
 * (`entropy.failed`); a factory-fresh one has no trail yet and only throws.
 */
export async function checkEntropy(ports: Ports): Promise<void> {
  let fault: EntropyFault | undefined;
  try {
    checkedRandom(ports.random, (found) => (fault = found)).probe('start');
  } catch (error) {
    await auditEntropyFailure(ports, fault ?? 'failed').catch(() => undefined);
    throw error;
  }
}

async function auditEntropyFailure(ports: Ports, fault: EntropyFault): Promise<void> {
  if (await ports.storage.read(IDENTITY_FILE) === undefined) return;
  const { identity } = await loadOrCreateIdentity(ports.storage);
  const audit = await createAuditTrail({
    storage: ports.storage, clock: ports.clock, signSecretKey: identity.signSecretKey, signPublicKey: identity.signPublicKey,
  });
  await audit.record('entropy.failed', { reason: fault, source: 'start' });
  ports.logger.error('entropy.failed', { reason: fault });
}
