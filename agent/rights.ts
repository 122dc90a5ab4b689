import type { AgentParts as Parts } from './agent-api.js';
import { ownerAuditEvent } from './audit/index.js';
import { encodeCbor } from './codec/cbor.js';
import type { ResolvedConfig } from './config.js';
import { generateIdentity, saveIdentity, toHex, type DeviceIdentity } from './crypto/keys.js';
import { TrustError } from './errors.js';
import type { OwnerActions, OwnerChannel } from './owner/index.js';
import { OwnerStore, sealForOwner } from './owner/index.js';
import type { ChangeResult, PolicyEngine } from './policy/index.js';
import type { Ports } from './ports/index.js';
import type { PurgeReport, Store } from './store/index.js';
import { enforcedState } from './status.js';

export interface RightsDeps {
  cfg: ResolvedConfig;
  ports: Ports;
  parts: () => Parts;
  owner: () => OwnerChannel | undefined;
  replaceParts: (next: Parts) => void;
  publishManifest: () => Promise<void>;
  /** Closes the old store, removes its files and opens a new one in a new session. */
  reopenStore: (identity: DeviceIdentity) => Promise<{ store: Store; sessionId: Uint8Array }>;
  /** A purge is about to start: the publisher drops any batch it has read but not sent yet. */
  purging: () => void;
  /** Re-run the secure set-up check (R14) after something that can change it (pairing, transfer). */
  selfcheck: () => Promise<void>;
  /** The self-assessment (R1-R14) of the live agent. */
  assess: () => unknown;
  /** Transfer: the new keys, signed by the old, reach the collector before any envelope sealed under them (R7). */
  announceKeys?: (previous: DeviceIdentity, next: DeviceIdentity) => Promise<void>;
}

/**
 * The owner's rights, enforced: every method has finished (preferences persisted, purges done, audit written)
 * before it resolves, because the owner channel answers "accepted" right after and the companion relies on the
 * next reading obeying the change. The same methods serve the local API and the remote companion.
 */
export class AgentRights implements OwnerActions {
  readonly counters = { receipts: 0, changes: 0 };

  constructor(private readonly deps: RightsDeps) {}

  preferencesVersion(): number {
    return this.deps.parts().policy.currentVersion();
  }

  async applyPatch(patch: unknown): Promise<{ version: number; enforced: unknown }> {
    const result = await this.deps.parts().policy.applyPatch(patch);
    await this.enforce(result, 'owner-change');
    return { version: result.version, enforced: this.enforcedState() };
  }

  async reset(): Promise<{ version: number; enforced: unknown }> {
    const result = await this.deps.parts().policy.reset();
    await this.enforce(result, 'owner-reset');
    return { version: result.version, enforced: this.enforcedState() };
  }

  /** The owner has read the manifest (first-run gate): non-essential categories may follow their settings. */
  async reviewManifest(): Promise<{ version: number; enforced: unknown }> {
    const result = await this.deps.parts().policy.markManifestReviewed();
    await this.enforce(result, 'manifest-reviewed');
    return { version: result.version, enforced: this.enforcedState() };
  }

  /** A firmware or policy update: widening waits for consent, narrowing applies now (R9). */
  async updateRegistry(next: unknown): Promise<{ version: number; pending: string[] }> {
    const { policy, audit } = this.deps.parts();
    const result = await policy.updateRegistry(next);
    await this.runPurges(result.purges);
    await audit.record('policy.update', {
      registryVersion: result.registryVersion, widened: result.widened.length, narrowed: result.narrowed.length,
      awaitingConsent: result.pending.length, waitedForConsent: result.widened.length > 0, manifestHash: policy.manifest().contentHash,
    });
    await this.deps.publishManifest();
    await this.deps.owner()?.publishState();
    return { version: result.version, pending: result.pending };
  }

  /** Remote consent (the companion's 'accept-terms'): acceptPending for untrusted input. */
  acceptTerms(categories: unknown): Promise<{ version: number; enforced: unknown }> {
    const names = Array.isArray(categories) ? categories : [];
    if (names.length === 0 || names.length > 64 || !names.every((name) => typeof name === 'string' && name.length > 0 && name.length <= 64)) {
      return Promise.reject(new TrustError('INVALID_PREFERENCE', 'desired: must list 1 to 64 category names'));
    }
    return this.acceptPending(names as string[]);
  }

  corroborateTime(wallMs: number): void {
    this.deps.parts().store.trustTime(wallMs);
  }

  selfAssessment(): unknown {
    return this.deps.assess();
  }

  async acceptPending(categories: string[]): Promise<{ version: number; enforced: unknown }> {
    const result = await this.deps.parts().policy.acceptPending(categories);
    await this.enforce(result, 'consent-accepted');
    return { version: result.version, enforced: this.enforcedState() };
  }

  async eraseAll(): Promise<unknown> {
    const { store, policy } = this.deps.parts();
    this.deps.purging();
    const reports = await store.eraseAll();
    await this.auditPurges(reports);
    const result = await policy.reset();
    await this.enforce(result, 'erase-all');
    return this.receipt('erase-all', { removed: total(reports), categories: reports.map((r) => ({ category: r.category, removed: r.removed })) });
  }

