import type { AgentParts as Parts } from './agent-api.js';
import { TrustError } from './errors.js';
import type { Proposal, Registry } from './policy/index.js';
import type { Ports } from './ports/index.js';
import { clearIntent, loadIntent, saveIntent, type Intent, type IntentAction } from './rights-journal.js';
import type { PurgeReport, RecordId } from './store/index.js';

export interface RunnerDeps {
  ports: Ports;
  parts: () => Parts;
  /** A purge is about to start: the publisher drops any batch it has read but not sent yet. */
  purging: () => void;
  publishManifest: () => Promise<void>;
  counters: { changes: number; receipts: number };
}

/** An intent journaled this boot (or found at boot) and not yet complete. */
interface Pending {
  intent: Intent;
  /** The registry a registry update installs (unknown after a reboot: then only its purges are completed). */
  registry: Registry | undefined;
  /** Purges done so far by earlier attempts, so the trail gets the full counts. */
  reports: PurgeReport[];
}

/**
 * Runs owner requests one at a time, all or nothing under storage faults (docs/storage.md, "Owner requests under
 * faults"): a change is journaled whole (rights-journal.ts) before any step; a fault before that changes nothing, a
 * fault after it is completed from the journal at the next request (`settle`) or at boot (`recover`).
 */
export class RequestRunner {
  private pending: Pending | undefined;
  /** The last request completed after an interruption (at boot or by a later request): its retry must succeed. */
  private interrupted: Intent | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: RunnerDeps) {}

  /** The version an unfinished request started from (undefined when none is unfinished). */
  baseVersion(): number | undefined {
    return this.pending?.intent.baseVersion;
  }

  hasUnfinished(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Whether the unfinished request erases this stored record (erase-all, erase-category): the send-time gate withholds
   * it, so an erase interrupted before its purge still keeps what it erases from leaving.
   */
  erases(record: { category: string; id: RecordId }): boolean {
    const intent = this.pending?.intent;
    if (intent === undefined) return false;
    const current = this.deps.parts().store.nextId().session;
    const before = (mark: RecordId): boolean => (record.id.session === mark.session ? record.id.seq < mark.seq : record.id.session !== current);
    if (intent.eraseAll && before(intent.mark)) return true;
    return intent.purges.some((o) => o.reason === 'erase' && o.category === record.category && (o.before === undefined || before(o.before)));
  }

  /** The request last completed after an interruption, once: the caller decides whether its own request retries it. */
  takeInterrupted(): Intent | undefined {
    const intent = this.interrupted;
    this.interrupted = undefined;
    return intent;
  }

  /**
   * At boot, before any reading: complete a request a fault or power cut interrupted. A journal that does not read
   * back is dropped with an error in the log (its narrowing is then unknown; see docs/storage.md). A failure leaves
   * the request pending, with its preferences in force in memory: the next owner request retries it.
   */
  async recover(): Promise<void> {
    const found = await loadIntent(this.deps.ports.storage);
    if (found === undefined) return;
    if (found === 'corrupt') {
      this.deps.ports.logger.error('owner request journal unreadable; dropped');
      await clearIntent(this.deps.ports.storage).catch(() => undefined);
      return;
    }
    this.pending = { intent: found, registry: undefined, reports: [] };
    await this.exclusive(() => this.complete()).catch(() => {
      this.deps.ports.logger.warn('an interrupted owner request could not be completed at boot; retried at the next request');
    });
  }

  intent(action: IntentAction, proposal: Proposal | undefined, extra: Partial<Intent> = {}): Intent {
    const { policy, store } = this.deps.parts();
    const before = store.nextId();
    const changes = proposal !== undefined && proposal.version !== policy.currentVersion();
    return {
      action, baseVersion: policy.currentVersion(), purges: (proposal?.purges ?? []).map((order) => ({ ...order, before })),
      eraseAll: false, mark: before, changed: proposal?.changed.length ?? 0, ...(changes ? { target: proposal.state } : {}), ...extra,
    };
  }

  /** Journal the request, then complete it. Either the journal write fails (nothing changed) or the request is committed. */
  async run(intent: Intent, registry?: Registry): Promise<PurgeReport[]> {
    try {
      await saveIntent(this.deps.ports.storage, intent);
    } catch (cause) {
      throw new TrustError('STORAGE', 'the device could not record the request (storage fault); nothing changed', { cause });
    }
    this.pending = { intent, registry, reports: [] };
    try {
      const reports = await this.complete();
      this.interrupted = undefined;
      return reports;
    } catch (cause) {
      throw new TrustError('STORAGE', 'interrupted by a storage fault; the device completes it at the next owner request or restart, and a retry confirms it', { cause });
    }
  }

  /** Complete the unfinished request first; if that fails again, the new one is refused before it changes anything. */
  async settle(): Promise<void> {
    if (this.pending === undefined) return;
    try {
      await this.complete();
    } catch (cause) {
      throw new TrustError('STORAGE', 'an earlier request interrupted by a storage fault could not be completed yet; nothing new was applied', { cause });
    }
  }

  /**
   * Every step idempotent, in the order that keeps privacy: the new preferences in force in memory first (the gate
   * collects nothing they forbid), then durable, then the purges (bounded by the mark, so readings taken since under
   * the new preferences stay), then the trail, then the journal goes.
   */
  private async complete(): Promise<PurgeReport[]> {
    const pending = this.pending;
    if (pending === undefined) return [];
    const { intent } = pending;
    const { policy, store, audit } = this.deps.parts();
    const registry = pending.registry ?? (intent.target?.registryVersion === policy.registry().version ? policy.registry() : undefined);
    if (intent.target !== undefined && registry !== undefined) {
      policy.install(intent.target, registry);
      await policy.persist();
    }
    if (intent.eraseAll) pending.reports = mergeReports(pending.reports, await this.eraseBefore(intent.mark));
    for (const order of intent.purges) {
      this.deps.purging(); // per order: a batch read between two purges may hold the second one's records
      pending.reports = mergeReports(pending.reports, [await store.purge(order)]);
    }
    await this.auditPurges(pending.reports);
    if (intent.update !== undefined) {
      await audit.record('policy.update', { ...intent.update, waitedForConsent: intent.update.widened > 0, manifestHash: policy.manifest().contentHash });
    } else if (intent.target !== undefined || intent.eraseAll) {
      this.deps.counters.changes++;
      await audit.record('consent.change', { version: policy.currentVersion(), action: intent.action, count: intent.changed });
    }
    if (intent.action === 'erase-all' || intent.action === 'erase-category') {
      this.deps.counters.receipts++;
      await audit.record('receipt', { kind: intent.action, removed: pending.reports.reduce((sum, r) => sum + r.removed, 0) });
    }
    await clearIntent(this.deps.ports.storage);
    this.pending = undefined;
    this.interrupted = intent; // cleared by run() when it completed in one go
    // Republished at every connect as well: a link down now does not make the (complete) request fail.
    await this.deps.publishManifest().catch(() => undefined);
    return pending.reports;
  }

  /** Erase-all bounded by the mark: the whole store when nothing newer exists, else every category up to the mark. */
  private async eraseBefore(mark: RecordId): Promise<PurgeReport[]> {
    const { store } = this.deps.parts();
    this.deps.purging();
    const facts = store.census();
    const newer = facts.some((f) => (f.id.session === mark.session ? f.id.seq >= mark.seq : f.id.session === store.nextId().session));
    if (!newer) return store.eraseAll();
    const reports: PurgeReport[] = [];
    for (const category of new Set(facts.map((f) => f.category))) {
      reports.push(await store.purge({ category, scope: 'all', reason: 'erase', before: mark }));
    }
    return reports;
  }

  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async auditPurges(reports: PurgeReport[]): Promise<void> {
    const { audit } = this.deps.parts();
    for (const report of reports) {
      await audit.record('purge', { category: report.category, removed: report.removed, reason: report.reason });
    }
  }

}

/** Sum removals per (category, reason): attempts of one request add up. */
function mergeReports(done: PurgeReport[], more: PurgeReport[]): PurgeReport[] {
  const out = done.map((r) => ({ ...r }));
  for (const report of more) {
    const same = out.find((r) => r.category === report.category && r.reason === report.reason);
    if (same === undefined) out.push({ ...report });
    else same.removed += report.removed;
  }
  return out;
}

