import nacl from 'tweetnacl';
import type { AuditTrail } from './audit/index.js';
import { utf8Encode } from './codec/utf8.js';
import type { ResolvedConfig } from './config.js';
import type { DeviceIdentity } from './crypto/keys.js';
import { TrustError } from './errors.js';
import type { PolicyEngine } from './policy/index.js';
import type { Ports } from './ports/index.js';
import { createStore, type Store } from './store/index.js';

/** Boot steps of the composition root (agent.ts), kept apart so the agent class stays readable. */

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

/** Fails fast (NO_ENTROPY) before anything is written when the host has no secure random source. */
export function checkEntropy(ports: Ports): void {
  const probe = ports.random.bytes(32);
  if (!(probe instanceof Uint8Array) || probe.length !== 32) throw new TrustError('NO_ENTROPY', 'the random port returned no bytes');
}