  async eraseCategory(category: string): Promise<unknown> {
    const { store, policy } = this.deps.parts();
    if (!policy.registry().categories.some((c) => c.name === category)) {
      throw new TrustError('INVALID_PREFERENCE', `category: unknown category '${category}'`);
    }
    this.deps.purging();
    const report = await store.purge({ category, scope: 'all', reason: 'erase' });
    await this.auditPurges([report]);
    return this.receipt('erase-category', { category, removed: report.removed });
  }

  /**
   * Erase one person's data on a shared device (R10): every record whose person identifier is theirs, in raw form
   * ('local', 'full') or as any of its pseudonyms over the longest retention ('minimised'). The identifier is used to
   * find the records and forgotten; neither it nor its pseudonyms reach the audit trail or the receipt.
   */
  async eraseUser(userId: unknown): Promise<unknown> {
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 128) {
      throw new TrustError('INVALID_PREFERENCE', 'desired.userId: must be 1 to 128 characters');
    }
    const { store, policy } = this.deps.parts();
    const now = this.deps.ports.clock.now();
    const longest = Math.max(...policy.registry().categories.map((c) => c.retentionMaxMs));
    this.deps.purging();
    const reports: PurgeReport[] = [];
    for (const { category, field, values } of policy.identifierForms(userId, now - longest, now)) {
      reports.push(await store.eraseMatching(category, (data) => values.has(String(data[field]))));
    }
    await this.auditPurges(reports);
    return this.receipt('erase-user', { removed: total(reports), categories: reports.map((r) => ({ category: r.category, removed: r.removed })) });
  }

  async exportData(ownerBoxPublicKey: Uint8Array): Promise<Uint8Array> {
    const { store } = this.deps.parts();
    const records = await store.exportRecords();
    const body = { v: 1, deviceId: this.deps.cfg.deviceId, exportedAt: this.deps.ports.clock.now(), records };
    await this.receipt('export', { records: records.length });
    return sealForOwner(encodeCbor(body), ownerBoxPublicKey, this.deps.parts().random);
  }

  /** Erase, rotate every device key, reset preferences: the next owner inherits nothing. */
  async transferOwnership(): Promise<unknown> {
    const parts = this.deps.parts();
    this.deps.purging();
    const reports = await parts.store.eraseAll();
    await this.auditPurges(reports);
    const identity = generateIdentity(parts.random);
    await saveIdentity(this.deps.ports.storage, identity);
    await this.deps.announceKeys?.(parts.identity, identity);
    await parts.audit.rotateKey(identity.signSecretKey, identity.signPublicKey);
    const { store, sessionId } = await this.deps.reopenStore(identity);
    await parts.policy.rotatePseudonymSecret();
    const result = await parts.policy.reset({ forgetReview: true });
    this.deps.replaceParts({ ...parts, identity, store, sessionId });
    await this.enforce(result, 'transfer');
    const receipt = await this.receipt('transfer', {
      removed: total(reports), boxPublicKey: toHex(identity.boxPublicKey), signPublicKey: toHex(identity.signPublicKey),
    });
    await parts.audit.record('ownership.transfer', { removed: total(reports), keysRotated: true });
    // The local API transfers too, not only the companion's request: the old owner is forgotten either way.
    const channel = this.deps.owner();
    if (channel === undefined) await new OwnerStore(this.deps.ports.storage).clear();
    else await channel.forgetOwner().catch(() => undefined); // cleared first; only the state announcement may fail offline
    await this.deps.selfcheck();
    return receipt;
  }

  async auditTrail(): Promise<Uint8Array> {
    return this.deps.parts().audit.exportTrail();
  }

  enforcedState(): unknown {
    return enforcedState(this.deps.parts().policy);
  }

  async audit(type: string, details: Record<string, string | number | boolean>): Promise<void> {
    const event = ownerAuditEvent(type, details);
    await this.deps.parts().audit.record(event.type, event.details);
    if (event.type === 'pairing') await this.deps.selfcheck();
  }

  private async enforce(result: ChangeResult, action: string): Promise<void> {
    const { audit } = this.deps.parts();
    await this.runPurges(result.purges);
    this.counters.changes++;
    await audit.record('consent.change', { version: result.version, action, count: result.changed.length });
    await this.deps.publishManifest();
  }

  private async runPurges(orders: ChangeResult['purges']): Promise<void> {
    const reports: PurgeReport[] = [];
    for (const order of orders) {
      this.deps.purging(); // per order: a batch read between two purges may hold the second one's records
      reports.push(await this.deps.parts().store.purge(order));
    }
    await this.auditPurges(reports);
  }

  private async auditPurges(reports: PurgeReport[]): Promise<void> {
    const { audit } = this.deps.parts();
    for (const report of reports) {
      await audit.record('purge', { category: report.category, removed: report.removed, reason: report.reason });
    }
  }

  private async receipt(kind: string, details: Record<string, unknown>): Promise<unknown> {
    const { audit } = this.deps.parts();
    this.counters.receipts++;
    const body = { kind, deviceId: this.deps.cfg.deviceId, at: this.deps.ports.clock.now(), ...details };
    await audit.record('receipt', { kind, ...(typeof details['removed'] === 'number' ? { removed: details['removed'] } : {}) });
    return body;
  }
}

function total(reports: PurgeReport[]): number {
  return reports.reduce((sum, report) => sum + report.removed, 0);
}
