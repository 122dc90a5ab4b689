import type { RandomSource } from '../crypto/random.js';
import { isTrustError, TrustError } from '../errors.js';
import type { ClockPort } from '../ports/clock.js';
import type { LoggerPort } from '../ports/logger.js';
import type { StoragePort } from '../ports/storage.js';
import type { GateOutput, PurgeOrder } from './contract.js';
import { CounterSet, type PolicyCounters } from './counters.js';
import { Gate } from './gate.js';
import { buildManifest, DEFAULT_PROTECTION } from './manifest.js';
import type { Manifest, ManifestProtection } from './manifest-types.js';
import { compilePlan, type CategoryPlan } from './plan.js';
import { applyPreferencePatch, cloneState, initialState, resetState, type PreferenceState } from './preferences.js';
import { loadPreferences, savePreferences } from './preferences-store.js';
import { Pseudonymiser, loadOrCreatePseudonymSecret, rotatePseudonymSecret } from './pseudonym.js';
import { purgesFor } from './purges.js';
import { loadRegistry } from './registry.js';
import type { Registry } from './registry-types.js';
import { carryOver, acceptTerms } from './update.js';
import { identifierForms, type IdentifierForms } from './identifiers.js';
import { startupPurges, mergePurges } from './startup.js';

export interface PolicyEngineOptions {
  registry: Registry;
  storage: StoragePort;
  clock: ClockPort;
  logger: LoggerPort;
  /** Source of the pseudonym secret; the agent passes its own. Default: the host source. */
  random?: RandomSource;
  /** Protection statements for the manifest; defaults describe this agent's envelope and store. */
  protection?: ManifestProtection;
}

/** Result of every accepted change: the new preference version, what changed, and the purges the store must do. */
export interface ChangeResult {
  version: number;
  changed: string[];
  purges: PurgeOrder[];
}

/** A change worked out but not applied: what `install` would put in force, and what the store must purge for it. */
export interface Proposal extends ChangeResult {
  /** The preferences after the change (`version` already the next one when anything changed). */
  state: PreferenceState;
  registry: Registry;
  /** For a registry update: how the terms moved. */
  diff?: { widened: string[]; narrowed: string[]; removed: string[] };
}

/** A change an owner (or a firmware update) asks for; `propose` validates it without applying it. */
export type PolicyChange =
  | { kind: 'patch'; patch: unknown }
  | { kind: 'reset'; forgetReview?: boolean }
  | { kind: 'accept'; categories: string[] }
  | { kind: 'registry'; registry: unknown };

export interface UpdateResult extends ChangeResult {
  registryVersion: number;
  /** Every category now waiting for the owner's consent. */
  pending: string[];
  widened: string[];
  narrowed: string[];
  removed: string[];
}

export interface StartupInfo {
  /** No preferences were stored: defaults were written (first run). */
  created: boolean;
  /** The preference file was unreadable and was replaced by defaults (first-run gate closed again). */
  recoveredCorrupt: boolean;
  /** The registry differs from the one the stored preferences were made under (firmware update). */
  update: UpdateResult | undefined;
  /**
   * Purges the store must carry out before accepting readings: those of `update`, or, after a corrupt preference
   * file, everything of every category the restored defaults do not collect (what the lost settings allowed is unknown).
   */
  purges: PurgeOrder[];
}

