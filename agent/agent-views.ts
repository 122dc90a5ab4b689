import type { AuditTrail } from './audit/index.js';
import type { AgentParts } from './agent-api.js';
import type { PolicyEngine } from './policy/index.js';
import type { Store } from './store/index.js';

/**
 * What the public `Agent` shows of its policy engine, store and audit trail: reading only. Every change goes through
 * `agent.rights`, which journals it, purges what it no longer allows and writes the trail (docs/architecture.md).
 */
export type PolicyView = Pick<PolicyEngine, 'currentVersion' | 'registry' | 'preferences' | 'pendingConsent' | 'manifest' | 'counters'>
  & { readonly startup: PolicyEngine['startup'] };
export type StoreView = Pick<Store, 'query' | 'exportRecords' | 'census' | 'stats' | 'trustedNow'>;
export type AuditView = Pick<AuditTrail, 'entries' | 'checkpoints' | 'head' | 'exportTrail' | 'limits' | 'recoveredCorrupt' | 'recoveredTornTail'>;

/**
 * The views are frozen objects of their own that forward to the parts in force at each call (an ownership transfer
 * replaces store and identity): they never hand out the engine, store or trail themselves, nor anything a caller
 * could write into (results are copies), so a cast cannot reach a mutator either.
 */
export function policyView(parts: () => AgentParts): PolicyView {
  const policy = (): PolicyEngine => parts().policy;
  return Object.freeze({
    get startup() { return copyOf(policy().startup); },
    currentVersion: () => policy().currentVersion(),
    registry: () => copyOf(policy().registry()),
    preferences: () => policy().preferences(),
    pendingConsent: () => policy().pendingConsent(),
    manifest: () => policy().manifest(),
    counters: () => policy().counters(),
  });
}

export function storeView(parts: () => AgentParts): StoreView {
  const store = (): Store => parts().store;
  return Object.freeze({
    query: (category?: string) => store().query(category),
    exportRecords: () => store().exportRecords(),
    census: () => store().census(),
    stats: () => store().stats(),
    trustedNow: () => store().trustedNow(),
  });
}

export function auditView(parts: () => AgentParts): AuditView {
  const audit = (): AuditTrail => parts().audit;
  return Object.freeze({
    entries: () => copyOf(audit().entries()),
    checkpoints: () => copyOf(audit().checkpoints()),
    head: () => copyOf(audit().head()),
    exportTrail: () => audit().exportTrail(),
    get limits() { return { ...audit().limits }; },
    get recoveredCorrupt() { return copyOf(audit().recoveredCorrupt); },
    get recoveredTornTail() { return audit().recoveredTornTail; },
  });
}

/** A deep copy of plain data (maps, arrays, bytes, primitives); the core runs where structuredClone may not exist. */
function copyOf<T>(value: T): T {
  if (value instanceof Uint8Array) return value.slice() as T;
  if (Array.isArray(value)) return value.map((item: unknown) => copyOf(item)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = copyOf(item);
    return out as T;
  }
  return value;
}
