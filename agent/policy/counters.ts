/** Why a reading left no output. Dropped data leaves nothing but these counts. */
export type DropReason =
  | 'off'
  | 'first-run'
  | 'pending-consent'
  | 'no-fields'
  | 'track-edge'
  | 'small-count'
  | 'late-for-window'
  | 'policy-change';

export interface PolicyCounters {
  /** Readings that produced (or were folded into) an output, per category. */
  accepted: Record<string, number>;
  /** Readings dropped, per category and reason. */
  dropped: Record<string, Partial<Record<DropReason, number>>>;
  /** Readings rejected as invalid, per category ('?' for unknown categories). */
  invalid: Record<string, number>;
  /** Rejected preference patches / consent calls, and rejected registry updates. */
  rejected: { preferences: number; registry: number };
}

export class CounterSet {
  private readonly accepted = new Map<string, number>();
  private readonly dropped = new Map<string, Map<DropReason, number>>();
  private readonly invalid = new Map<string, number>();
  private readonly rejected = { preferences: 0, registry: 0 };

  accept(category: string): void {
    this.accepted.set(category, (this.accepted.get(category) ?? 0) + 1);
  }

  drop(category: string, reason: DropReason, n = 1): void {
    if (n <= 0) return;
    let byReason = this.dropped.get(category);
    if (byReason === undefined) {
      byReason = new Map();
      this.dropped.set(category, byReason);
    }
    byReason.set(reason, (byReason.get(reason) ?? 0) + n);
  }

  reject(category: string): void {
    this.invalid.set(category, (this.invalid.get(category) ?? 0) + 1);
  }

  rejectChange(kind: 'preferences' | 'registry'): void {
    this.rejected[kind] += 1;
  }

  snapshot(): PolicyCounters {
    const dropped: PolicyCounters['dropped'] = {};
    for (const [category, byReason] of this.dropped) dropped[category] = Object.fromEntries(byReason);
    return { accepted: Object.fromEntries(this.accepted), dropped, invalid: Object.fromEntries(this.invalid), rejected: { ...this.rejected } };
  }
}