export interface PolicyEngine {
  readonly startup: StartupInfo;
  /** The gate. `at` defaults to the clock. Throws TrustError('INVALID_READING'); returns [] when dropped or folded. */
  collect(category: string, data: unknown, at?: number): GateOutput[];
  flushWindows(now?: number): GateOutput[];
  nextWindowClose(): number | undefined;
  applyPatch(patch: unknown): Promise<ChangeResult>;
  reset(options?: { forgetReview?: boolean }): Promise<ChangeResult>;
  markManifestReviewed(): Promise<ChangeResult>;
  acceptPending(categories: string[]): Promise<ChangeResult>;
  updateRegistry(next: unknown): Promise<UpdateResult>;
  /**
   * Validate a change and work out its outcome, changing nothing (no write, nothing in force). Throws
   * INVALID_PREFERENCE / INVALID_REGISTRY naming the field, as the applying methods do.
   */
  propose(change: PolicyChange): Promise<Proposal>;
  /**
   * Put a proposed (or journaled) state in force in memory: the next reading obeys it. Not durable: `persist` is.
   * `registry` defaults to the running one. Returns the categories whose plan changed.
   */
  install(state: PreferenceState, registry?: Registry, alsoChanged?: string[]): string[];
  /** Make the state in force durable (the preference file). */
  persist(): Promise<void>;
  currentVersion(): number;
  registry(): Registry;
  preferences(): PreferenceState;
  pendingConsent(): string[];
  manifest(): Manifest;
  counters(): PolicyCounters;
  /** New pseudonym secret: future tokens unlinkable to past ones (ownership transfer). */
  rotatePseudonymSecret(): Promise<void>;
  /** Every stored form of one person's identifier over [fromMs, toMs] (for erasing one person's data). */
  identifierForms(value: string, fromMs: number, toMs: number): IdentifierForms[];
  /**
   * The send-time gate: why the preferences in force now forbid sending this stored output (undefined: allowed).
   * Independent of how the output got into the queue, so nothing the current choice forbids ever leaves.
   */
  forbidsSending(output: GateOutput, now: number): PurgeOrder['reason'] | undefined;
}

export async function createPolicyEngine(options: PolicyEngineOptions): Promise<PolicyEngine> {
  const registry = loadRegistry(options.registry);
  const { secret } = await loadOrCreatePseudonymSecret(options.storage, options.random);
  const stored = await loadPreferences(options.storage);
  const engine = new Engine(options, registry, new Pseudonymiser(secret));
  await engine.start(stored);
  return engine;
}

