import type { AgentParts as Parts } from './agent-api.js';
import { ownerAuditEvent } from './audit/index.js';
import { encodeCbor } from './codec/cbor.js';
import type { ResolvedConfig } from './config.js';
import { generateIdentity, saveIdentity, toHex, type DeviceIdentity } from './crypto/keys.js';
import { isTrustError, TrustError } from './errors.js';
import type { OwnerActions, OwnerChannel } from './owner/index.js';
import { OwnerStore, sealForOwner } from './owner/index.js';
import { loadRegistry, type ChangeResult, type PolicyChange, type PurgeOrder, type Registry } from './policy/index.js';
import type { Ports } from './ports/index.js';
import type { PurgeReport, Store } from './store/index.js';
import type { Intent, IntentAction } from './rights-journal.js';
import { RequestRunner } from './rights-runner.js';
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
 *
 * All or nothing under storage faults (docs/storage.md, "Owner requests under faults"): a change is journaled whole
 * (rights-journal.ts) before any step; a fault before that changes nothing, a fault after it is completed from the
 * journal at the next request or at boot. Requests run one at a time; each first completes an unfinished one.
 */
export class AgentRights implements OwnerActions {
  readonly counters = { receipts: 0, changes: 0 };
  private readonly runner: RequestRunner;

  constructor(private readonly deps: RightsDeps) {
    this.runner = new RequestRunner({ ...deps, counters: this.counters });
  }

  /**
   * At boot, before any reading: complete a request a fault or power cut interrupted. A journal that does not read
   * back is dropped with an error in the log (see docs/storage.md). A failure leaves the request pending, with its
   * preferences in force in memory: the next owner request retries it.
   */
  recover(): Promise<void> {
    return this.runner.recover();
  }

  /** While a request is unfinished, the version it started from: a retry carrying it as expectedVersion completes it. */
  preferencesVersion(): number {
    return this.runner.baseVersion() ?? this.deps.parts().policy.currentVersion();
  }

  /** Part of the send-time gate: a queued record an unfinished (interrupted) erase covers must not leave. */
  erasedByUnfinished(record: { category: string; id: { session: string; seq: number } }): boolean {
    return this.runner.erases(record);
  }

  /** Whether an interrupted request waits to be completed (status, tests). */
  hasUnfinishedRequest(): boolean {
    return this.runner.hasUnfinished();
  }

  applyPatch(patch: unknown): Promise<{ version: number; enforced: unknown }> {
    return this.change({ kind: 'patch', patch }, 'owner-change');
  }

  reset(): Promise<{ version: number; enforced: unknown }> {
    return this.change({ kind: 'reset' }, 'owner-reset');
  }

  /** The owner has read the manifest (first-run gate): non-essential categories may follow their settings. */
  reviewManifest(): Promise<{ version: number; enforced: unknown }> {
    return this.change({ kind: 'patch', patch: { manifestReviewed: true } }, 'manifest-reviewed');
  }

  /** A firmware or policy update: widening waits for consent, narrowing applies now (R9). */
  updateRegistry(next: unknown): Promise<{ version: number; pending: string[] }> {
    return this.runner.exclusive(async () => {
      await this.runner.settle();
      const { policy } = this.deps.parts();
      if (isRunning(policy.registry(), next)) return { version: policy.currentVersion(), pending: policy.pendingConsent() }; // a retry
      const proposal = await policy.propose({ kind: 'registry', registry: next });
      const diff = proposal.diff ?? { widened: [], narrowed: [], removed: [] };
      const pendingAfter = Object.entries(proposal.state.categories).filter(([, p]) => p.pending).map(([name]) => name);
      await this.runner.run(this.runner.intent('policy-update', proposal, {
        update: { registryVersion: proposal.registry.version, widened: diff.widened.length, narrowed: diff.narrowed.length, awaitingConsent: pendingAfter.length },
      }), proposal.registry);
      await this.deps.owner()?.publishState().catch(() => undefined);
      return { version: policy.currentVersion(), pending: policy.pendingConsent() };
    });
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

  acceptPending(categories: string[]): Promise<{ version: number; enforced: unknown }> {
    return this.change({ kind: 'accept', categories }, 'consent-accepted', (completed) => {
      // The retry of a consent its own completion just accepted: only what is still pending is asked again.
      if (completed?.action !== 'consent-accepted' || !Array.isArray(categories)) return { kind: 'accept', categories };
      const pending = this.deps.parts().policy.pendingConsent();
      return { kind: 'accept', categories: categories.filter((name) => pending.includes(name)) };
    });
  }

  eraseAll(): Promise<unknown> {
    return this.runner.exclusive(async () => {
      await this.runner.settle();
      const proposal = await this.deps.parts().policy.propose({ kind: 'reset' });
      const reports = await this.runner.run(this.runner.intent('erase-all', { ...proposal, purges: [] }, { eraseAll: true }));
      return this.receiptBody('erase-all', { removed: total(reports), categories: reports.map((r) => ({ category: r.category, removed: r.removed })) });
    });
  }

  eraseCategory(category: string): Promise<unknown> {
    return this.runner.exclusive(async () => {
      await this.runner.settle();
      const { store, policy } = this.deps.parts();
      if (!policy.registry().categories.some((c) => c.name === category)) {
        throw new TrustError('INVALID_PREFERENCE', `category: unknown category '${category}'`);
      }
      const order: PurgeOrder = { category, scope: 'all', reason: 'erase', before: store.nextId() };
      const reports = await this.runner.run(this.runner.intent('erase-category', undefined, { purges: [order] }));
      return this.receiptBody('erase-category', { category, removed: total(reports) });
    });
  }

  /**
   * Erase one person's data on a shared device (R10): every record whose person identifier is theirs, in raw form
   * ('local', 'full') or as any of its pseudonyms over the longest retention ('minimised'). The identifier is used to
   * find the records and forgotten; neither it nor its pseudonyms reach the audit trail, the receipt or the journal
   * (so this request is not journaled: each category is erased atomically, a fault leaves part of it done and the
   * owner's retry, which matches the same records, finishes it).
   */
  eraseUser(userId: unknown): Promise<unknown> {
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 128) {
      return Promise.reject(new TrustError('INVALID_PREFERENCE', 'desired.userId: must be 1 to 128 characters'));
    }
    return this.runner.exclusive(async () => {
      await this.runner.settle();
      const { store, policy } = this.deps.parts();
      const now = this.deps.ports.clock.now();
      const longest = Math.max(...policy.registry().categories.map((c) => c.retentionMaxMs));
      this.deps.purging();
      const reports: PurgeReport[] = [];
      for (const { category, field, values } of policy.identifierForms(userId, now - longest, now)) {
        reports.push(await store.eraseMatching(category, (data) => values.has(String(data[field]))));
      }
      await this.runner.auditPurges(reports);
      return this.receipt('erase-user', { removed: total(reports), categories: reports.map((r) => ({ category: r.category, removed: r.removed })) });
    });
  }

