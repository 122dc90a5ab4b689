/**
 * Failure-driven backoff per source. Each failure beyond `freeFailures` doubles the block (from `baseDelayMs` up to
 * `maxDelayMs`); a success clears the source. Times are monotonic milliseconds so a wall-clock jump neither
 * lifts nor extends a block.
 */
export interface RateLimitOptions {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Sources kept at once; the stalest is forgotten beyond it so the table stays bounded. */
  maxSources: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { freeFailures: 5, baseDelayMs: 1_000, maxDelayMs: 60_000, maxSources: 16 };

interface SourceState {
  failures: number;
  blockedUntil: number;
  lastSeen: number;
}

export interface FailureOutcome {
  failures: number;
  /** True when this failure started (or extended) a block. */
  blocked: boolean;
  blockedUntil: number;
}

export class FailureLimiter {
  private readonly sources = new Map<string, SourceState>();

  constructor(private readonly options: RateLimitOptions = DEFAULT_RATE_LIMIT) {}

  isBlocked(source: string, nowMonotonic: number): boolean {
    const state = this.sources.get(source);
    return state !== undefined && state.blockedUntil > nowMonotonic;
  }

  failures(source: string): number {
    return this.sources.get(source)?.failures ?? 0;
  }

  recordFailure(source: string, nowMonotonic: number): FailureOutcome {
    const state = this.sources.get(source) ?? { failures: 0, blockedUntil: 0, lastSeen: nowMonotonic };
    state.failures += 1;
    state.lastSeen = nowMonotonic;
    const excess = state.failures - this.options.freeFailures;
    if (excess > 0) {
      const delay = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(excess - 1, 30));
      state.blockedUntil = nowMonotonic + delay;
    }
    this.sources.delete(source);
    this.sources.set(source, state); // re-insert: Map order doubles as least-recently-seen order
    this.forgetStalest();
    return { failures: state.failures, blocked: excess > 0, blockedUntil: state.blockedUntil };
  }

  recordSuccess(source: string): void {
    this.sources.delete(source);
  }

  reset(): void {
    this.sources.clear();
  }

  private forgetStalest(): void {
    while (this.sources.size > this.options.maxSources) {
      const oldest = this.sources.keys().next();
      if (oldest.done === true) return;
      this.sources.delete(oldest.value);
    }
  }
}