class Engine implements PolicyEngine {
  startup: StartupInfo = { created: false, recoveredCorrupt: false, update: undefined, purges: [] };
  private state: PreferenceState;
  private readonly counterSet = new CounterSet();
  private readonly gate = new Gate(this.counterSet);
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PolicyEngineOptions, private current: Registry, private pseudonymiser: Pseudonymiser) {
    this.state = initialState(current);
  }

  async start(stored: PreferenceState | undefined | 'corrupt'): Promise<void> {
    if (stored === undefined || stored === 'corrupt') {
      if (stored === 'corrupt') this.options.logger.error('policy preferences unreadable; privacy-protective defaults restored');
      await savePreferences(this.options.storage, this.state);
      const plans = this.compile(this.current, this.state);
      const purges: PurgeOrder[] = stored === 'corrupt'
        ? [...plans.values()].filter((p) => p.effective === 'off').map((p) => ({ category: p.def.name, scope: 'all', reason: 'withdrawn' }))
        : [];
      this.startup = { created: stored === undefined, recoveredCorrupt: stored === 'corrupt', update: undefined, purges };
      this.gate.setPlans(plans, []);
      return;
    }
    if (stored.deviceType !== this.current.deviceType) {
      throw new TrustError('INVALID_CONFIG', 'stored preferences belong to another device type');
    }
    const diff = carryOver(stored, this.current);
    const purges = mergePurges(startupPurges(stored, diff, this.current, (def, pref) => compilePlan(def, pref, stored.manifestReviewed, this.pseudonymiser)));
    const changed = diff.widened.concat(diff.narrowed, diff.removed);
    const stateChanged = JSON.stringify(diff.state) !== JSON.stringify(stored);
    if (stateChanged) {
      diff.state.version = stored.version + 1;
      await savePreferences(this.options.storage, diff.state);
    }
    this.state = diff.state;
    this.gate.setPlans(this.compile(this.current, this.state), []);
    if (stored.registryVersion !== this.current.version || stateChanged) {
      this.startup.update = this.updateResult({ version: this.state.version, changed, purges }, diff);
      this.startup.purges = purges;
    }
  }

  collect(category: string, data: unknown, at?: number): GateOutput[] {
    return this.gate.collect(category, data, at ?? this.options.clock.now());
  }

  flushWindows(now?: number): GateOutput[] {
    return this.gate.flushWindows(now ?? this.options.clock.now());
  }

  nextWindowClose(): number | undefined {
    return this.gate.nextWindowClose();
  }

  applyPatch(patch: unknown): Promise<ChangeResult> {
    return this.serial(async () => this.commit(await this.propose({ kind: 'patch', patch })));
  }

  reset(options: { forgetReview?: boolean } = {}): Promise<ChangeResult> {
    return this.serial(async () => this.commit(await this.propose({ kind: 'reset', forgetReview: options.forgetReview === true })));
  }

  markManifestReviewed(): Promise<ChangeResult> {
    return this.applyPatch({ manifestReviewed: true });
  }

  acceptPending(categories: string[]): Promise<ChangeResult> {
    return this.serial(async () => this.commit(await this.propose({ kind: 'accept', categories })));
  }

  updateRegistry(next: unknown): Promise<UpdateResult> {
    return this.serial(async () => {
      const proposal = await this.propose({ kind: 'registry', registry: next });
      const result = await this.commit(proposal);
      this.options.logger.info('policy registry updated', { registryVersion: proposal.registry.version, pending: this.pendingConsent().length });
      return this.updateResult(result, proposal.diff ?? { widened: [], narrowed: [], removed: [] });
    });
  }

  propose(change: PolicyChange): Promise<Proposal> {
    const kind = change.kind === 'registry' ? 'registry' : 'preferences';
    return this.counted(kind, Promise.resolve().then(() => this.work(change)));
  }

  install(state: PreferenceState, registry: Registry = this.current, alsoChanged: string[] = []): string[] {
    const before = this.plans();
    const after = this.compile(registry, state);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((name) => alsoChanged.includes(name)
      || planKey(before.get(name)) !== planKey(after.get(name))
      || JSON.stringify(this.state.categories[name]) !== JSON.stringify(state.categories[name]));
    this.state = cloneState(state);
    this.current = registry;
    this.gate.setPlans(after, changed);
    return changed;
  }

  persist(): Promise<void> {
    return savePreferences(this.options.storage, this.state);
  }

  private work(change: PolicyChange): Proposal {
    switch (change.kind) {
      case 'patch':
        return this.proposal(applyPreferencePatch(this.state, this.current, change.patch), this.current);
      case 'reset':
        return this.proposal(resetState(this.state, this.current, change.forgetReview === true), this.current);
      case 'accept': {
        const categories = change.categories;
        if (!Array.isArray(categories) || categories.length > 64) throw new TrustError('INVALID_PREFERENCE', 'categories: must be an array of category names');
        categories.forEach((name, i) => {
          if (!this.state.categories[name]?.pending) throw new TrustError('INVALID_PREFERENCE', `categories[${i}]: not pending consent`);
        });
        return this.proposal(acceptTerms(this.state, this.current, categories), this.current);
      }
      case 'registry': {
        const registry = loadRegistry(change.registry);
        if (registry.deviceType !== this.current.deviceType) throw new TrustError('INVALID_REGISTRY', 'deviceType: differs from the running registry');
        if (registry.version <= this.current.version) throw new TrustError('INVALID_REGISTRY', 'version: must be greater than the running registry version');
        const diff = carryOver(this.state, registry);
        const proposal = this.proposal(diff.state, registry, diff.widened.concat(diff.narrowed, diff.removed));
        return { ...proposal, diff: { widened: diff.widened, narrowed: diff.narrowed, removed: diff.removed } };
      }
    }
  }

  currentVersion(): number {
    return this.state.version;
  }

  registry(): Registry {
    return this.current;
  }

  preferences(): PreferenceState {
    return cloneState(this.state);
  }

  pendingConsent(): string[] {
    return Object.entries(this.state.categories).filter(([, p]) => p.pending).map(([name]) => name);
  }

  manifest(): Manifest {
    return buildManifest(this.current, this.state, this.plans(), this.options.protection ?? DEFAULT_PROTECTION);
  }

  counters(): PolicyCounters {
    return this.counterSet.snapshot();
  }

  identifierForms(value: string, fromMs: number, toMs: number): IdentifierForms[] {
    return identifierForms(this.current, this.pseudonymiser, value, fromMs, toMs);
  }

  forbidsSending(output: GateOutput, now: number): PurgeOrder['reason'] | undefined {
    return sendVerdict(this.gate.plan(output.category), output, now);
  }

  rotatePseudonymSecret(): Promise<void> {
    return this.serial(async () => {
      this.pseudonymiser = new Pseudonymiser(await rotatePseudonymSecret(this.options.storage, this.options.random));
      const names = this.current.categories.map((c) => c.name);
      this.gate.setPlans(this.compile(this.current, this.state), names);
    });
  }

  private plans(): Map<string, CategoryPlan> {
    const plans = new Map<string, CategoryPlan>();
    for (const def of this.current.categories) {
      const plan = this.gate.plan(def.name);
      if (plan !== undefined) plans.set(def.name, plan);
    }
    return plans;
  }

  private compile(registry: Registry, state: PreferenceState): Map<string, CategoryPlan> {
    const plans = new Map<string, CategoryPlan>();
    for (const def of registry.categories) {
      const pref = state.categories[def.name];
      if (pref !== undefined) plans.set(def.name, compilePlan(def, pref, state.manifestReviewed, this.pseudonymiser));
    }
    return plans;
  }

  /** What `next` would change against the state in force, and the purges it needs; applies nothing. */
  private proposal(next: PreferenceState, registry: Registry, alsoChanged: string[] = []): Proposal {
    const before = this.plans();
    const after = this.compile(registry, next);
    const names = new Set([...before.keys(), ...after.keys()]);
    const changed = [...names].filter((name) => alsoChanged.includes(name) || planKey(before.get(name)) !== planKey(after.get(name))
      || JSON.stringify(this.state.categories[name]) !== JSON.stringify(next.categories[name]));
    const reviewChanged = next.manifestReviewed !== this.state.manifestReviewed;
    if (changed.length === 0 && !reviewChanged && registry === this.current) {
      return { state: cloneState(this.state), registry, version: this.state.version, changed: [], purges: [] };
    }
    const state = cloneState(next);
    state.version = this.state.version + 1;
    const purges = mergePurges([...names].flatMap((name) => purgesFor(before.get(name), after.get(name), name)));
    return { state, registry, version: state.version, changed, purges };
  }

  /** Persist first, then swap: the next collect() after the returned promise resolves runs under the new state. */
  private async commit(proposal: Proposal): Promise<ChangeResult> {
    const { state, registry, version, changed, purges } = proposal;
    if (version === this.state.version) return { version, changed: [], purges: [] };
    await savePreferences(this.options.storage, state);
    this.install(state, registry, changed);
    this.options.logger.info('policy preferences changed', { version, changed: changed.length, purges: purges.length });
    return { version, changed, purges };
  }

  private updateResult(result: ChangeResult, diff: { widened: string[]; narrowed: string[]; removed: string[] }): UpdateResult {
    return { ...result, registryVersion: this.current.version, pending: this.pendingConsent(), widened: diff.widened, narrowed: diff.narrowed, removed: diff.removed };
  }

  /** Count rejections of bad input (not storage failures) and pass the outcome through. */
  private async counted<T>(kind: 'preferences' | 'registry', outcome: Promise<T>): Promise<T> {
    try {
      return await outcome;
    } catch (error) {
      if (isTrustError(error, 'INVALID_PREFERENCE') || isTrustError(error, 'INVALID_REGISTRY')) this.counterSet.rejectChange(kind);
      throw error;
    }
  }

  private serial<T>(task: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * Off, withdrawn, pending consent or removed: withdrawn. Local-only now, a recipient gone, a field no longer output:
 * narrowed. Kept longer than the retention in force allows, or past it: retention.
 */
function sendVerdict(plan: CategoryPlan | undefined, output: GateOutput, now: number): PurgeOrder['reason'] | undefined {
  if (plan === undefined || plan.effective === 'off') return 'withdrawn';
  if (!plan.transmit || !output.transmit) return 'narrowed';
  if ((output.recipients ?? []).some((id) => !plan.recipients.includes(id))) return 'narrowed';
  if (Object.keys(output.data).some((field) => !plan.outputFields.includes(field))) return 'narrowed';
  if (output.expiresAt - output.at > plan.retentionMs || output.at + plan.retentionMs <= now) return 'retention';
  return undefined;
}

/** What of a plan matters to the gate; equal keys mean the gate behaves the same. */
function planKey(plan: CategoryPlan | undefined): string {
  if (plan === undefined) return '-';
  return JSON.stringify([plan.effective, plan.offReason, plan.level?.name, plan.transmit, plan.recipients, plan.retentionMs, plan.outputFields]);
}