  exportData(ownerBoxPublicKey: Uint8Array): Promise<Uint8Array> {
    return this.runner.exclusive(async () => {
      await this.runner.settle(); // an interrupted erase is finished before anything it erases could be exported
      const records = await this.deps.parts().store.exportRecords();
      const body = { v: 1, deviceId: this.deps.cfg.deviceId, exportedAt: this.deps.ports.clock.now(), records };
      await this.receipt('export', { records: records.length });
      return sealForOwner(encodeCbor(body), ownerBoxPublicKey, this.deps.parts().random);
    });
  }

  /** Erase, rotate every device key, reset preferences: the next owner inherits nothing. */
  transferOwnership(): Promise<unknown> {
    return this.runner.exclusive(async () => {
      await this.runner.settle();
      return this.transfer();
    });
  }

  private async transfer(): Promise<unknown> {
    const parts = this.deps.parts();
    this.deps.purging();
    // A store already closed is one an interrupted transfer closed to delete its files: nothing is left to erase.
    const reports = await parts.store.eraseAll().catch((error: unknown) => {
      if (isTrustError(error, 'CLOSED')) return [];
      throw error;
    });
    await this.runner.auditPurges(reports);
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
    await this.runner.auditPurges(reports);
  }

  /** A preference change: settle, propose, then journal and complete it (or, when it changes nothing, just record it). */
  private change(
    change: PolicyChange, action: IntentAction, retried?: (completed: Intent | undefined) => PolicyChange,
  ): Promise<{ version: number; enforced: unknown }> {
    return this.runner.exclusive(async () => {
      await this.runner.settle();
      const completed = this.runner.takeInterrupted();
      const { policy, audit } = this.deps.parts();
      const proposal = await policy.propose(retried === undefined ? change : retried(completed));
      if (proposal.version === policy.currentVersion() && proposal.purges.length === 0) {
        this.counters.changes++;
        await audit.record('consent.change', { version: proposal.version, action, count: 0 });
      } else {
        await this.runner.run(this.runner.intent(action, proposal));
      }
      return { version: policy.currentVersion(), enforced: this.enforcedState() };
    });
  }

  private async receipt(kind: string, details: Record<string, unknown>): Promise<unknown> {
    const { audit } = this.deps.parts();
    this.counters.receipts++;
    await audit.record('receipt', { kind, ...(typeof details['removed'] === 'number' ? { removed: details['removed'] } : {}) });
    return this.receiptBody(kind, details);
  }

  /** The receipt alone; a journaled erase writes its trail entry as one of its own steps (rights-runner.ts). */
  private receiptBody(kind: string, details: Record<string, unknown>): unknown {
    return { kind, deviceId: this.deps.cfg.deviceId, at: this.deps.ports.clock.now(), ...details };
  }
}

/** The registry in force already (the retry of an interrupted update succeeds; anything else is judged by the engine). */
function isRunning(running: Registry, next: unknown): boolean {
  try {
    return JSON.stringify(loadRegistry(next)) === JSON.stringify(running);
  } catch {
    return false;
  }
}

function total(reports: PurgeReport[]): number {
  return reports.reduce((sum, report) => sum + report.removed, 0);
}
